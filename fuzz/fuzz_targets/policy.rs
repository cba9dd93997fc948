//! Loading policies (ValidatingAdmissionPolicy, Gatekeeper templates and constraints) from
//! arbitrary YAML, compiling their CEL and Rego, and evaluating them against every object
//! in the same input must never panic. Seed it with examples/policies.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_model::{load_bytes, LoadOptions, Source};
use palisade_policy::authorizer::RbacSnapshot;
use palisade_policy::{
    inventory_object, AdmissionRequest, Inventory, Operation, PolicySet, Review, UserInfo,
};

fuzz_target!(|data: &[u8]| {
    let loaded = load_bytes(
        data,
        Source::File("fuzz.yaml".into()),
        &LoadOptions::default(),
    );
    let set = PolicySet::from_objects(&loaded.objects, &palisade_policy::LoadOptions::default());
    let inventory = Inventory::new(loaded.objects.iter().map(inventory_object));
    // CEL's `authorizer` answers from the input's RBAC objects through palisade-rbac.
    let rbac = RbacSnapshot::from_inventory(&inventory);
    for o in &loaded.objects {
        for op in [Operation::Create, Operation::Update, Operation::Delete] {
            let (object, old) = match op {
                Operation::Create => (Some(o.root.to_json()), None),
                Operation::Update => (Some(o.root.to_json()), Some(o.root.to_json())),
                _ => (None, Some(o.root.to_json())),
            };
            let req = AdmissionRequest::for_object(object, old, op, UserInfo::offline());
            let _ = set.evaluate(&Review::new(&req, &inventory, &rbac));
        }
    }
});
