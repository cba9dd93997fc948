//! `gator verify` suites: `kind: Suite`, `apiVersion: test.gatekeeper.sh/v1alpha1`.
//!
//! Semantics follow gator (`pkg/gator/verify`):
//!
//! - each test loads one template and one constraint (paths relative to the suite file);
//!   `invalid: true` expects the constraint to be refused;
//! - each case reviews the single object in `object` (a file holding several objects is
//!   an error); an `admission.k8s.io` `AdmissionReview` is reviewed as the request it
//!   carries, any other object as a CREATE of it, with the namespace it declares and no
//!   user;
//! - `inventory` files become `data.inventory` (the reviewed object is not added), and a
//!   Namespace among them is the one `namespaceSelector` reads;
//! - every result counts: violations, and the errors Gatekeeper turns into results
//!   (Rego runtime errors, undecidable matches);
//! - each assertion counts the results whose message matches `message` (a regular
//!   expression, unanchored; all results when unset) and compares with `violations`:
//!   an integer (exactly), `yes` (at least one; the default) or `no` (none); a case needs
//!   at least one assertion;
//! - `skip: true` on a suite, test or case skips it; `expansion` is not supported and
//!   errors.

use palisade_model::{load_file, Level, LoadOptions as ModelLoadOptions, Object};
use serde_json::Value;
use std::path::{Path, PathBuf};

use super::template::{self, is_constraint, is_template};
use crate::decision::EngineKind;
use crate::request::{split_api_version, str_at, AdmissionRequest, Operation, UserInfo};
use crate::suite::{CaseResult, CaseStatus, SuiteKind, SuiteReport};
use crate::{inventory_object, Inventory, LoadOptions, NoOpinion, Policy, Review, TemplateEngine};

/// The API group of gator suites.
pub const SUITE_GROUP: &str = "test.gatekeeper.sh";

/// Runs every gator suite found under `paths` (directories are searched recursively,
/// in path order).
pub fn run_paths(paths: &[PathBuf], engine: TemplateEngine) -> Vec<SuiteReport> {
    let (files, diags) = crate::suite::discover(paths);
    let mut out: Vec<SuiteReport> = diags
        .into_iter()
        .map(|d| SuiteReport {
            file: d.source.clone(),
            cases: vec![error_case(&d.source, "", "", None, d.message)],
        })
        .collect();
    out.extend(
        files
            .into_iter()
            .filter(|f| f.kind == SuiteKind::Gator)
            .map(|f| run_suite(&f.path, engine)),
    );
    out
}

/// The reason of a case skipped because its template has no code for the engine asked
/// for (as opposed to `skip: true`).
const NO_CODE_FOR_ENGINE: &str = "the template has no";

/// Runs a suite once per engine its templates carry: Rego for templates with Rego code,
/// CEL for templates with `K8sNativeValidation` code (both for templates with both).
/// Each case result names its engine.
pub fn run_suite_all_engines(path: &Path) -> SuiteReport {
    let rego = run_suite(path, TemplateEngine::Rego);
    let cel = run_suite(path, TemplateEngine::Cel);
    let engine_skip =
        |c: &CaseResult| c.status == CaseStatus::Skip && c.detail.starts_with(NO_CODE_FOR_ENGINE);
    let mut cases: Vec<CaseResult> = rego.cases.into_iter().filter(|c| !engine_skip(c)).collect();
    for c in cel.cases.into_iter().filter(|c| !engine_skip(c)) {
        // Problems that do not depend on the engine (a missing file) are reported once.
        let same = |r: &CaseResult| {
            r.test == c.test && r.case == c.case && r.status == c.status && r.detail == c.detail
        };
        if c.status == CaseStatus::Pass || !cases.iter().any(same) {
            cases.push(c);
        }
    }
    SuiteReport {
        file: rego.file,
        cases,
    }
}

/// Runs every gator suite under a directory.
pub fn run_dir(dir: &Path, engine: TemplateEngine) -> Vec<SuiteReport> {
    run_paths(&[dir.to_path_buf()], engine)
}

