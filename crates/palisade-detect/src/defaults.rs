//! The default rule set embedded in the binary: Palisade's own Kubernetes audit rules
//! (`rules/palisade_k8s_audit.yaml`), written in the Falco rule language and tagged with
//! MITRE ATT&CK tactics and techniques. `palisade detect run|serve` load it first unless
//! told not to; rule files given with `--rules` load after it and so can append to, override
//! or switch off its lists, macros and rules.

use crate::rules::RuleSet;

/// The name diagnostics and `detect rules list` give the embedded file.
pub const K8S_AUDIT_FILE: &str = "<built-in>/palisade_k8s_audit.yaml";

/// The embedded rule file's text.
pub const K8S_AUDIT_RULES: &str = include_str!("../rules/palisade_k8s_audit.yaml");

/// Every embedded rule file, in load order: (name, text).
pub const FILES: &[(&str, &str)] = &[(K8S_AUDIT_FILE, K8S_AUDIT_RULES)];

/// Loads the default rules into `set`.
pub fn load(set: &mut RuleSet) {
    for (name, text) in FILES {
        set.load(name, text);
    }
}

/// A rule set of the defaults alone.
pub fn ruleset() -> RuleSet {
    let mut set = RuleSet::new();
    load(&mut set);
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;

    #[test]
    fn defaults_compile_cleanly_and_are_mapped_to_mitre() {
        let e = Engine::from_ruleset(&ruleset());
        let diags: Vec<String> = e.compiled.diags.iter().map(|d| d.to_string()).collect();
        assert!(diags.is_empty(), "{diags:#?}");
        assert!(e.rules().len() >= 30, "{}", e.rules().len());
        for r in e.rules() {
            let r = &r.rule;
            assert_eq!(r.source, "k8s_audit", "{}", r.name);
            assert!(
                r.tags.iter().any(|t| t.starts_with("mitre_")),
                "{} has no MITRE tactic",
                r.name
            );
            assert!(
                r.tags.iter().any(|t| t.len() >= 5
                    && t.starts_with('T')
                    && t[1..5].bytes().all(|b| b.is_ascii_digit())),
                "{} has no MITRE technique",
                r.name
            );
            assert!(!r.desc.trim().is_empty(), "{} has no description", r.name);
        }
    }
}
