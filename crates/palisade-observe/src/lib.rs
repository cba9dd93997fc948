//! Palisade's network sensor.
//!
//! - [`pcap`]: pcap and pcapng reading, pcap writing.
//! - [`packet`]: link, IP and transport headers.
//! - [`flow`]: the bidirectional flow table (TCP state, TLS/plaintext, DNS, HTTP/1.x,
//!   timeouts, capped size with counted eviction).
//! - [`dns`], [`l7`]: DNS messages; TLS hellos, HTTP/1.x lines, plaintext.
//! - [`attribute`]: workloads, Services, nodes and policy verdicts from a snapshot.
//! - [`sensor`]: the pipeline from frames to records. [`live`]: capture on interfaces.
//! - [`example`]: the example capture the README uses.
//! - [`watch`]: live attribution from Pods, Services and Nodes watched through kube.
//! - [`import`]: Hubble, Calico, Inspektor Gadget and CoreDNS logs (and Hubble's gRPC API)
//!   as records.

pub mod attribute;
pub mod dns;
pub mod example;
pub mod flow;
pub mod import;
pub mod l7;
pub mod live;
pub mod packet;
pub mod pcap;
pub mod sensor;
#[cfg(feature = "watch")]
pub mod watch;