fn error_case(
    file: &str,
    test: &str,
    case: &str,
    engine: Option<EngineKind>,
    detail: String,
) -> CaseResult {
    CaseResult {
        file: file.to_string(),
        test: test.to_string(),
        case: case.to_string(),
        engine,
        status: CaseStatus::Error,
        detail,
    }
}

fn requested_engine(engine: TemplateEngine) -> Option<EngineKind> {
    match engine {
        TemplateEngine::Auto => None,
        TemplateEngine::Rego => Some(EngineKind::Rego),
        TemplateEngine::Cel => Some(EngineKind::Cel),
    }
}

/// Exactly one object from a file, or why not.
fn one_object(path: &Path, what: &str) -> Result<Object, String> {
    let objects = objects_of(path, what)?;
    match <[Object; 1]>::try_from(objects) {
        Ok([o]) => Ok(o),
        Err(objects) => Err(format!(
            "{what} {} defines {} objects; exactly one is expected",
            path.display(),
            objects.len()
        )),
    }
}

/// All objects of a file; a file with errors or without objects is an error.
fn objects_of(path: &Path, what: &str) -> Result<Vec<Object>, String> {
    let loaded = load_file(path, &ModelLoadOptions::default());
    if let Some(d) = loaded.diagnostics.iter().find(|d| d.level == Level::Error) {
        return Err(format!("{what}: {d}"));
    }
    if loaded.objects.is_empty() {
        return Err(format!("{what} {} defines no objects", path.display()));
    }
    Ok(loaded.objects)
}

fn string_field<'a>(n: &'a palisade_model::Node, key: &str) -> Option<&'a str> {
    n.get(key)
        .and_then(palisade_model::Node::as_str)
        .filter(|s| !s.is_empty())
}

/// A test or case name; YAML 1.1 reads some bare words as booleans or numbers.
fn name_field(n: &palisade_model::Node) -> Option<String> {
    n.get("name")
        .and_then(palisade_model::Node::scalar_string)
        .filter(|s| !s.is_empty())
}

fn skip_field(n: &palisade_model::Node) -> bool {
    n.get("skip").and_then(palisade_model::Node::as_bool) == Some(true)
}

/// Runs one suite file.
pub fn run_suite(path: &Path, engine: TemplateEngine) -> SuiteReport {
    let file = path.display().to_string();
    let mut report = SuiteReport {
        file: file.clone(),
        cases: Vec::new(),
    };
    let suite = match one_object(path, "suite") {
        Ok(o) => o,
        Err(e) => {
            report
                .cases
                .push(error_case(&file, "", "", requested_engine(engine), e));
            return report;
        }
    };
    if suite.group() != SUITE_GROUP || suite.kind != "Suite" {
        report.cases.push(error_case(
            &file,
            "",
            "",
            requested_engine(engine),
            format!(
                "not a gator suite: {}/{} (expected {SUITE_GROUP}/*, kind Suite)",
                suite.api_version, suite.kind
            ),
        ));
        return report;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let suite_skipped = skip_field(&suite.root);
    for (ti, test) in suite
        .root
        .get("tests")
        .map(|t| t.items())
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let name = name_field(test).unwrap_or_else(|| format!("tests[{ti}]"));
        let skip = if suite_skipped {
            Some("skip: true (suite)")
        } else if skip_field(test) {
            Some("skip: true (test)")
        } else {
            None
        };
        run_test(&file, dir, &name, test, skip, engine, &mut report.cases);
    }
    if report.cases.is_empty() {
        report.cases.push(CaseResult {
            file: file.clone(),
            test: String::new(),
            case: String::new(),
            engine: requested_engine(engine),
            status: if suite_skipped {
                CaseStatus::Skip
            } else {
                CaseStatus::Pass
            },
            detail: if suite_skipped {
                "skip: true (suite)".into()
            } else {
                "no tests".into()
            },
        });
    }
    report
}

