//! Building the graph from loaded objects (plus alerts, vulnerabilities and configuration).
//!
//! Nothing here re-judges what another engine already judges:
//! - RBAC: the snapshot (roles with aggregation, bindings, service accounts, token Secrets,
//!   workloads and their mounted tokens, namespaces' Pod Security level) is
//!   `palisade_rbac::Rbac`, and every permission question is the authorizer's `rule_allows`;
//! - container escapes: privileged, hostPID, added capabilities, AppArmor, hostPath volumes,
//!   sensitive and writable host paths, shared process namespaces and mounted tokens are the
//!   findings of the scan checks (PSS101–106, PSS203, PAL106, PAL111, PAL112, PAL116), which
//!   are also the evidence;
//! - reachability: `palisade_netpol`'s engine over its equivalence classes of workloads, its
//!   ingress-controller exposure and its exposure to external addresses.

use crate::graph::{EdgeKind, Fact, Graph, Jewel, JewelKind, VertexKind};
use crate::inputs::{Alerts, Config, Vulns};
use palisade_checks::engine::EngineOptions;
use palisade_model::{Diagnostic, Level, Node, Object};
use palisade_netpol::conn::Protocol;
use palisade_netpol::eval::{Endpoint, Engine as NetEngine};
use palisade_netpol::model::{Direction, Network};
use palisade_rbac::authz::{rule_allows, Request};
use palisade_rbac::model::{BindingKind, PodSecurity, Rbac, RoleKind, Subject, SubjectKind};
use palisade_rbac::risks::rule_grants;
use palisade_report::Finding;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The label (or annotation) that marks a Secret or workload as a crown jewel.
pub const JEWEL_LABEL: &str = "palisade.dev/crown-jewel";

/// The scan checks whose findings are container-escape evidence.
pub const CHECKS: &[&str] = &[
    "PSS101", "PSS102", "PSS103", "PSS104", "PSS106", "PSS203", "PAL106", "PAL111", "PAL112",
    "PAL116",
];

/// What [`build`] reads.
#[derive(Clone, Copy, Default)]
pub struct Inputs<'a> {
    pub objects: &'a [Object],
    pub alerts: Option<&'a Alerts>,
    pub vulns: Option<&'a Vulns>,
    pub config: Option<&'a Config>,
    /// Kubernetes' default roles and bindings to add (`None`: none).
    pub rbac_defaults: Option<&'static palisade_rbac::bootstrap::Defaults>,
    /// "Now", in nanoseconds since the epoch, for the alert window.
    pub now_ns: i64,
    /// Alerts older than this (nanoseconds before `now_ns`) are not ALERTED edges.
    pub alert_window_ns: i64,
}

/// Counts of what was read and what could not be used.
#[derive(Clone, Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub pods: usize,
    pub containers: usize,
    pub identities: usize,
    pub permission_sets: usize,
    pub endpoints: usize,
    pub entry_points: usize,
    pub vertices: usize,
    pub edges: usize,
    /// Workloads the network model did not know (no NETWORK_REACH edges for them).
    pub pods_without_network: usize,
    pub alerts_used: usize,
    pub alerts_too_old: usize,
    pub alerts_unmatched: usize,
    pub alerts_without_pod: usize,
    /// Crown jewels named in the configuration that are not in the input.
    pub jewels_missing: usize,
}

/// The graph, with diagnostics and counts.
pub struct Built {
    pub graph: Graph,
    pub diagnostics: Vec<Diagnostic>,
    pub stats: Stats,
}

/// A pod vertex and what the later passes need of it.
struct PodInfo<'a> {
    obj: &'a Object,
    namespace: String,
    vertex: u32,
    /// (container name, vertex, image).
    containers: Vec<(String, u32, Option<&'a str>)>,
    /// (port, protocol, endpoint vertex, container vertex).
    endpoints: Vec<(u16, Protocol, u32, u32)>,
    netpol: Option<usize>,
}

fn fact_of(f: &Finding) -> Fact {
    Fact {
        object: match &f.object.namespace {
            Some(ns) => format!("{} {ns}/{}", f.object.kind, f.object.name),
            None => format!("{} {}", f.object.kind, f.object.name),
        },
        path: f.path.clone(),
        source: f.source.clone(),
        line: f.line,
        rule: f.check.clone(),
    }
}

fn obj_fact(o: &Object, path: &str, line: u32, rule: &str) -> Fact {
    Fact {
        object: object_label(o),
        path: path.to_string(),
        source: o.source.display(),
        line,
        rule: rule.to_string(),
    }
}

fn object_label(o: &Object) -> String {
    match &o.namespace {
        Some(ns) => format!("{} {ns}/{}", o.kind, o.name),
        None => format!("{} {}", o.kind, o.name),
    }
}

fn ns_of(o: &Object) -> String {
    o.namespace.clone().unwrap_or_else(|| "default".to_string())
}

/// `mount` (a host path) exposes `target`: it is `target` or a parent directory of it.
fn exposes(mount: &str, target: &str) -> bool {
    let mut parts: Vec<&str> = Vec::new();
    for seg in mount.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let norm = format!("/{}", parts.join("/"));
    norm == "/"
        || target == norm
        || target
            .strip_prefix(norm.as_str())
            .is_some_and(|r| r.starts_with('/'))
}

