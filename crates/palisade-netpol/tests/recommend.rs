//! Round trip: the policies `recommend` writes from the example's observed flows allow every
//! observed flow and nothing else between the workloads involved (apart from the DNS egress
//! to kube-dns it adds on purpose).

mod common;
use common::{example, load, yaml};
use palisade_netpol::connlist::{connlist, Options as ConnOptions};
use palisade_netpol::flows::{read, resolve_all, Format, Verdict};
use palisade_netpol::recommend::{recommend, selector_labels, Options};
use palisade_netpol::{BuildOptions, ConnSet, Endpoint, Engine, Network, PortSet, Protocol};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn recommended_policies_allow_exactly_the_observed_flows() {
    let cluster = load(&[example("cluster.yaml")]);
    let net = Network::build(&cluster, &BuildOptions::default());
    let text = std::fs::read_to_string(example("flows.jsonl")).unwrap();
    let log = read(&text, Format::Auto);
    assert!(log.errors.is_empty(), "{:?}", log.errors);
    let (flows, unresolved) = resolve_all(&net, &log);
    assert!(unresolved.is_empty(), "{unresolved:?}");
    let observed: Vec<_> = flows
        .iter()
        .filter(|f| log.flows[f.flow].verdict != Some(Verdict::Denied))
        .cloned()
        .collect();
    assert!(observed.len() > 200);

    let rec = recommend(&net, &observed, &Options::default());
    let generated = rec.policies.join("---\n");
    // Never select on pod-template-hash.
    assert!(!generated.contains("pod-template-hash"), "{generated}");
    for (i, _) in net.workloads.iter().enumerate() {
        let (sel, unique) = selector_labels(&net, i);
        assert!(unique && !sel.is_empty(), "{}", net.workloads[i].label());
    }

    let mut objects = cluster.clone();
    objects.extend(yaml(&generated));
    let after = Network::build(&objects, &BuildOptions::default());
    assert!(
        after
            .diagnostics
            .iter()
            .all(|d| d.level != palisade_model::Level::Error),
        "{:?}",
        after.diagnostics
    );
    assert_eq!(after.policies.len(), rec.policies.len());
    let engine = Engine::new(&after);

    // Observed ports per (source, destination) label pair.
    let mut want: BTreeMap<(String, String), ConnSet> = BTreeMap::new();
    let mut involved = BTreeSet::new();
    for f in &observed {
        let (s, d) = (engine.label(f.src), engine.label(f.dst));
        involved.insert(s.clone());
        involved.insert(d.clone());
        want.entry((s, d))
            .or_default()
            .add(f.protocol, &PortSet::range(f.port, f.port));
        // 1. Every observed flow is allowed.
        assert!(
            engine.allowed(f.src, f.dst).contains(f.protocol, f.port),
            "observed flow denied: {} => {} {}/{}",
            engine.label(f.src),
            engine.label(f.dst),
            f.protocol.as_str(),
            f.port
        );
    }
    // 2. Nothing else between the involved workloads and addresses (external ranges included).
    let dns = {
        let mut c = ConnSet::single(Protocol::Udp, 53);
        c.add(Protocol::Tcp, &PortSet::range(53, 53));
        c
    };
    let kube_dns = "kube-system/coredns[Deployment]";
    let mut checked = 0;
    for c in connlist(&engine, &ConnOptions::default()) {
        let (s, d) = (engine.label(c.src), engine.label(c.dst));
        if !(involved.contains(&s) || involved.contains(&d)) {
            continue;
        }
        let mut allowed_by_design = want
            .get(&(s.clone(), d.clone()))
            .cloned()
            .unwrap_or_default();
        if d == kube_dns && matches!(c.src, Endpoint::Workload(_)) {
            allowed_by_design = allowed_by_design.union(&dns);
        }
        assert!(
            c.conns.is_subset(&allowed_by_design),
            "not observed: {s} => {d} : {} (observed: {allowed_by_design})",
            c.conns
        );
        checked += 1;
    }
    assert!(
        checked >= want.len(),
        "connlist lists {checked} connections, {} observed pairs",
        want.len()
    );
}

