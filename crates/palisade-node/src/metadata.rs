//! Which workloads can reach the cloud metadata API, under the network policies in the
//! manifests (the netpol engine: admin → NetworkPolicy → baseline layering).

use crate::analysis::Issue;
use palisade_model::Object;
use palisade_netpol::conn::Protocol;
use palisade_netpol::ip::IpRange;
use palisade_netpol::model::Direction;
use palisade_netpol::{BuildOptions, Endpoint, Engine, Network};

/// The IPv4 instance metadata address (AWS, GCP, Azure, OpenStack, ...).
pub const METADATA_V4: u32 = 0xA9FE_A9FE; // 169.254.169.254
/// The IPv6 metadata address on AWS Nitro instances.
pub const METADATA_V6: &str = "fd00:ec2::254";

/// One workload that can reach the metadata API.
#[derive(Clone, Debug, PartialEq)]
pub struct Reach {
    pub workload: String,
    pub source: String,
    pub line: u32,
    pub ipv4: bool,
    pub ipv6: bool,
    pub host_network: bool,
}

/// Every workload in the manifests and whether it reaches the metadata addresses on TCP 80.
pub fn reachability(objects: &[Object]) -> (Vec<Reach>, Vec<palisade_model::Diagnostic>) {
    let net = Network::build(objects, &BuildOptions::default());
    let engine = Engine::new(&net);
    let dst = Endpoint::Ip(IpRange {
        lo: METADATA_V4,
        hi: METADATA_V4,
    });
    let mut out = Vec::new();
    for (i, w) in net.workloads.iter().enumerate() {
        let src = Endpoint::Workload(i);
        let conns = engine.allowed(src, dst);
        let v4 = w.host_network || conns.ports(Protocol::Tcp).contains(80);
        let v6 = w.host_network || !engine.is_isolated(src, Direction::Egress);
        if v4 || v6 {
            out.push(Reach {
                workload: w.label(),
                source: w.origin.source.clone(),
                line: w.origin.line,
                ipv4: v4,
                ipv6: v6,
                host_network: w.host_network,
            });
        }
    }
    (out, net.diagnostics.clone())
}

/// The reachable workloads as issues.
pub fn issues(reach: &[Reach]) -> Vec<Issue> {
    reach
        .iter()
        .map(|r| {
            let addrs = match (r.ipv4, r.ipv6) {
                (true, true) => format!("169.254.169.254 and {METADATA_V6}"),
                (true, false) => "169.254.169.254".to_string(),
                _ => METADATA_V6.to_string(),
            };
            let why = if r.host_network {
                " (host network: network policies do not apply)"
            } else {
                ""
            };
            Issue::new(
                "MD001",
                r.line,
                format!(
                    "{} can reach the cloud metadata API at {addrs}{why}",
                    r.workload
                ),
            )
        })
        .collect()
}