fn is_jewel(o: &Object) -> bool {
    let v = o
        .labels()
        .get(JEWEL_LABEL)
        .or_else(|| o.annotations().get(JEWEL_LABEL))
        .and_then(Node::scalar_string);
    v.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

fn identity(g: &mut Graph, s: &Subject) -> u32 {
    g.vertex(
        VertexKind::Identity,
        format!("identity:{s}"),
        || s.to_string(),
        s.namespace.as_deref(),
    )
}

/// Builds the attack graph.
pub fn build(inputs: &Inputs<'_>) -> Built {
    let objects = inputs.objects;
    let mut g = Graph::default();
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut stats = Stats::default();

    let internet = g.vertex(
        VertexKind::Internet,
        "internet".into(),
        || "the internet".into(),
        None,
    );
    let node = g.vertex(
        VertexKind::Node,
        "node".into(),
        || "root on a node".into(),
        None,
    );
    let admin = g.vertex(
        VertexKind::ClusterAdmin,
        "cluster-admin".into(),
        || "cluster-admin equivalent".into(),
        None,
    );
    g.jewels.push(Jewel {
        name: "cluster-admin".into(),
        kind: JewelKind::ClusterAdmin,
        vertices: vec![admin],
    });
    g.jewels.push(Jewel {
        name: "node-root".into(),
        kind: JewelKind::NodeRoot,
        vertices: vec![node],
    });

    // Crown-jewel marks: labels on objects, and the configuration.
    let mut marked: HashSet<(String, String, String)> = HashSet::new();
    for o in objects {
        if is_jewel(o) {
            marked.insert((o.kind.clone(), ns_of(o), o.name.clone()));
        }
    }
    if let Some(c) = inputs.config {
        for j in &c.crown_jewels {
            let found = objects
                .iter()
                .any(|o| o.kind == j.kind && ns_of(o) == j.namespace && o.name == j.name);
            if !found {
                stats.jewels_missing += 1;
                diags.push(Diagnostic::new(
                    Level::Warning,
                    c.source.clone(),
                    j.line,
                    format!(
                        "crown jewel {} {}/{} is not in the input",
                        j.kind, j.namespace, j.name
                    ),
                ));
            }
            marked.insert((j.kind.clone(), j.namespace.clone(), j.name.clone()));
        }
    }
    // Secret jewels: ns → [(name, vertex)].
    let mut secret_jewels: HashMap<String, Vec<(String, u32)>> = HashMap::new();
    for (kind, ns, name) in &marked {
        if kind == "Secret" {
            let v = g.vertex(
                VertexKind::Secret,
                format!("secret:{ns}/{name}"),
                || format!("Secret {ns}/{name}"),
                Some(ns),
            );
            secret_jewels
                .entry(ns.clone())
                .or_default()
                .push((name.clone(), v));
            g.jewels.push(Jewel {
                name: format!("Secret {ns}/{name}"),
                kind: JewelKind::Marked,
                vertices: vec![v],
            });
        }
    }

    // The engines.
    let rbac = Rbac::build(
        objects,
        &palisade_rbac::BuildOptions {
            defaults: inputs.rbac_defaults,
        },
    );
    diags.extend(rbac.diagnostics.iter().cloned());
    let net = Network::build(objects, &Default::default());
    diags.extend(net.diagnostics.iter().cloned());
    let engine = NetEngine::new(&net);
    let checks = palisade_checks::Engine::new(EngineOptions {
        only: CHECKS.iter().map(|s| s.to_string()).collect(),
        ..EngineOptions::default()
    })
    .expect("the escape checks are in the registry");
    let scan = checks.run(objects);
    let mut findings: HashMap<(String, Option<String>, String), Vec<&Finding>> = HashMap::new();
    for f in &scan.findings {
        findings
            .entry((
                f.object.kind.clone(),
                f.object.namespace.clone(),
                f.object.name.clone(),
            ))
            .or_default()
            .push(f);
    }

    // Pods, containers, volumes, endpoints.
    let rbac_workloads: HashMap<(&str, &str, &str), &palisade_rbac::Workload> = rbac
        .workloads
        .iter()
        .map(|w| ((w.kind.as_str(), w.namespace.as_str(), w.name.as_str()), w))
        .collect();
    let net_index: HashMap<(&str, &str, &str), usize> = net
        .workloads
        .iter()
        .enumerate()
        .map(|(i, w)| ((w.namespace.as_str(), w.name.as_str(), w.kind.as_str()), i))
        .collect();
    let net_by_name: HashMap<(&str, &str), usize> = net
        .workloads
        .iter()
        .enumerate()
        .map(|(i, w)| ((w.namespace.as_str(), w.name.as_str()), i))
        .collect();
    let uids: HashSet<&str> = objects.iter().filter_map(Object::uid).collect();
    let mut pods: Vec<PodInfo<'_>> = Vec::new();
    let mut token_volumes: Vec<u32> = Vec::new();
    let mut traverse_volumes: Vec<(u32, u32)> = Vec::new();
    let mut pods_by_ns: HashMap<String, Vec<usize>> = HashMap::new();
    let empty: Vec<&Finding> = Vec::new();
    for o in objects {
        let Some(pod) = o.pod() else { continue };
        if o.controller_uid().is_some_and(|u| uids.contains(u)) {
            continue;
        }
        let ns = ns_of(o);
        let plabel = format!("{ns}/{}[{}]", o.name, o.kind);
        let pv = g.vertex(
            VertexKind::Pod,
            format!("pod:{plabel}"),
            || format!("pod {plabel}"),
            Some(&ns),
        );
        let fs = findings
            .get(&(o.kind.clone(), o.namespace.clone(), o.name.clone()))
            .unwrap_or(&empty);
        let has = |check: &str, path: &str| {
            fs.iter()
                .find(|f| f.check == check && f.path == path)
                .copied()
        };
        let host_pid = fs
            .iter()
            .find(|f| f.check == "PSS101" && f.path.ends_with("hostPID"))
            .copied();
        let share_ps = fs.iter().find(|f| f.check == "PAL116").copied();
        let pod_level = |check: &str| {
            fs.iter()
                .find(|f| f.check == check && !f.path.contains("ontainers["))
                .copied()
        };
        let wl = rbac_workloads
            .get(&(o.kind.as_str(), ns.as_str(), o.name.as_str()))
            .copied();
        let netpol = net_index
            .get(&(ns.as_str(), o.name.as_str(), o.kind.as_str()))
            .or_else(|| net_by_name.get(&(ns.as_str(), o.name.as_str())))
            .or_else(|| {
                // A pod whose controller is not in the input: the network model names it
                // after that controller.
                let owner = o
                    .root
                    .at(&["metadata", "ownerReferences"])
                    .map(Node::items)
                    .unwrap_or(&[])
                    .iter()
                    .find(|r| r.get("controller").and_then(Node::as_bool) == Some(true))?
                    .get("name")
                    .and_then(Node::as_str)?;
                net_by_name.get(&(ns.as_str(), owner))
            })
            .copied();
        if netpol.is_none() {
            stats.pods_without_network += 1;
        }
        let mut info = PodInfo {
            obj: o,
            namespace: ns.clone(),
            vertex: pv,
            containers: Vec::new(),
            endpoints: Vec::new(),
            netpol,
        };

        // The projected service account token.
        let sa_token = wl.filter(|w| w.token_mounted).map(|w| {
            let sa = identity(&mut g, &Subject::service_account(&ns, &w.service_account));
            let tv = g.vertex(
                VertexKind::Volume,
                format!("volume:{plabel}/service-account-token"),
                || format!("token of {ns}/{} in {plabel}", w.service_account),
                Some(&ns),
            );
            let ev = match fs.iter().find(|f| f.check == "PAL106") {
                Some(f) => fact_of(f),
                None => obj_fact(
                    o,
                    &pod.path("serviceAccountName"),
                    pod.locate(&["serviceAccountName"]).line,
                    "token mounted",
                ),
            };
            let e = g.facts(vec![ev]);
            g.edge(tv, sa, EdgeKind::TOKEN_STEAL, e);
            token_volumes.push(tv);
            (sa, tv, e)
        });

        // Volumes by name: (index, host path, secret name).
        let volumes = pod.spec.get("volumes").map(Node::items).unwrap_or(&[]);
        let vol_of = |name: &str| {
            volumes.iter().enumerate().find(|(_, v)| {
                v.get("name")
                    .and_then(Node::scalar_string)
                    .is_some_and(|n| n == name)
            })
        };
        let containers = pod.containers();
        for c in &containers {
            let ckey = format!("container:{plabel}/{}", c.name);
            let cv = g.vertex(
                VertexKind::Container,
                ckey,
                || format!("container {ns}/{}/{}", o.name, c.name),
                Some(&ns),
            );
            info.containers.push((c.name.clone(), cv, c.image()));
            let e = g.facts(vec![obj_fact(o, &c.path, c.node.pos.line, "container")]);
            g.edge(pv, cv, EdgeKind::CONTAINER_ATTACH, e);

            if let Some((sa, tv, e)) = sa_token {
                g.edge(cv, sa, EdgeKind::IDENTITY_ASSUME, e);
                g.edge(cv, tv, EdgeKind::VOLUME_DISCOVER, e);
            }

            let privileged = has("PSS102", &c.path(&["securityContext", "privileged"]));
            let caps_path = c.path(&["securityContext", "capabilities", "add"]);
            let caps_f = has("PSS103", &caps_path);
            let caps: Vec<String> = c
                .node
                .at(&["securityContext", "capabilities", "add"])
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .filter_map(Node::scalar_string)
                .map(|s| {
                    let s = s.to_ascii_uppercase();
                    s.strip_prefix("CAP_").map(str::to_string).unwrap_or(s)
                })
                .collect();
            let cap = |name: &str| caps_f.filter(|_| caps.iter().any(|c| c == name || c == "ALL"));
            let apparmor = fs
                .iter()
                .find(|f| {
                    f.check == "PSS106"
                        && (f.path.starts_with(&c.path) || !f.path.contains("ontainers["))
                })
                .copied();
            let root = fs
                .iter()
                .find(|f| f.check == "PSS203" && f.path.starts_with(&c.path))
                .copied()
                .or_else(|| pod_level("PSS203"));

            let escape = |g: &mut Graph, kind: EdgeKind, fs: &[&Finding]| {
                let e = g.facts(fs.iter().map(|f| fact_of(f)).collect());
                g.edge(cv, node, kind, e);
            };
            if let Some(p) = privileged {
                escape(&mut g, EdgeKind::CE_PRIV_MOUNT, &[p]);
                escape(&mut g, EdgeKind::CE_MODULE_LOAD, &[p]);
                if let Some(h) = host_pid {
                    escape(&mut g, EdgeKind::CE_NSENTER, &[p, h]);
                    escape(&mut g, EdgeKind::CE_SYS_PTRACE, &[h, p]);
                }
            } else if let Some(m) = cap("SYS_MODULE") {
                escape(&mut g, EdgeKind::CE_MODULE_LOAD, &[m]);
            }
            if privileged.is_none() {
                if let (Some(h), Some(p), Some(_), Some(a)) =
                    (host_pid, cap("SYS_PTRACE"), cap("SYS_ADMIN"), apparmor)
                {
                    escape(&mut g, EdgeKind::CE_SYS_PTRACE, &[h, p, a]);
                }
            }

            // Mounted volumes.
            let mounts = c.node.get("volumeMounts").map(Node::items).unwrap_or(&[]);
            for (j, m) in mounts.iter().enumerate() {
                let Some(vname) = m.get("name").and_then(Node::scalar_string) else {
                    continue;
                };
                let Some((vi, v)) = vol_of(&vname) else {
                    continue;
                };
                let vpath = palisade_model::node::index(&pod.path("volumes"), vi);
                // A crown-jewel Secret mounted here.
                for secret in v
                    .at(&["secret", "secretName"])
                    .and_then(Node::scalar_string)
                    .into_iter()
                    .chain(
                        v.at(&["projected", "sources"])
                            .map(Node::items)
                            .unwrap_or(&[])
                            .iter()
                            .filter_map(|s| {
                                s.at(&["secret", "name"]).and_then(Node::scalar_string)
                            }),
                    )
                {
                    if let Some(&(_, sv)) = secret_jewels
                        .get(&ns)
                        .and_then(|l| l.iter().find(|(n, _)| *n == secret))
                    {
                        let e = g.facts(vec![obj_fact(o, &vpath, v.pos.line, "secret volume")]);
                        g.edge(cv, sv, EdgeKind::SECRET_MOUNT, e);
                    }
                }
                let hp_path = format!("{vpath}.hostPath");
                let Some(hp_f) = has("PSS104", &hp_path) else {
                    continue;
                };
                let host = v
                    .at(&["hostPath", "path"])
                    .and_then(Node::scalar_string)
                    .unwrap_or_default();
                let vv = g.vertex(
                    VertexKind::Volume,
                    format!("volume:{plabel}/{vname}"),
                    || format!("hostPath {host} in {plabel}"),
                    Some(&ns),
                );
                let e = g.facts(vec![fact_of(hp_f)]);
                g.edge(cv, vv, EdgeKind::VOLUME_DISCOVER, e);
                let sensitive = has("PAL111", &format!("{hp_path}.path"));
                let writable = has(
                    "PAL112",
                    &palisade_model::node::join(
                        &palisade_model::node::index(&c.path(&["volumeMounts"]), j),
                        "readOnly",
                    ),
                );
                if exposes(&host, "/proc/sys/kernel") {
                    escape(&mut g, EdgeKind::CE_UMH_CORE_PATTERN, &[hp_f]);
                }
                if exposes(&host, "/var/log") {
                    if let Some(r) = root {
                        escape(&mut g, EdgeKind::CE_VAR_LOG_SYMLINK, &[hp_f, r]);
                    }
                }
                if exposes(&host, "/var/lib/kubelet/pods") {
                    traverse_volumes.push((vv, e));
                }
                if let Some(s) = sensitive {
                    if s.severity == palisade_report::Severity::Critical
                        && s.message.contains("runtime")
                    {
                        escape(&mut g, EdgeKind::EXPLOIT_CONTAINERD_SOCK, &[s]);
                    }
                    match writable {
                        Some(w) => escape(&mut g, EdgeKind::EXPLOIT_HOST_WRITE, &[s, w]),
                        None => escape(&mut g, EdgeKind::EXPLOIT_HOST_READ, &[s]),
                    }
                }
            }
            // Crown-jewel Secrets read into the environment.
            let env_refs = c
                .node
                .get("env")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .enumerate()
                .filter_map(|(i, e)| {
                    let n = e
                        .at(&["valueFrom", "secretKeyRef", "name"])
                        .and_then(Node::scalar_string)?;
                    Some((
                        n,
                        palisade_model::node::index(&c.path(&["env"]), i),
                        e.pos.line,
                    ))
                })
                .chain(
                    c.node
                        .get("envFrom")
                        .map(Node::items)
                        .unwrap_or(&[])
                        .iter()
                        .enumerate()
                        .filter_map(|(i, e)| {
                            let n = e.at(&["secretRef", "name"]).and_then(Node::scalar_string)?;
                            Some((
                                n,
                                palisade_model::node::index(&c.path(&["envFrom"]), i),
                                e.pos.line,
                            ))
                        }),
                )
                .collect::<Vec<_>>();
            for (secret, path, line) in env_refs {
                if let Some(&(_, sv)) = secret_jewels
                    .get(&ns)
                    .and_then(|l| l.iter().find(|(n, _)| *n == secret))
                {
                    let e = g.facts(vec![obj_fact(o, &path, line, "secret in environment")]);
                    g.edge(cv, sv, EdgeKind::SECRET_MOUNT, e);
                }
            }

            // Container ports: endpoints.
            for (pi, p) in c
                .node
                .get("ports")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let Some(port) = p
                    .get("containerPort")
                    .and_then(Node::as_i64)
                    .and_then(|n| u16::try_from(n).ok())
                else {
                    continue;
                };
                let proto = p
                    .get("protocol")
                    .and_then(Node::as_str)
                    .and_then(Protocol::parse)
                    .unwrap_or(Protocol::Tcp);
                let ev = g.vertex(
                    VertexKind::Endpoint,
                    format!("endpoint:{plabel}:{port}/{}", proto.as_str()),
                    || format!("{plabel}:{port}/{}", proto.as_str()),
                    Some(&ns),
                );
                let ppath = palisade_model::node::index(&c.path(&["ports"]), pi);
                let e = g.facts(vec![obj_fact(o, &ppath, p.pos.line, "containerPort")]);
                g.edge(ev, cv, EdgeKind::ENDPOINT_EXPLOIT, e);
                if let (Some(vulns), Some(image)) = (inputs.vulns, c.image()) {
                    let found = vulns.exploitable(image);
                    if !found.is_empty() {
                        let mut facts = vec![obj_fact(
                            o,
                            &c.path(&["image"]),
                            c.locate(&["image"]).line,
                            "image",
                        )];
                        facts.extend(found.iter().map(|v| Fact {
                            object: format!("image {image}"),
                            path: format!("fixed in {}", v.fixed),
                            source: vulns.source.clone(),
                            line: v.line,
                            rule: v.id.clone(),
                        }));
                        let e = g.facts(facts);
                        g.edge(ev, cv, EdgeKind::EXPOSED_VULN, e);
                    }
                }
                info.endpoints.push((port, proto, ev, cv));
                // hostNetwork ports are on the node's addresses: an entry point.
                if pod.spec.get("hostNetwork").and_then(Node::as_bool) == Some(true) {
                    let entry = g.vertex(
                        VertexKind::EntryPoint,
                        format!("entry:hostNetwork/{plabel}:{port}"),
                        || format!("hostNetwork port {port} of {plabel}"),
                        Some(&ns),
                    );
                    let e = g.facts(vec![obj_fact(
                        o,
                        &pod.path("hostNetwork"),
                        pod.locate(&["hostNetwork"]).line,
                        "hostNetwork",
                    )]);
                    g.edge(internet, entry, EdgeKind::EXPOSED, e);
                    g.edge(entry, ev, EdgeKind::INGRESS_ROUTE, e);
                }
            }
        }
        if let Some(s) = share_ps {
            let e = g.facts(vec![fact_of(s)]);
            for (_, a, _) in &info.containers {
                for (_, b, _) in &info.containers {
                    g.edge(*a, *b, EdgeKind::SHARE_PS_NAMESPACE, e);
                }
            }
        }
        // Node → pod and its volumes.
        let e = g.facts(vec![obj_fact(o, "", o.line, "scheduled on a node")]);
        g.edge(node, pv, EdgeKind::POD_ATTACH, e);
        if marked.contains(&(o.kind.clone(), ns.clone(), o.name.clone())) {
            let mut vs = vec![pv];
            vs.extend(info.containers.iter().map(|c| c.1));
            g.jewels.push(Jewel {
                name: format!("{} {ns}/{}", o.kind, o.name),
                kind: JewelKind::Marked,
                vertices: vs,
            });
        }
        stats.containers += info.containers.len();
        pods_by_ns.entry(ns.clone()).or_default().push(pods.len());
        pods.push(info);
    }
    stats.pods = pods.len();
    let e = g.facts(vec![Fact {
        object: "root on a node".into(),
        path: String::new(),
        source: String::new(),
        line: 0,
        rule: "every mounted volume is readable from the node".into(),
    }]);
    let volumes: Vec<u32> = (0..g.vertices.len() as u32)
        .filter(|&v| g.vertices[v as usize].kind == VertexKind::Volume)
        .collect();
    for v in volumes {
        g.edge(node, v, EdgeKind::VOLUME_ACCESS, e);
    }
    for &(hv, e) in &traverse_volumes {
        for &tv in &token_volumes {
            g.edge(hv, tv, EdgeKind::EXPLOIT_HOST_TRAVERSE, e);
        }
    }

    rbac_edges(
        &mut g,
        &rbac,
        objects,
        &pods,
        &pods_by_ns,
        &secret_jewels,
        admin,
        node,
        &mut stats,
    );
    network_edges(&mut g, &net, &engine, objects, &pods, internet, &mut stats);
    if let Some(alerts) = inputs.alerts {
        alert_edges(&mut g, alerts, &pods, internet, inputs, &mut stats);
    }

    g.index();
    stats.vertices = g.vertices.len();
    stats.edges = g.edges.len();
    stats.endpoints = g
        .vertices
        .iter()
        .filter(|v| v.kind == VertexKind::Endpoint)
        .count();
    stats.entry_points = g
        .vertices
        .iter()
        .filter(|v| v.kind == VertexKind::EntryPoint)
        .count();
    Built {
        graph: g,
        diagnostics: diags,
        stats,
    }
}