fn case_names(test: &palisade_model::Node) -> Vec<(String, &palisade_model::Node)> {
    test.get("cases")
        .map(|c| c.items())
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, c)| (name_field(c).unwrap_or_else(|| format!("cases[{i}]")), c))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn all_cases(
    file: &str,
    test_name: &str,
    test: &palisade_model::Node,
    engine: Option<EngineKind>,
    status: CaseStatus,
    detail: &str,
    out: &mut Vec<CaseResult>,
) {
    let mut names: Vec<String> = case_names(test).into_iter().map(|(n, _)| n).collect();
    if names.is_empty() {
        names.push(String::new());
    }
    for case in names {
        out.push(CaseResult {
            file: file.to_string(),
            test: test_name.to_string(),
            case,
            engine,
            status,
            detail: detail.to_string(),
        });
    }
}

fn run_test(
    file: &str,
    dir: &Path,
    test_name: &str,
    test: &palisade_model::Node,
    skip: Option<&str>,
    engine: TemplateEngine,
    out: &mut Vec<CaseResult>,
) {
    let requested = requested_engine(engine);
    if let Some(why) = skip {
        all_cases(file, test_name, test, requested, CaseStatus::Skip, why, out);
        return;
    }
    let fail = |out: &mut Vec<CaseResult>, detail: String| {
        all_cases(
            file,
            test_name,
            test,
            requested,
            CaseStatus::Error,
            &detail,
            out,
        );
    };
    if test
        .get("expansion")
        .and_then(palisade_model::Node::as_str)
        .is_some_and(|s| !s.is_empty())
    {
        fail(
            out,
            "expansion templates (`expansion`) are not supported".into(),
        );
        return;
    }
    let Some(template_path) = string_field(test, "template") else {
        fail(out, "invalid suite: missing template".into());
        return;
    };
    let template_obj = match one_object(&dir.join(template_path), "template") {
        Ok(o) => o,
        Err(e) => return fail(out, e),
    };
    if !is_template(&template_obj) {
        fail(
            out,
            format!(
                "template {template_path} is a {}/{}, not a ConstraintTemplate",
                template_obj.api_version, template_obj.kind
            ),
        );
        return;
    }
    // A template without code for the engine asked for is skipped when it has code for
    // the other one (a template with no code at all is a load error below).
    let (has_rego, has_cel) = template::engines_of(&template_obj.root);
    match engine {
        TemplateEngine::Cel if !has_cel && has_rego => {
            let why =
                format!("{NO_CODE_FOR_ENGINE} K8sNativeValidation code to run with the CEL engine");
            all_cases(
                file,
                test_name,
                test,
                requested,
                CaseStatus::Skip,
                &why,
                out,
            );
            return;
        }
        TemplateEngine::Rego if !has_rego && has_cel => {
            let why = format!("{NO_CODE_FOR_ENGINE} Rego code to run with the Rego engine");
            all_cases(
                file,
                test_name,
                test,
                requested,
                CaseStatus::Skip,
                &why,
                out,
            );
            return;
        }
        _ => {}
    }
    let Some(constraint_path) = string_field(test, "constraint") else {
        fail(out, "invalid suite: missing constraint".into());
        return;
    };
    let constraint_obj = match one_object(&dir.join(constraint_path), "constraint") {
        Ok(o) => o,
        Err(e) => return fail(out, e),
    };
    if !is_constraint(&constraint_obj) {
        fail(
            out,
            format!(
                "{constraint_path} is not a constraint (group {})",
                template::CONSTRAINT_GROUP
            ),
        );
        return;
    }
    let objects = [template_obj, constraint_obj];
    let mut used = [false; 2];
    let mut diags = Vec::new();
    let opts = LoadOptions {
        template_engine: engine,
    };
    let policies = super::load(&objects, &opts, &mut used, &mut diags);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.level == Level::Error)
        .map(ToString::to_string)
        .collect();
    let invalid = test.get("invalid").and_then(palisade_model::Node::as_bool) == Some(true);
    let engine_kind = policies.first().map(|p| p.engine()).or(requested);
    if invalid {
        // The constraint must be refused (and the template accepted).
        let constraint_refused = !errors.is_empty()
            && policies.is_empty()
            && diags
                .iter()
                .any(|d| d.level == Level::Error && d.message.starts_with("constraint "));
        out.push(CaseResult {
            file: file.to_string(),
            test: test_name.to_string(),
            case: "invalid constraint".into(),
            engine: engine_kind,
            status: if constraint_refused {
                CaseStatus::Pass
            } else {
                CaseStatus::Fail
            },
            detail: if constraint_refused {
                String::new()
            } else if errors.is_empty() {
                "the constraint was accepted, but the test says it is invalid".into()
            } else {
                format!(
                    "expected the constraint to be refused, got: {}",
                    errors.join("; ")
                )
            },
        });
        return;
    }
    if !errors.is_empty() || policies.len() != 1 {
        let detail = if errors.is_empty() {
            format!("expected one constraint, loaded {}", policies.len())
        } else {
            errors.join("; ")
        };
        all_cases(
            file,
            test_name,
            test,
            engine_kind,
            CaseStatus::Error,
            &detail,
            out,
        );
        return;
    }
    let policy = &policies[0];
    for (case_name, case) in case_names(test) {
        let (status, detail) = if skip_field(case) {
            (CaseStatus::Skip, "skip: true (case)".to_string())
        } else {
            match run_case(dir, case, policy.as_ref()) {
                Ok(()) => (CaseStatus::Pass, String::new()),
                Err(CaseError::Fail(d)) => (CaseStatus::Fail, d),
                Err(CaseError::Error(d)) => (CaseStatus::Error, d),
            }
        };
        out.push(CaseResult {
            file: file.to_string(),
            test: test_name.to_string(),
            case: case_name,
            engine: engine_kind,
            status,
            detail,
        });
    }
}

