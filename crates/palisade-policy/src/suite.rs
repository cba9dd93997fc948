//! Results of policy test suites, shared by the Gatekeeper `gator verify` runner
//! ([`crate::gatekeeper::suite`]) and the native ValidatingAdmissionPolicy test runner
//! ([`crate::vap::suite`]). `palisade policy test` prints them.

use serde::Serialize;

use crate::decision::EngineKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseStatus {
    Pass,
    Fail,
    /// Could not run (a broken template, a missing file): counts as a failure.
    Error,
    /// Deliberately not run (`skip: true` in the suite); the reason is in `detail`.
    Skip,
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// The suite file.
    pub file: String,
    /// The test (a gator `tests[].name`; a VAP test's policy).
    pub test: String,
    /// The case name.
    pub case: String,
    /// Which engine evaluated it (a template with Rego and CEL runs once per engine).
    pub engine: Option<EngineKind>,
    pub status: CaseStatus,
    /// Why it failed, errored or was skipped; empty when it passed.
    pub detail: String,
}

/// The outcome of one suite file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SuiteReport {
    pub file: String,
    pub cases: Vec<CaseResult>,
}

impl SuiteReport {
    pub fn passed(&self) -> usize {
        self.count(CaseStatus::Pass)
    }

    pub fn count(&self, s: CaseStatus) -> usize {
        self.cases.iter().filter(|c| c.status == s).count()
    }

    /// No case failed or errored.
    pub fn ok(&self) -> bool {
        self.cases
            .iter()
            .all(|c| matches!(c.status, CaseStatus::Pass | CaseStatus::Skip))
    }
}

/// The kind of a Palisade ValidatingAdmissionPolicy test file.
pub const VAP_TEST_KIND: &str = crate::vap::suite::SUITE_KIND;
/// The API group of a Palisade ValidatingAdmissionPolicy test file.
pub const VAP_TEST_GROUP: &str = "palisade.dev/";

/// The kinds of test files `palisade policy test` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum SuiteKind {
    /// A Gatekeeper `gator verify` suite (`kind: Suite`, `test.gatekeeper.sh/v1alpha1`).
    Gator,
    /// A Palisade ValidatingAdmissionPolicy test file (see docs/policy-tests.md).
    Vap,
}

/// A test file found by [`discover`].
#[derive(Clone, Debug)]
pub struct SuiteFile {
    pub path: std::path::PathBuf,
    pub kind: SuiteKind,
}

/// Finds test files: files given explicitly must be suites (anything else is an error
/// diagnostic); directories are searched recursively for YAML files whose
/// documents include a suite, in path order. Other files in directories (templates,
/// samples) are ignored, as `gator verify` ignores them.
pub fn discover(paths: &[std::path::PathBuf]) -> (Vec<SuiteFile>, Vec<palisade_model::Diagnostic>) {
    use palisade_model::{Diagnostic, Level};
    let mut found = Vec::new();
    let mut diags = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files = Vec::new();
            collect_files(p, &mut files, &mut diags);
            files.sort();
            for f in files {
                if let Some(kind) = suite_kind(&f) {
                    found.push(SuiteFile { path: f, kind });
                }
            }
        } else if p.exists() {
            match suite_kind(p) {
                Some(kind) => found.push(SuiteFile {
                    path: p.clone(),
                    kind,
                }),
                None => diags.push(Diagnostic::new(
                    Level::Error,
                    p.display().to_string(),
                    0,
                    "not a test suite: expected a gator `kind: Suite` (test.gatekeeper.sh) or a Palisade `kind: PolicyTest` file",
                )),
            }
        } else {
            diags.push(Diagnostic::new(
                Level::Error,
                p.display().to_string(),
                0,
                "no such file or directory",
            ));
        }
    }
    (found, diags)
}

fn collect_files(
    dir: &std::path::Path,
    out: &mut Vec<std::path::PathBuf>,
    diags: &mut Vec<palisade_model::Diagnostic>,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(palisade_model::Diagnostic::new(
                palisade_model::Level::Error,
                dir.display().to_string(),
                0,
                format!("cannot read directory: {e}"),
            ));
            return;
        }
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() => collect_files(&path, out, diags),
            Ok(t)
                if t.is_file()
                    && path
                        .extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| matches!(x, "yaml" | "yml")) =>
            {
                out.push(path)
            }
            _ => {}
        }
    }
}

/// Whether a file is a test suite, by the kind of its documents. Cheap: only the top-level
/// `apiVersion`/`kind` lines are looked at, so large sample files are not parsed.
fn suite_kind(path: &std::path::Path) -> Option<SuiteKind> {
    let text = std::fs::read_to_string(path).ok()?;
    // (apiVersion, kind) of each document, from its top-level lines.
    let mut docs: Vec<(String, String)> = vec![Default::default()];
    for line in text.lines() {
        if line.starts_with("---") {
            docs.push(Default::default());
            continue;
        }
        let unquote = |v: &str| v.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
        let doc = docs.last_mut().expect("never empty");
        if let Some(v) = line.strip_prefix("apiVersion:") {
            doc.0 = unquote(v);
        } else if let Some(v) = line.strip_prefix("kind:") {
            doc.1 = unquote(v);
        }
    }
    docs.iter().find_map(|(api, kind)| {
        if kind == "Suite" && api.starts_with("test.gatekeeper.sh/") {
            Some(SuiteKind::Gator)
        } else if kind == VAP_TEST_KIND && api.starts_with(VAP_TEST_GROUP) {
            Some(SuiteKind::Vap)
        } else {
            None
        }
    })
}