/// The vertex standing for every member of `targets` (`key` `pods:*` or
/// `serviceaccounts:*`), created on first use with an ANY_OF edge to each.
fn every(g: &mut Graph, key: &str, label: &str, targets: &[u32]) -> u32 {
    if let Some(v) = g.find(key) {
        return v;
    }
    let v = g.vertex(VertexKind::Every, key.into(), || label.into(), None);
    let e = g.facts(vec![Fact {
        object: label.into(),
        path: String::new(),
        source: String::new(),
        line: 0,
        rule: "a cluster-wide grant covers every namespace".into(),
    }]);
    for &t in targets {
        g.edge(v, t, EdgeKind::ANY_OF, e);
    }
    v
}

/// The rule of `role` that allows the request, by index.
fn allowing_rule(rbac: &Rbac, role: usize, req: &Request) -> Option<usize> {
    rbac.roles[role]
        .rules
        .iter()
        .position(|r| rule_allows(r, req))
}

#[allow(clippy::too_many_arguments)]
fn rbac_edges(
    g: &mut Graph,
    rbac: &Rbac,
    objects: &[Object],
    pods: &[PodInfo<'_>],
    pods_by_ns: &HashMap<String, Vec<usize>>,
    secret_jewels: &HashMap<String, Vec<(String, u32)>>,
    admin: u32,
    node: u32,
    stats: &mut Stats,
) {
    const RBAC: &str = "rbac.authorization.k8s.io";
    let namespaces: Vec<&String> = rbac.namespaces.iter().collect();
    let ns_objects: HashMap<&str, &Object> = objects
        .iter()
        .filter(|o| o.kind == "Namespace")
        .map(|o| (o.name.as_str(), o))
        .collect();
    // Permission sets: one per binding with a resolved role.
    let mut permsets: Vec<(usize, u32)> = Vec::new();
    for (bi, b) in rbac.bindings.iter().enumerate() {
        let Some(role) = b.role else { continue };
        let label = b.label();
        let rlabel = rbac.roles[role].label();
        let v = g.vertex(
            VertexKind::PermissionSet,
            format!("permissionset:{label}"),
            || format!("{label} → {rlabel}"),
            b.namespace.as_deref(),
        );
        let fact = Fact {
            object: label.clone(),
            path: "subjects".into(),
            source: b.origin.source.clone(),
            line: b.origin.line,
            rule: format!("binds {rlabel}"),
        };
        let e = g.facts(vec![fact]);
        for s in &b.subjects {
            let mut s = s.clone();
            if s.kind == SubjectKind::ServiceAccount && s.namespace.is_none() {
                s.namespace = b.namespace.clone();
            }
            let iv = identity(g, &s);
            if !b.default {
                g.own_identities.insert(iv);
            }
            g.edge(iv, v, EdgeKind::PERMISSION_DISCOVER, e);
        }
        permsets.push((bi, v));
    }
    stats.permission_sets = permsets.len();
    let permset_of: HashMap<usize, u32> = permsets.iter().copied().collect();
    for o in objects.iter().filter(|o| o.kind == "ServiceAccount") {
        let iv = identity(g, &Subject::service_account(&ns_of(o), &o.name));
        g.own_identities.insert(iv);
    }
    for w in &rbac.workloads {
        let iv = identity(
            g,
            &Subject::service_account(&w.namespace, &w.service_account),
        );
        g.own_identities.insert(iv);
    }
    // Identities: every service account too, and group memberships.
    for (ns, name) in &rbac.service_accounts {
        identity(g, &Subject::service_account(ns, name));
    }
    let group_vertex =
        |g: &Graph, name: &str| g.find(&format!("identity:{}", Subject::group(name)));
    let authenticated = group_vertex(g, "system:authenticated");
    let all_sas = group_vertex(g, "system:serviceaccounts");
    let member = g.facts(vec![Fact {
        object: "authentication".into(),
        path: String::new(),
        source: String::new(),
        line: 0,
        rule: "group membership".into(),
    }]);
    let ids: Vec<(u32, Subject)> = g
        .vertices
        .iter()
        .enumerate()
        .filter(|(_, v)| v.kind == VertexKind::Identity)
        .filter_map(|(i, v)| {
            Subject::parse(v.key.strip_prefix("identity:")?)
                .ok()
                .map(|s| (i as u32, s))
        })
        .collect();
    for (iv, s) in &ids {
        if s.kind == SubjectKind::Group {
            if s.name == "system:masters" {
                let e = g.facts(vec![Fact {
                    object: "Group system:masters".into(),
                    path: String::new(),
                    source: String::new(),
                    line: 0,
                    rule: "system:masters bypasses authorization".into(),
                }]);
                g.edge(*iv, admin, EdgeKind::ADMIN_EQUIVALENT, e);
            }
            continue;
        }
        if let Some(a) = authenticated {
            g.edge(*iv, a, EdgeKind::MEMBER_OF, member);
        }
        if s.kind == SubjectKind::ServiceAccount {
            if let Some(a) = all_sas {
                g.edge(*iv, a, EdgeKind::MEMBER_OF, member);
            }
            if let Some(ns) = &s.namespace {
                if let Some(a) = group_vertex(g, &format!("system:serviceaccounts:{ns}")) {
                    g.edge(*iv, a, EdgeKind::MEMBER_OF, member);
                }
            }
        }
    }
    stats.identities = ids.len();

    let grant =
        |g: &mut Graph, bi: usize, role: usize, ri: usize, what: String, extra: Vec<Fact>| {
            let b = &rbac.bindings[bi];
            let r = &rbac.roles[role];
            let mut facts = vec![
                Fact {
                    object: b.label(),
                    path: "roleRef".into(),
                    source: b.origin.source.clone(),
                    line: b.origin.line,
                    rule: what.clone(),
                },
                Fact {
                    object: r.label(),
                    path: format!("rules[{ri}]"),
                    source: r.origin.source.clone(),
                    line: r.origin.line,
                    rule: r.rules[ri].summary(),
                },
            ];
            facts.extend(extra);
            g.facts(facts)
        };
    let pod_creators = [
        ("", "pods"),
        ("apps", "deployments"),
        ("apps", "daemonsets"),
        ("apps", "statefulsets"),
        ("apps", "replicasets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
        ("", "replicationcontrollers"),
    ];
    for &(bi, pv) in &permsets {
        let b = &rbac.bindings[bi];
        let Some(role) = b.role else { continue };
        let cluster = b.kind == BindingKind::ClusterRoleBinding;
        let scope: Vec<&str> = match (&b.namespace, cluster) {
            (_, true) => namespaces.iter().map(|s| s.as_str()).collect(),
            (Some(ns), false) => vec![ns.as_str()],
            (None, false) => continue,
        };
        let allows = |verb: &str, group: &str, res: &str, ns: Option<&str>, name: Option<&str>| {
            let mut req = Request::resource(verb, group, res);
            if let Some(ns) = ns {
                req = req.in_namespace(ns);
            }
            if let Some(n) = name {
                req = req.named(n);
            }
            allowing_rule(rbac, role, &req)
        };
        // Cluster-admin equivalent.
        if cluster {
            if let Some(ri) = allows("*", "*", "*", None, None) {
                let e = grant(
                    g,
                    bi,
                    role,
                    ri,
                    "every verb on every resource".into(),
                    vec![],
                );
                g.edge(pv, admin, EdgeKind::ADMIN_EQUIVALENT, e);
            }
        }
        // Role rules carry no namespace: what a permission set allows is judged once, then
        // applied to the namespaces of its scope.
        let open_ns = scope.iter().copied().find(|ns| {
            rbac.pod_security
                .get(*ns)
                .is_none_or(|l| *l == PodSecurity::Privileged)
        });
        let where_ = |ns: &str| {
            if cluster {
                "any namespace".to_string()
            } else {
                ns.to_string()
            }
        };
        let here = b.namespace.as_deref().unwrap_or("");
        // POD_CREATE.
        if let (Some((ri, res)), Some(ns)) = (
            pod_creators
                .iter()
                .find_map(|(gr, r)| allows("create", gr, r, None, None).map(|ri| (ri, *r))),
            open_ns,
        ) {
            let pss = match ns_objects.get(ns) {
                Some(o) => obj_fact(
                    o,
                    "metadata.labels[\"pod-security.kubernetes.io/enforce\"]",
                    o.locate(&["metadata", "labels"]).line,
                    "Pod Security not enforced (privileged)",
                ),
                None => Fact {
                    object: format!("Namespace {ns}"),
                    path: String::new(),
                    source: String::new(),
                    line: 0,
                    rule: "no Namespace object: Pod Security not enforced".into(),
                },
            };
            let e = grant(g, bi, role, ri, format!("create {res} in {ns}"), vec![pss]);
            g.edge(pv, node, EdgeKind::POD_CREATE, e);
        }
        // POD_EXEC and POD_PATCH: a cluster-wide grant reaches every pod through one vertex.
        let exec = allows("create", "", "pods/exec", None, None)
            .or_else(|| allows("get", "", "pods/exec", None, None));
        let patch = allows("patch", "", "pods", None, None)
            .or_else(|| allows("update", "", "pods", None, None));
        for (ri, kind, what) in [
            (exec, EdgeKind::POD_EXEC, "exec into pods"),
            (patch, EdgeKind::POD_PATCH, "patch pods"),
        ] {
            let Some(ri) = ri else { continue };
            let e = grant(
                g,
                bi,
                role,
                ri,
                format!("{what} in {}", where_(here)),
                vec![],
            );
            if cluster {
                let all = match g.find("pods:*") {
                    Some(v) => v,
                    None => {
                        let targets: Vec<u32> = pods.iter().map(|p| p.vertex).collect();
                        every(g, "pods:*", "every pod", &targets)
                    }
                };
                g.edge(pv, all, kind, e);
            } else {
                for &p in pods_by_ns.get(here).map(Vec::as_slice).unwrap_or(&[]) {
                    g.edge(pv, pods[p].vertex, kind, e);
                }
            }
        }
        // Long-lived token Secrets.
        let list = allows("list", "", "secrets", None, None);
        let get = allows("get", "", "secrets", None, None);
        if list.is_some() || get.is_some() {
            let (kind, ri, verb) = match (list, get) {
                (Some(ri), _) => (EdgeKind::TOKEN_LIST, ri, "list"),
                (None, Some(ri)) => (EdgeKind::TOKEN_BRUTEFORCE, ri, "get"),
                _ => unreachable!("one of them is set"),
            };
            let secrets: Vec<(&(String, String), &Vec<String>)> = if cluster {
                rbac.token_secrets.iter().collect()
            } else {
                rbac.token_secrets
                    .range((here.to_string(), String::new())..)
                    .take_while(|((sns, _), _)| sns == here)
                    .collect()
            };
            for ((sns, sa), names) in secrets {
                let iv = identity(g, &Subject::service_account(sns, sa));
                let e = grant(
                    g,
                    bi,
                    role,
                    ri,
                    format!("{verb} secrets in {sns} (token Secret {})", names.join(",")),
                    vec![],
                );
                g.edge(pv, iv, kind, e);
            }
        }
        // Crown-jewel Secrets.
        for (ns, list) in secret_jewels.iter() {
            if !cluster && ns != here {
                continue;
            }
            for (name, sv) in list {
                let ri = allows("get", "", "secrets", Some(ns), Some(name))
                    .or_else(|| allows("list", "", "secrets", Some(ns), None));
                if let Some(ri) = ri {
                    let e = grant(g, bi, role, ri, format!("read Secret {ns}/{name}"), vec![]);
                    g.edge(pv, *sv, EdgeKind::SECRET_READ, e);
                }
            }
        }
        // Impersonating service accounts.
        if let Some(ri) = allows("impersonate", "", "serviceaccounts", None, None) {
            let e = grant(
                g,
                bi,
                role,
                ri,
                format!("impersonate service accounts in {}", where_(here)),
                vec![],
            );
            if cluster {
                let all = match g.find("serviceaccounts:*") {
                    Some(v) => v,
                    None => {
                        let targets: Vec<u32> = rbac
                            .service_accounts
                            .iter()
                            .map(|(ns, sa)| identity(g, &Subject::service_account(ns, sa)))
                            .collect();
                        every(g, "serviceaccounts:*", "every service account", &targets)
                    }
                };
                g.edge(pv, all, EdgeKind::IDENTITY_IMPERSONATE, e);
            } else {
                for (sns, sa) in rbac
                    .service_accounts
                    .range((here.to_string(), String::new())..)
                    .take_while(|(sns, _)| sns == here)
                {
                    let iv = identity(g, &Subject::service_account(sns, sa));
                    g.edge(pv, iv, EdgeKind::IDENTITY_IMPERSONATE, e);
                }
            }
        } else {
            let names: BTreeSet<&String> = rbac.roles[role]
                .rules
                .iter()
                .flat_map(|r| r.resource_names.iter())
                .collect();
            for n in names {
                if let Some(ri) = allows("impersonate", "", "serviceaccounts", None, Some(n)) {
                    let targets: Vec<&str> = if cluster {
                        rbac.service_accounts
                            .iter()
                            .filter(|(_, sa)| sa == n)
                            .map(|(ns, _)| ns.as_str())
                            .collect()
                    } else {
                        vec![here]
                    };
                    for ns in targets {
                        let e = grant(g, bi, role, ri, format!("impersonate {ns}/{n}"), vec![]);
                        let iv = identity(g, &Subject::service_account(ns, n));
                        g.edge(pv, iv, EdgeKind::IDENTITY_IMPERSONATE, e);
                    }
                }
            }
        }
        // Impersonating users and groups (cluster-scoped: ClusterRoleBindings only).
        if cluster {
            for res in ["users", "groups"] {
                if let Some(ri) = allows("impersonate", "", res, None, None) {
                    let e = grant(
                        g,
                        bi,
                        role,
                        ri,
                        format!("impersonate any of {res} (system:masters included)"),
                        vec![],
                    );
                    g.edge(pv, admin, EdgeKind::IDENTITY_IMPERSONATE, e);
                    continue;
                }
                let names: BTreeSet<&String> = rbac.roles[role]
                    .rules
                    .iter()
                    .flat_map(|r| r.resource_names.iter())
                    .collect();
                for n in names {
                    if let Some(ri) = allows("impersonate", "", res, None, Some(n)) {
                        let subject = if res == "groups" {
                            Subject::group(n)
                        } else {
                            Subject::parse(n).unwrap_or_else(|_| Subject::user(n))
                        };
                        let e = grant(g, bi, role, ri, format!("impersonate {subject}"), vec![]);
                        let to = if res == "groups" && n == "system:masters" {
                            admin
                        } else {
                            identity(g, &subject)
                        };
                        g.edge(pv, to, EdgeKind::IDENTITY_IMPERSONATE, e);
                    }
                }
            }
        }
        // ROLE_BIND: bind oneself a role someone else holds (or cluster-admin).
        let can_bind = |ns: Option<&str>, kind: RoleKind, name: &str| {
            let res = match kind {
                RoleKind::Role => "roles",
                RoleKind::ClusterRole => "clusterroles",
            };
            allows("bind", RBAC, res, ns, Some(name))
                .or_else(|| allows("escalate", RBAC, res, ns, Some(name)))
        };
        if cluster {
            if let (Some(ri), Some(_)) = (
                allows("create", RBAC, "clusterrolebindings", None, None),
                can_bind(None, RoleKind::ClusterRole, "cluster-admin"),
            ) {
                let e = grant(
                    g,
                    bi,
                    role,
                    ri,
                    "bind cluster-admin cluster-wide".into(),
                    vec![],
                );
                g.edge(pv, admin, EdgeKind::ROLE_BIND, e);
                continue;
            }
        }
        // Only sets holding `bind` or `escalate` on some role, and creating bindings, go on.
        let binds = rbac.roles[role].rules.iter().any(|r| {
            ["bind", "escalate"].iter().any(|v| {
                rule_grants(r, v, RBAC, "roles") || rule_grants(r, v, RBAC, "clusterroles")
            })
        });
        let create_rb = allows("create", RBAC, "rolebindings", None, None);
        let create_crb =
            allows("create", RBAC, "clusterrolebindings", None, None).filter(|_| cluster);
        if !binds || (create_rb.is_none() && create_crb.is_none()) {
            continue;
        }
        // Per bindable role, the permission sets that hold it in the binder's scope.
        for (ri_role, r) in rbac.roles.iter().enumerate() {
            if ri_role == role {
                continue;
            }
            for &qb in rbac.bindings_to(ri_role) {
                let Some(&qv) = permset_of.get(&qb) else {
                    continue;
                };
                let q = &rbac.bindings[qb];
                let (create, ns) = match q.kind {
                    BindingKind::ClusterRoleBinding => (create_crb, None),
                    BindingKind::RoleBinding => (create_rb, q.namespace.as_deref()),
                };
                let Some(ri) = create else { continue };
                if !cluster && ns != Some(here) {
                    continue;
                }
                if can_bind(ns, r.kind, &r.name).is_none() {
                    break;
                }
                let e = grant(
                    g,
                    bi,
                    role,
                    ri,
                    format!("bind {} to itself", r.label()),
                    vec![],
                );
                g.edge(pv, qv, EdgeKind::ROLE_BIND, e);
            }
        }
    }
}

fn network_edges(
    g: &mut Graph,
    net: &Network,
    engine: &NetEngine<'_>,
    objects: &[Object],
    pods: &[PodInfo<'_>],
    internet: u32,
    _stats: &mut Stats,
) {
    use palisade_netpol::connlist;
    // Netpol workload → my pods (usually one).
    let mut of_wl: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, p) in pods.iter().enumerate() {
        if let Some(w) = p.netpol {
            of_wl.entry(w).or_default().push(i);
        }
    }
    // Evidence of one direction: the policies that decide it, or "not isolated".
    let decided = |ep: Endpoint, dir: Direction| -> Vec<Fact> {
        let mut facts: Vec<Fact> = engine
            .selecting_policies(ep, dir)
            .iter()
            .map(|&p| {
                let np = &net.policies[p as usize];
                Fact {
                    object: np.label(),
                    path: format!("spec.{}", dir.as_str()),
                    source: np.origin.source.clone(),
                    line: np.origin.line,
                    rule: format!("{} allowed", dir.as_str()),
                }
            })
            .collect();
        if facts.is_empty() && !engine.is_isolated(ep, dir) {
            facts.push(Fact {
                object: engine.label(ep),
                path: String::new(),
                source: String::new(),
                line: 0,
                rule: format!("no policy isolates {}", dir.as_str()),
            });
        }
        facts
    };

    // Evidence is shared by every pair decided by the same policies (or, where nothing
    // isolates a side, by the same workload).
    type Side = (Vec<u32>, Option<Endpoint>);
    let key = |ep: Endpoint, dir: Direction| -> Side {
        let ps = engine.selecting_policies(ep, dir);
        if ps.is_empty() && !engine.is_isolated(ep, dir) {
            (Vec::new(), Some(ep))
        } else {
            (ps.to_vec(), None)
        }
    };
    let mut memo: HashMap<(Side, Side), u32> = HashMap::new();
    // NETWORK_REACH over classes of identical workloads.
    let classes = connlist::classes(engine);
    let with_endpoints: Vec<&Vec<usize>> = classes
        .iter()
        .filter(|c| {
            c.iter().any(|w| {
                of_wl
                    .get(w)
                    .is_some_and(|ps| ps.iter().any(|&p| !pods[p].endpoints.is_empty()))
            })
        })
        .collect();
    let with_containers: Vec<&Vec<usize>> = classes
        .iter()
        .filter(|c| c.iter().any(|w| of_wl.contains_key(w)))
        .collect();
    for cs in &with_containers {
        let s = Endpoint::Workload(cs[0]);
        for cd in &with_endpoints {
            let d = Endpoint::Workload(cd[0]);
            let conns = engine.allowed(s, d);
            if conns.is_empty() {
                continue;
            }
            let mut ev: Option<u32> = memo
                .get(&(key(s, Direction::Egress), key(d, Direction::Ingress)))
                .copied();
            for &dw in cd.iter() {
                for &dp in of_wl.get(&dw).map(Vec::as_slice).unwrap_or(&[]) {
                    for &(port, proto, epv, _) in &pods[dp].endpoints {
                        if !conns.contains(proto, port) {
                            continue;
                        }
                        let e = *ev.get_or_insert_with(|| {
                            let mut f = decided(s, Direction::Egress);
                            f.extend(decided(d, Direction::Ingress));
                            let e = g.facts(f);
                            memo.insert((key(s, Direction::Egress), key(d, Direction::Ingress)), e);
                            e
                        });
                        for &sw in cs.iter() {
                            if sw == dw {
                                continue;
                            }
                            for &sp in of_wl.get(&sw).map(Vec::as_slice).unwrap_or(&[]) {
                                for &(_, cv, _) in &pods[sp].containers {
                                    g.edge(cv, epv, EdgeKind::NETWORK_REACH, e);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // Ingresses and Routes: the ingress controller forwards, if policy lets it.
    let exposed: HashMap<usize, palisade_netpol::conn::ConnSet> =
        connlist::ingress_exposure(engine).into_iter().collect();
    for ing in &net.ingresses {
        let entry = g.vertex(
            VertexKind::EntryPoint,
            format!("entry:{}/{}/{}", ing.kind, ing.namespace, ing.name),
            || format!("{} {}/{}", ing.kind, ing.namespace, ing.name),
            Some(&ing.namespace),
        );
        let ifact = Fact {
            object: format!("{} {}/{}", ing.kind, ing.namespace, ing.name),
            path: "spec".into(),
            source: ing.origin.source.clone(),
            line: ing.origin.line,
            rule: "exposed to the internet".into(),
        };
        let e = g.facts(vec![ifact.clone()]);
        g.edge(internet, entry, EdgeKind::EXPOSED, e);
        for b in &ing.backends {
            let Some(svc) = net
                .services
                .iter()
                .find(|s| s.namespace == ing.namespace && s.name == b.service)
            else {
                continue;
            };
            let Some(sel) = &svc.selector else { continue };
            for (wi, w) in net.workloads.iter().enumerate() {
                if w.namespace != svc.namespace || !sel.matches(&w.labels) {
                    continue;
                }
                let Some(ports) = exposed.get(&wi) else {
                    continue;
                };
                let allowed = engine
                    .allowed(Endpoint::IngressController, Endpoint::Workload(wi))
                    .intersect(ports);
                if allowed.is_empty() {
                    continue;
                }
                let mut facts = vec![
                    ifact.clone(),
                    service_fact(objects, &svc.namespace, &svc.name),
                ];
                facts.extend(decided(Endpoint::Workload(wi), Direction::Ingress));
                let e = g.facts(facts);
                for &p in of_wl.get(&wi).map(Vec::as_slice).unwrap_or(&[]) {
                    for &(port, proto, epv, _) in &pods[p].endpoints {
                        if allowed.contains(proto, port) {
                            g.edge(entry, epv, EdgeKind::INGRESS_ROUTE, e);
                        }
                    }
                }
            }
        }
    }

    // LoadBalancer and NodePort Services: open to every external address, if policy lets it.
    let external: HashMap<usize, palisade_netpol::conn::ConnSet> = {
        let has_public = objects.iter().any(|o| {
            o.kind == "Service"
                && matches!(
                    o.root.at(&["spec", "type"]).and_then(Node::as_str),
                    Some("LoadBalancer" | "NodePort")
                )
        });
        if has_public {
            connlist::exposure(engine)
                .into_iter()
                .map(|x| (x.workload, x.ingress_any_external))
                .collect()
        } else {
            HashMap::new()
        }
    };
    for o in objects
        .iter()
        .filter(|o| o.kind == "Service" && o.api_version == "v1")
    {
        let Some(ty @ ("LoadBalancer" | "NodePort")) =
            o.root.at(&["spec", "type"]).and_then(Node::as_str)
        else {
            continue;
        };
        let ns = ns_of(o);
        let Some(svc) = net
            .services
            .iter()
            .find(|s| s.namespace == ns && s.name == o.name)
        else {
            continue;
        };
        let Some(sel) = &svc.selector else { continue };
        let entry = g.vertex(
            VertexKind::EntryPoint,
            format!("entry:Service/{ns}/{}", o.name),
            || format!("{ty} Service {ns}/{}", o.name),
            Some(&ns),
        );
        let sfact = obj_fact(o, "spec.type", o.locate(&["spec", "type"]).line, ty);
        let e = g.facts(vec![sfact.clone()]);
        g.edge(internet, entry, EdgeKind::EXPOSED, e);
        for (wi, w) in net.workloads.iter().enumerate() {
            if w.namespace != ns || !sel.matches(&w.labels) {
                continue;
            }
            let Some(open) = external.get(&wi) else {
                continue;
            };
            let targets: Vec<u16> = svc
                .ports
                .iter()
                .filter_map(|p| match &p.target {
                    None => Some(p.port),
                    Some(Ok(n)) => Some(*n),
                    Some(Err(name)) => w.named_port(name).map(|(_, n)| n),
                })
                .collect();
            let mut facts = vec![sfact.clone()];
            facts.extend(decided(Endpoint::Workload(wi), Direction::Ingress));
            let e = g.facts(facts);
            for &p in of_wl.get(&wi).map(Vec::as_slice).unwrap_or(&[]) {
                for &(port, proto, epv, _) in &pods[p].endpoints {
                    if targets.contains(&port) && open.contains(proto, port) {
                        g.edge(entry, epv, EdgeKind::INGRESS_ROUTE, e);
                    }
                }
            }
        }
    }
}

fn service_fact(objects: &[Object], ns: &str, name: &str) -> Fact {
    match objects
        .iter()
        .find(|o| o.kind == "Service" && ns_of(o) == ns && o.name == name)
    {
        Some(o) => obj_fact(
            o,
            "spec.selector",
            o.locate(&["spec", "selector"]).line,
            "selects the workload",
        ),
        None => Fact {
            object: format!("Service {ns}/{name}"),
            path: String::new(),
            source: String::new(),
            line: 0,
            rule: "selects the workload".into(),
        },
    }
}

fn alert_edges(
    g: &mut Graph,
    alerts: &Alerts,
    pods: &[PodInfo<'_>],
    internet: u32,
    inputs: &Inputs<'_>,
    stats: &mut Stats,
) {
    stats.alerts_without_pod += alerts.without_pod;
    for a in &alerts.alerts {
        if inputs.now_ns - a.time_ns > inputs.alert_window_ns {
            stats.alerts_too_old += 1;
            continue;
        }
        // The pod itself, or the workload whose generated pod names start with its name.
        let pod = pods
            .iter()
            .filter(|p| p.namespace == a.namespace)
            .filter(|p| {
                p.obj.name == a.pod
                    || (a.pod.starts_with(&p.obj.name)
                        && a.pod.as_bytes().get(p.obj.name.len()) == Some(&b'-'))
            })
            .max_by_key(|p| p.obj.name.len());
        let Some(pod) = pod else {
            stats.alerts_unmatched += 1;
            continue;
        };
        let fact = Fact {
            object: format!("pod {}/{}", a.namespace, a.pod),
            path: a.container.clone().unwrap_or_default(),
            source: a.source.clone(),
            line: a.line,
            rule: format!("{} ({})", a.rule, a.priority),
        };
        let e = g.facts(vec![fact]);
        let mut used = false;
        for (name, cv, _) in &pod.containers {
            if a.container.as_deref().is_none_or(|c| c == name) {
                g.edge(internet, *cv, EdgeKind::ALERTED, e);
                used = true;
            }
        }
        if used {
            stats.alerts_used += 1;
        } else {
            stats.alerts_unmatched += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exposes;

    #[test]
    fn host_paths_expose_themselves_and_children() {
        assert!(exposes("/", "/var/log"));
        assert!(exposes("/var/", "/var/log"));
        assert!(exposes("/var/log", "/var/log"));
        assert!(exposes("/var/../var/lib", "/var/lib/kubelet/pods"));
        assert!(!exposes("/var/log/pods", "/var/log"));
        assert!(!exposes("/var/lo", "/var/log"));
    }
}
