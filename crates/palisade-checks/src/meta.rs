//! Check metadata and the `declare_check!` macro that turns a check's doc comment into its
//! documentation (the Ruff pattern: the doc comment *is* the user documentation).

use palisade_report::{RuleInfo, Severity};

/// Pod Security Standards level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PssLevel {
    Baseline,
    Restricted,
}

impl PssLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PssLevel::Baseline => "baseline",
            PssLevel::Restricted => "restricted",
        }
    }
}

/// How a check relates to a Pod Security Standards control.
#[derive(Clone, Copy, Debug)]
pub struct PssControl {
    pub level: PssLevel,
    /// Upstream check ID in `k8s.io/pod-security-admission/policy`, e.g. `capabilities_baseline`.
    pub control: &'static str,
    /// First Kubernetes minor version (1.N) the control exists in.
    pub since: u32,
    /// Baseline controls this restricted control replaces (as upstream `OverrideCheckIDs`).
    pub overrides: &'static [&'static str],
}

/// What a check is about; used for grouping in `palisade checks` and the docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    PodSecurity,
    Workload,
    Image,
    Secrets,
    Network,
    Rbac,
    Namespace,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::PodSecurity => "Pod Security Standards",
            Category::Workload => "Workload hardening",
            Category::Image => "Images",
            Category::Secrets => "Secrets",
            Category::Network => "Network exposure",
            Category::Rbac => "RBAC",
            Category::Namespace => "Namespaces",
        }
    }
}

/// Everything known about a check except its logic.
#[derive(Debug)]
pub struct CheckMeta {
    /// Stable ID: `PSS1nn` baseline, `PSS2nn` restricted, `PAL1nn` workload, `PAL2nn` images,
    /// `PAL3nn` secrets, `PAL4nn` network, `PAL5nn` RBAC, `PAL6nn` namespaces.
    pub id: &'static str,
    /// Kebab-case name, accepted wherever an ID is.
    pub name: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub category: Category,
    pub pss: Option<PssControl>,
    /// CIS Kubernetes Benchmark (v1.9) section, e.g. `5.2.2`.
    pub cis: Option<&'static str>,
    /// NSA/CISA Kubernetes Hardening Guide (v1.2) section.
    pub nsa: Option<&'static str>,
    /// MITRE ATT&CK technique IDs, e.g. `T1611`.
    pub mitre: &'static [&'static str],
    /// The doc comment, in Markdown ("What it does", "Why is this bad?", "Example",
    /// "Use instead", and optionally "Options"/"Notes").
    pub docs: &'static str,
}

impl CheckMeta {
    /// The frameworks the check belongs to: `pss-baseline`, `pss-restricted`, `cis`, `nsa`,
    /// `mitre`.
    pub fn frameworks(&self) -> Vec<&'static str> {
        let mut f = Vec::new();
        if let Some(p) = self.pss {
            f.push(match p.level {
                PssLevel::Baseline => "pss-baseline",
                PssLevel::Restricted => "pss-restricted",
            });
        }
        if self.cis.is_some() {
            f.push("cis");
        }
        if self.nsa.is_some() {
            f.push("nsa");
        }
        if !self.mitre.is_empty() {
            f.push("mitre");
        }
        f
    }

    /// Tags for SARIF and JSON: frameworks with their sections.
    pub fn tags(&self) -> Vec<String> {
        let mut t = Vec::new();
        if let Some(p) = self.pss {
            t.push(format!("pss-{}", p.level.as_str()));
        }
        if let Some(c) = self.cis {
            t.push(format!("cis-{c}"));
        }
        if self.nsa.is_some() {
            t.push("nsa-cisa".to_string());
        }
        for m in self.mitre {
            t.push(format!("mitre-{m}"));
        }
        t
    }

    /// The documentation with the doc-comment indentation removed, plus a generated
    /// "References" section.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for line in self.docs.lines() {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        let mut refs = Vec::new();
        if let Some(p) = self.pss {
            refs.push(format!(
                "- Pod Security Standards, {} level: control `{}` (since v1.{}) — <https://kubernetes.io/docs/concepts/security/pod-security-standards/>",
                p.level.as_str(),
                p.control,
                p.since
            ));
        }
        if let Some(c) = self.cis {
            refs.push(format!("- CIS Kubernetes Benchmark v1.9, section {c}"));
        }
        if let Some(n) = self.nsa {
            refs.push(format!("- NSA/CISA Kubernetes Hardening Guide v1.2: {n}"));
        }
        for m in self.mitre {
            refs.push(format!(
                "- MITRE ATT&CK {m} — <https://attack.mitre.org/techniques/{}/>",
                m.replace('.', "/")
            ));
        }
        if !refs.is_empty() {
            out.push_str("\n## References\n");
            for r in refs {
                out.push_str(&r);
                out.push('\n');
            }
        }
        out
    }

    pub fn help_uri(&self) -> String {
        help_uri(self.id)
    }

    /// The check as an entry of the one catalog: source `pss` for Pod Security Standards
    /// controls, `scan` for the hardening checks.
    pub fn catalog_entry(&self) -> CatalogEntry {
        CatalogEntry {
            source: if self.pss.is_some() { "pss" } else { "scan" },
            category: self.category.as_str().to_string(),
            frameworks: self.frameworks().iter().map(|f| f.to_string()).collect(),
            rule: self.rule_info(self.severity),
        }
    }

    pub fn rule_info(&self, severity: Severity) -> palisade_report::RuleInfo {
        palisade_report::RuleInfo {
            id: self.id.to_string(),
            name: self.name.to_string(),
            title: self.title.to_string(),
            severity,
            docs: self.markdown(),
            tags: self.tags(),
            help_uri: self.help_uri(),
        }
    }
}