enum CaseError {
    Fail(String),
    Error(String),
}

/// The request for a case's object: the request of an AdmissionReview, else a CREATE of
/// the object as gator builds it.
fn request_for(o: &Object) -> Result<AdmissionRequest, String> {
    let value = o.root.to_json();
    if o.kind == "AdmissionReview" && o.group() == "admission.k8s.io" {
        let Some(Value::Object(req)) = value.get("request").cloned() else {
            return Err("the AdmissionReview has no request".into());
        };
        let mut req = Value::Object(req);
        // Fields an API server always sends; default them rather than refuse the case.
        if let Value::Object(m) = &mut req {
            m.entry("kind")
                .or_insert_with(|| Value::Object(Default::default()));
            m.entry("resource")
                .or_insert_with(|| Value::Object(Default::default()));
            m.entry("operation")
                .or_insert_with(|| Value::String("CREATE".into()));
            if let Some(Value::String(op)) = m.get_mut("operation") {
                *op = op.to_ascii_uppercase();
            }
        }
        let request: AdmissionRequest = serde_json::from_value(req)
            .map_err(|e| format!("the AdmissionReview's request is not valid: {e}"))?;
        let is_set = |v: &Option<Value>| v.as_ref().is_some_and(|v| !v.is_null());
        if !is_set(&request.object) && !is_set(&request.old_object) {
            return Err("the AdmissionRequest has no object or oldObject to review".into());
        }
        if request.operation == Operation::Delete && !is_set(&request.old_object) {
            return Err("oldObject cannot be empty for DELETE operations".into());
        }
        return Ok(request);
    }
    let api_version = str_at(&value, &["apiVersion"]).unwrap_or("");
    let (_, version) = split_api_version(api_version);
    if version.is_empty() {
        return Err(format!("{} has no version", o.name));
    }
    let name = str_at(&value, &["metadata", "name"])
        .unwrap_or("")
        .to_string();
    let namespace = str_at(&value, &["metadata", "namespace"])
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let mut request =
        AdmissionRequest::for_object(Some(value), None, Operation::Create, UserInfo::default());
    request.name = name;
    request.namespace = namespace;
    Ok(request)
}

