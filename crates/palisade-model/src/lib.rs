//! The Palisade object model: Kubernetes objects loaded from files, standard input or a
//! cluster into a spanned tree ([`Node`]), with the workload model ([`PodRef`],
//! [`ContainerRef`]) and label selectors every engine shares.
//!
//! Invariant: nothing here knows about checks or findings; engines depend on this crate,
//! never the other way round.

pub mod emit;
pub mod lines;
pub mod load;
pub mod node;
pub mod object;
pub mod yaml;

pub use load::{load_bytes, load_file, load_paths, Diagnostic, Level, LoadOptions, Loaded};
pub use node::{Entry, Node, Pos, Value};
pub use object::{ContainerKind, ContainerRef, LabelSelector, Object, PodRef, SelectorOp, Source};
