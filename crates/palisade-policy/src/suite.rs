//! Results of policy test suites, shared by the Gatekeeper `gator verify` runner
//! ([`crate::gatekeeper::suite`]) and the native ValidatingAdmissionPolicy test runner
//! ([`crate::vap::suite`]). `palisade policy test` prints them.

use serde::Serialize;

use crate::decision::EngineKind;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