fn run_case(dir: &Path, case: &palisade_model::Node, policy: &dyn Policy) -> Result<(), CaseError> {
    let Some(object_path) = string_field(case, "object") else {
        return Err(CaseError::Error("invalid case: must define object".into()));
    };
    let assertions = case.get("assertions").map(|a| a.items()).unwrap_or(&[]);
    if assertions.is_empty() {
        return Err(CaseError::Error(
            "invalid case: assertions must be non-empty".into(),
        ));
    }
    let object = one_object(&dir.join(object_path), "object").map_err(CaseError::Error)?;
    let request = request_for(&object).map_err(CaseError::Error)?;
    let mut inventory_objects = Vec::new();
    for inv in case.get("inventory").map(|i| i.items()).unwrap_or(&[]) {
        let Some(p) = inv.as_str() else {
            return Err(CaseError::Error(
                "invalid case: inventory entries must be file paths".into(),
            ));
        };
        let objects = objects_of(&dir.join(p), "inventory").map_err(CaseError::Error)?;
        inventory_objects.extend(objects.iter().map(inventory_object));
    }
    let inventory = Inventory::new(inventory_objects);
    let review = Review::new(&request, &inventory, &NoOpinion);
    let mut evaluation = crate::Evaluation::default();
    policy.evaluate(&review, &mut evaluation);
    let messages: Vec<&str> = evaluation
        .decisions
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    for (i, a) in assertions.iter().enumerate() {
        check_assertion(i, a, &messages).map_err(|e| match e {
            AssertionError::Invalid(d) => CaseError::Error(d),
            AssertionError::Mismatch(d) => {
                let mut detail = format!("{d}: got messages {messages:?}");
                for err in &evaluation.errors {
                    detail.push_str(&format!("; ignored error: {}", err.message));
                }
                CaseError::Fail(detail)
            }
        })?;
    }
    Ok(())
}

enum AssertionError {
    Invalid(String),
    Mismatch(String),
}

enum Want {
    Exactly(u64),
    Yes,
    No,
}

fn check_assertion(
    i: usize,
    a: &palisade_model::Node,
    messages: &[&str],
) -> Result<(), AssertionError> {
    use palisade_model::Value as V;
    let at = format!("assertions[{i}]");
    let invalid = |what: &str| {
        AssertionError::Invalid(format!(
            "{at}.violations: {what}; it must be a nonnegative integer, \"yes\", or \"no\""
        ))
    };
    let want = match a.get("violations").map(|v| &v.value) {
        None | Some(V::Null) => Want::Yes,
        Some(V::Int(n)) if *n >= 0 => Want::Exactly(*n as u64),
        Some(V::Int(n)) => return Err(invalid(&n.to_string())),
        // YAML 1.1 reads bare yes/no as booleans.
        Some(V::Bool(true)) => Want::Yes,
        Some(V::Bool(false)) => Want::No,
        Some(V::Str(s)) if s == "yes" => Want::Yes,
        Some(V::Str(s)) if s == "no" => Want::No,
        Some(V::Str(s)) => match s.parse::<u64>() {
            Ok(n) => Want::Exactly(n),
            Err(_) => return Err(invalid(&format!("{s:?}"))),
        },
        Some(_) => return Err(invalid("not a scalar")),
    };
    let message = match a.get("message") {
        None => None,
        Some(m) => match m.scalar_string() {
            Some(s) => Some(s),
            None if m.is_null() => None,
            None => {
                return Err(AssertionError::Invalid(format!(
                    "{at}.message: expected a string"
                )))
            }
        },
    };
    let regex = match &message {
        Some(m) => Some(regex::Regex::new(m).map_err(|e| {
            AssertionError::Invalid(format!("{at}.message: invalid regular expression: {e}"))
        })?),
        None => None,
    };
    let matching = messages
        .iter()
        .filter(|m| regex.as_ref().is_none_or(|r| r.is_match(m)))
        .count() as u64;
    let containing = message
        .as_ref()
        .map(|m| format!(" containing {m:?}"))
        .unwrap_or_default();
    match want {
        Want::Exactly(n) if matching != n => Err(AssertionError::Mismatch(format!(
            "{at}: got {matching} violations{containing} but want exactly {n}"
        ))),
        Want::Yes if matching == 0 => Err(AssertionError::Mismatch(format!(
            "{at}: got 0 violations{containing} but want at least 1"
        ))),
        Want::No if matching > 0 => Err(AssertionError::Mismatch(format!(
            "{at}: got {matching} violations{containing} but want none"
        ))),
        _ => Ok(()),
    }
}
