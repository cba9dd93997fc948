//! Policy evaluation throughput: every Gatekeeper library template (with the constraints of
//! its samples) and every kubescape CEL admission policy, against every workload in
//! `../shared/corpus`. One evaluation = one policy reviewing one object (an admission
//! CREATE). Prints evaluations/s per engine and p50/p99/max per evaluation.
//!
//!     cargo bench -p palisade-policy --bench policy [-- SHARED_DIR]

use palisade_model::{load_paths, LoadOptions, Object};
use palisade_policy::{
    inventory_object, AdmissionRequest, Evaluation, Inventory, NoOpinion, Operation, PolicySet,
    Review, TemplateEngine, UserInfo,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn files_named(dir: &Path, pred: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_named(&p, pred, out);
        } else if pred(&p) {
            out.push(p);
        }
    }
}

fn load(paths: &[PathBuf]) -> Vec<Object> {
    load_paths(paths, &LoadOptions::default()).objects
}

struct Run {
    name: String,
    policies: usize,
    times: Vec<Duration>,
    decisions: usize,
}

fn measure(name: &str, set: &PolicySet, workloads: &[Object], inventory: &Inventory) -> Run {
    let requests: Vec<AdmissionRequest> = workloads
        .iter()
        .map(|o| {
            AdmissionRequest::for_object(
                Some(o.root.to_json()),
                None,
                Operation::Create,
                UserInfo::offline(),
            )
        })
        .collect();
    // Warm-up: one pass, untimed.
    for r in &requests {
        let _ = set.evaluate(&Review::new(r, inventory, &NoOpinion));
    }
    let mut times = Vec::with_capacity(requests.len() * set.len());
    let mut decisions = 0;
    for r in &requests {
        let review = Review::new(r, inventory, &NoOpinion);
        for p in &set.policies {
            let mut out = Evaluation::default();
            let t = Instant::now();
            p.evaluate(&review, &mut out);
            times.push(t.elapsed());
            decisions += out.decisions.len();
        }
    }
    Run {
        name: name.to_string(),
        policies: set.len(),
        times,
        decisions,
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    let shared = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    let gk = shared.join("conformance/gatekeeper/library");
    let mut gk_files = Vec::new();
    files_named(
        &gk,
        &|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n == "template.yaml" || n == "constraint.yaml"
        },
        &mut gk_files,
    );
    let gk_objects = load(&gk_files);
    let cel_dir = shared.join("conformance/cel-admission");
    let mut cel_files = Vec::new();
    files_named(
        &cel_dir.join("controls"),
        &|p| p.ends_with("policy.yaml"),
        &mut cel_files,
    );
    cel_files.push(cel_dir.join("configuration/basic-control-configuration.yaml"));
    let mut cel_objects = load(&cel_files);
    // One Deny binding per policy, with the basic control configuration as params.
    let mut bindings = String::new();
    for o in &cel_objects {
        if o.kind == "ValidatingAdmissionPolicy" {
            let param = if o.root.at(&["spec", "paramKind"]).is_some() {
                "  paramRef:\n    name: basic-control-configuration\n    parameterNotFoundAction: Deny\n"
            } else {
                ""
            };
            bindings.push_str(&format!(
                "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata:\n  name: bench-{0}\nspec:\n  policyName: {0}\n  validationActions: [Deny]\n{param}",
                o.name
            ));
        }
    }
    cel_objects.extend(
        palisade_model::load_bytes(
            bindings.as_bytes(),
            palisade_model::Source::File("bench-bindings.yaml".into()),
            &LoadOptions::default(),
        )
        .objects,
    );

    let corpus = load(&[shared.join("corpus")]);
    let workloads: Vec<Object> = corpus
        .iter()
        .filter(|o| o.pod().is_some())
        .cloned()
        .collect();
    let inventory = Inventory::new(
        corpus
            .iter()
            .chain(cel_objects.iter())
            .map(inventory_object),
    );
    println!(
        "corpus: {} objects, {} workloads; gatekeeper: {} files; cel-admission: {} policies",
        corpus.len(),
        workloads.len(),
        gk_files.len(),
        cel_objects
            .iter()
            .filter(|o| o.kind == "ValidatingAdmissionPolicy")
            .count()
    );

    let t = Instant::now();
    let rego = PolicySet::from_objects(
        &gk_objects,
        &palisade_policy::LoadOptions {
            template_engine: TemplateEngine::Rego,
        },
    );
    let rego_load = t.elapsed();
    let t = Instant::now();
    let gk_cel = PolicySet::from_objects(
        &gk_objects,
        &palisade_policy::LoadOptions {
            template_engine: TemplateEngine::Cel,
        },
    );
    let gk_cel_load = t.elapsed();
    let t = Instant::now();
    let vap = PolicySet::from_objects(&cel_objects, &palisade_policy::LoadOptions::default());
    let vap_load = t.elapsed();
    println!(
        "load+compile: rego {} constraints in {:.1} ms; gatekeeper-cel {} in {:.1} ms; vap {} in {:.1} ms",
        rego.len(),
        rego_load.as_secs_f64() * 1e3,
        gk_cel.len(),
        gk_cel_load.as_secs_f64() * 1e3,
        vap.len(),
        vap_load.as_secs_f64() * 1e3
    );

    let runs = [
        measure("gatekeeper (rego)", &rego, &workloads, &inventory),
        measure("gatekeeper (cel)", &gk_cel, &workloads, &inventory),
        measure("vap (cel)", &vap, &workloads, &inventory),
    ];
    println!(
        "\n{:<20} {:>8} {:>11} {:>10} {:>13} {:>9} {:>9} {:>9}",
        "engine", "policies", "evaluations", "decisions", "evals/s", "p50 µs", "p99 µs", "max µs"
    );
    for mut r in runs {
        let total: Duration = r.times.iter().sum();
        r.times.sort();
        let rate = r.times.len() as f64 / total.as_secs_f64().max(1e-9);
        println!(
            "{:<20} {:>8} {:>11} {:>10} {:>13.0} {:>9.1} {:>9.1} {:>9.1}",
            r.name,
            r.policies,
            r.times.len(),
            r.decisions,
            rate,
            pct(&r.times, 0.5).as_secs_f64() * 1e6,
            pct(&r.times, 0.99).as_secs_f64() * 1e6,
            r.times.last().copied().unwrap_or_default().as_secs_f64() * 1e6
        );
    }
}