/// The Markdown sections every catalog entry's documentation has, in this order ("Notes",
/// "Options" and "References" may follow).
pub const DOC_SECTIONS: [&str; 4] = [
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
];

/// The anchor GitHub gives the heading `### <id>` in docs/checks.md: lower case, letters,
/// digits, `-` and `_` kept, everything else dropped (`CIS-1.2.1` → `cis-121`).
pub fn anchor(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A rule written as a row of a table (the node analyses, the image rules): its
/// documentation in the catalog's fixed sections.
#[derive(Clone, Copy, Debug)]
pub struct TableRule {
    pub id: &'static str,
    pub name: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub what: &'static str,
    pub why: &'static str,
    pub example: &'static str,
    pub fix: &'static str,
}

impl TableRule {
    /// The rule as the catalog and the renderers see it, tagged `tag`.
    pub fn info(&self, tag: &str) -> RuleInfo {
        RuleInfo {
            id: self.id.to_string(),
            name: self.name.to_string(),
            title: self.title.to_string(),
            severity: self.severity,
            docs: format!(
                "## What it does\n{}\n\n## Why is this bad?\n{}\n\n## Example\n{}\n\n## Use instead\n{}\n",
                self.what, self.why, self.example, self.fix
            ),
            tags: vec![tag.to_string()],
            help_uri: help_uri(self.id),
        }
    }
}

/// Where a rule's documentation is published: its section of docs/checks.md.
pub fn help_uri(id: &str) -> String {
    format!(
        "https://github.com/palisade-dev/palisade/blob/main/docs/checks.md#{}",
        anchor(id)
    )
}

/// One rule of the one catalog (see [`crate::registry::Catalog`]), whatever engine emits it:
/// the checks of this crate, RBAC risks, network policy lint, CIS node checks, attack paths.
/// Every ID a command can emit has one.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogEntry {
    /// The engine (and command) that emits it: `pss`, `scan`, `rbac`, `netpol`, `node`,
    /// `paths`, … `palisade checks --source` filters on it.
    pub source: &'static str,
    /// The heading it is listed under in docs/checks.md.
    pub category: String,
    /// Frameworks it belongs to (`pss-baseline`, `cis`, `nsa`, `mitre`, …).
    pub frameworks: Vec<String>,
    /// ID, name, title, default severity, documentation (Markdown with [`DOC_SECTIONS`]),
    /// tags and help URI.
    pub rule: palisade_report::RuleInfo,
}

/// Declares a check: a unit struct whose `META` carries the doc comment as documentation.
///
/// ```text
/// declare_check! {
///     /// ## What it does
///     /// ...
///     pub struct Privileged {
///         id: "PSS101", name: "privileged", title: "Privileged containers",
///         severity: Critical, category: PodSecurity,
///         pss: Some(PssControl { .. }), cis: Some("5.2.2"), nsa: Some("Pod security"), mitre: &["T1611"],
///     }
/// }
/// ```
#[macro_export]
macro_rules! declare_check {
    (
        $(#[doc = $doc:expr])*
        pub struct $name:ident {
            id: $id:expr,
            name: $slug:expr,
            title: $title:expr,
            severity: $sev:ident,
            category: $cat:ident,
            pss: $pss:expr,
            cis: $cis:expr,
            nsa: $nsa:expr,
            mitre: $mitre:expr $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        pub struct $name;
        impl $name {
            pub const META: $crate::CheckMeta = $crate::CheckMeta {
                id: $id,
                name: $slug,
                title: $title,
                severity: $crate::Severity::$sev,
                category: $crate::Category::$cat,
                pss: $pss,
                cis: $cis,
                nsa: $nsa,
                mitre: $mitre,
                docs: concat!($($doc, "\n"),*),
            };
        }
    };
}
