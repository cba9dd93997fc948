//! Arbitrary bytes as a ConstraintTemplate's Rego: loading (OPA-compatibility rewrites,
//! the rewrite of negations, the unsafe-variable check, regorus's parser and compiler) and
//! evaluating the template against a pod must never panic. Seed it with the `rego:` blocks
//! of the Gatekeeper library.
#![no_main]
use libfuzzer_sys::fuzz_target;
use palisade_model::{load_bytes, LoadOptions, Source};
use palisade_policy::{
    AdmissionRequest, Inventory, NoOpinion, Operation, PolicySet, Review, UserInfo,
};

fuzz_target!(|data: &[u8]| {
    let rego = String::from_utf8_lossy(data);
    let body: String = rego.lines().map(|l| format!("        {l}\n")).collect();
    let yaml = format!(
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sfuzz\nspec:\n  crd:\n    spec:\n      names:\n        kind: K8sFuzz\n  targets:\n    - target: admission.k8s.gatekeeper.sh\n      rego: |\n{body}---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sFuzz\nmetadata:\n  name: c\nspec:\n  parameters: {{a: [1, x]}}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: d\nspec:\n  containers: [{{name: c, image: nginx}}]\n"
    );
    let loaded = load_bytes(
        yaml.as_bytes(),
        Source::File("fuzz.yaml".into()),
        &LoadOptions::default(),
    );
    let set = PolicySet::from_objects(&loaded.objects, &palisade_policy::LoadOptions::default());
    for o in loaded.objects.iter().filter(|o| o.kind == "Pod") {
        let req = AdmissionRequest::for_object(
            Some(o.root.to_json()),
            None,
            Operation::Create,
            UserInfo::offline(),
        );
        let _ = set.evaluate(&Review::new(&req, &Inventory::default(), &NoOpinion));
    }
});
