//! Policy as code: every engine (built-in checks, CEL ValidatingAdmissionPolicy, Gatekeeper
//! Rego and CEL) behind one interface, [`Policy::evaluate`], over one admission-shaped
//! request ([`Review`]). `palisade scan --policy`, `palisade policy test` and the
//! admission webhook all call it, so they give the same answer.
//!
//! Invariants: engines never do I/O (files are read by the caller or by the suite
//! runners); compiled programs are built once, at load, and shared; a broken policy is a
//! [`palisade_model::Diagnostic`] naming file, line, policy and expression, never a panic,
//! and never stops the other policies from loading.

pub mod authorizer;
pub mod builtin;
pub mod cel;
pub mod decision;
pub mod export;
pub mod gatekeeper;
pub mod inventory;
pub(crate) mod pool;
pub mod request;
pub mod resources;
pub mod scan;
pub mod suite;
pub mod vap;

use palisade_model::{Diagnostic, Object};
use serde_json::Value;
use std::sync::Arc;

pub use authorizer::{AccessCheck, Authorizer, AuthzDecision, NoOpinion};
pub use decision::{
    Action, AuditAnnotation, Decision, DecisionKind, EngineKind, Evaluation, EvaluationError,
};
pub use inventory::{Inventory, InventoryObject, SourceRef};
pub use request::{AdmissionRequest, GroupVersionKind, GroupVersionResource, Operation, UserInfo};

/// One request under review and what the policies may consult besides it.
#[derive(Clone, Copy)]
pub struct Review<'a> {
    pub request: &'a AdmissionRequest,
    /// The request's Namespace object (`namespaceObject` in CEL; used by
    /// `namespaceSelector`). `None` for cluster-scoped requests or when it is unknown.
    pub namespace_object: Option<&'a Value>,
    pub inventory: &'a Inventory,
    pub authorizer: &'a dyn Authorizer,
    /// Conversions shared by every policy evaluating this request (built on first use).
    /// `None`: each policy converts for itself.
    pub memo: Option<&'a ReviewMemo>,
}

/// Per-request conversions that every policy of an engine would otherwise redo: the
/// Gatekeeper `input.review` as a Rego value, and the request's `object` and `oldObject` as
/// CEL values. One memo serves one request (and one namespace object).
#[derive(Default)]
pub struct ReviewMemo {
    rego_review: std::sync::OnceLock<regorus::Value>,
    cel_inputs: cel::value::CelInputCache,
}

impl ReviewMemo {
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn rego_review(&self, init: impl FnOnce() -> regorus::Value) -> regorus::Value {
        self.rego_review.get_or_init(init).clone()
    }

    pub(crate) fn cel_inputs(&self) -> &cel::value::CelInputCache {
        &self.cel_inputs
    }
}

impl<'a> Review<'a> {
    /// A review whose namespace object is looked up in `inventory`.
    pub fn new(
        request: &'a AdmissionRequest,
        inventory: &'a Inventory,
        authorizer: &'a dyn Authorizer,
    ) -> Self {
        let namespace_object = request
            .namespace
            .as_deref()
            .filter(|n| !n.is_empty())
            .and_then(|n| inventory.namespace(n));
        Review {
            request,
            namespace_object,
            inventory,
            authorizer,
            memo: None,
        }
    }
}

/// A loaded, compiled policy (one ValidatingAdmissionPolicy with its bindings, one
/// Gatekeeper constraint with its template, or one built-in check).
pub trait Policy: Send + Sync + std::fmt::Debug {
    fn engine(&self) -> EngineKind;
    /// The policy name decisions carry.
    fn name(&self) -> &str;
    fn source(&self) -> Option<&SourceRef>;
    /// Adds this policy's decisions, audit annotations and ignored errors for `review`.
    fn evaluate(&self, review: &Review<'_>, out: &mut Evaluation);
}

/// Which engine runs a Gatekeeper template that carries both Rego and
/// `K8sNativeValidation` code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TemplateEngine {
    /// CEL when the template has it, Rego otherwise (Gatekeeper's own preference).
    #[default]
    Auto,
    /// Rego only; templates without Rego are a load error.
    Rego,
    /// CEL only; templates without `K8sNativeValidation` are a load error.
    Cel,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct LoadOptions {
    pub template_engine: TemplateEngine,
}

/// The policies found among a set of loaded objects.
#[derive(Debug, Default)]
pub struct PolicySet {
    pub policies: Vec<Arc<dyn Policy>>,
    /// Load and compile errors (and warnings), one per broken policy, expression or
    /// binding.
    pub diagnostics: Vec<Diagnostic>,
    /// Objects that are not policy definitions (param objects, namespaces, …): callers add
    /// them to the inventory.
    pub others: Vec<InventoryObject>,
}

impl PolicySet {
    /// Finds and compiles every ValidatingAdmissionPolicy (+ bindings) and Gatekeeper
    /// ConstraintTemplate (+ constraints) among `objects`.
    pub fn from_objects(objects: &[Object], opts: &LoadOptions) -> PolicySet {
        let mut set = PolicySet::default();
        let mut used = vec![false; objects.len()];
        set.policies
            .extend(vap::load(objects, &mut used, &mut set.diagnostics));
        set.policies.extend(gatekeeper::load(
            objects,
            opts,
            &mut used,
            &mut set.diagnostics,
        ));
        for (o, used) in objects.iter().zip(used) {
            if !used {
                set.others.push(inventory_object(o));
            }
        }
        set
    }

    pub fn len(&self) -> usize {
        self.policies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// Evaluates every policy against one request.
    pub fn evaluate(&self, review: &Review<'_>) -> Evaluation {
        let mut out = Evaluation::default();
        for p in &self.policies {
            p.evaluate(review, &mut out);
        }
        out
    }
}

/// The JSON value and source of a loaded object.
pub fn inventory_object(o: &Object) -> InventoryObject {
    InventoryObject {
        value: Arc::new(o.root.to_json()),
        source: Some(source_ref(o)),
    }
}

/// Where a loaded object is defined.
pub fn source_ref(o: &Object) -> SourceRef {
    SourceRef {
        file: o.source.display(),
        line: o.line,
    }
}