#[test]
fn importers_read_hubble_and_calico() {
    let hubble = r#"{"flow":{"time":"2026-11-20T10:00:00Z","verdict":"FORWARDED","IP":{"source":"10.244.1.10","destination":"10.244.1.20"},"l4":{"TCP":{"source_port":40000,"destination_port":7070,"flags":{"SYN":true}}},"source":{"namespace":"shop","labels":["k8s:app.kubernetes.io/name=frontend","k8s:io.kubernetes.pod.namespace=shop"],"pod_name":"frontend-5d9c7b8f4-x2kq9","workloads":[{"name":"frontend","kind":"Deployment"}]},"destination":{"namespace":"shop","labels":["k8s:app.kubernetes.io/name=cart"],"pod_name":"cart-6f8b9c7d5-abcde"},"Type":"L3_L4","traffic_direction":"EGRESS","is_reply":false}}
{"flow":{"verdict":"FORWARDED","l4":{"TCP":{"source_port":7070,"destination_port":40000}},"is_reply":true}}
{"time":"2026-11-20T10:00:01Z","verdict":"DROPPED","IP":{"source":"10.244.3.50","destination":"203.0.113.25"},"l4":{"UDP":{"destination_port":443}},"source":{"namespace":"payments","pod_name":"gateway-5c4d3e2f1-uvwxy"},"destination":{"labels":["reserved:world"]},"egress_denied_by":[{"name":"default-deny","namespace":"payments"}]}
not json
"#;
    let log = read(hubble, Format::Hubble);
    assert_eq!(log.flows.len(), 2);
    assert_eq!(log.skipped.len(), 1);
    assert_eq!(log.errors.len(), 1);
    assert_eq!(log.errors[0].0, 4);
    assert_eq!(log.flows[1].verdict, Some(Verdict::Denied));
    assert_eq!(
        log.flows[1].policy.as_deref(),
        Some("payments/default-deny")
    );
    assert_eq!(log.flows[1].protocol, Protocol::Udp);

    let calico = r#"{"start_time":"1700000000","end_time":"1700000300","source_type":"wep","source_namespace":"shop","source_name":"-","source_name_aggr":"checkout-84c9d7f6b-*","source_labels":{"labels":["app.kubernetes.io/name=checkout"]},"dest_type":"wep","dest_namespace":"payments","dest_name":"-","dest_name_aggr":"gateway-5c4d3e2f1-*","dest_port":8443,"proto":"tcp","action":"allow","reporter":"src","bytes_in":100,"bytes_out":200,"packets_in":1,"packets_out":2,"policies":{"all_policies":["0|default|shop/knp.default.allow-egress|allow|0"]}}
{"source_type":"net","source_name":"-","source_ip":"203.0.113.9","dest_type":"wep","dest_namespace":"shop","dest_name_aggr":"frontend-5d9c7b8f4-*","dest_port":"8080","proto":6,"action":"deny"}
"#;
    let log2 = read(calico, Format::Auto);
    assert!(log2.errors.is_empty(), "{:?}", log2.errors);
    assert_eq!(log2.flows.len(), 2);
    assert_eq!(log2.flows[0].bytes, 300);

    let net = Network::build(&load(&[example("cluster.yaml")]), &BuildOptions::default());
    let (ok, bad) = resolve_all(&net, &log);
    assert!(bad.is_empty(), "{bad:?}");
    let labels: Vec<String> = ok
        .iter()
        .map(|r| format!("{} {}", net.workloads.len(), Engine::new(&net).label(r.src)))
        .collect();
    assert!(labels[0].ends_with("shop/frontend[Deployment]"));
    assert!(matches!(ok[1].dst, Endpoint::Ip(_)));
    let (ok2, bad2) = resolve_all(&net, &log2);
    assert!(bad2.is_empty(), "{bad2:?}");
    let e = Engine::new(&net);
    assert_eq!(e.label(ok2[0].src), "shop/checkout[Deployment]");
    assert_eq!(e.label(ok2[0].dst), "payments/gateway[Deployment]");
    assert_eq!(e.label(ok2[1].src), "203.0.113.9-203.0.113.9[External]");
}
