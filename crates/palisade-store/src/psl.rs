//! Registered domains (eTLD+1) from the public suffix list, as its format document defines the
//! algorithm: the longest matching rule wins, `*` matches one label, `!` rules are exceptions,
//! and an unlisted TLD is a suffix of one label (the implicit `*` rule).
//!
//! The list is read from Debian's `publicsuffix` package
//! (`/usr/share/publicsuffix/public_suffix_list.dat`) or any file given.

use std::collections::HashSet;
use std::path::Path;

pub const DEBIAN_LIST: &str = "/usr/share/publicsuffix/public_suffix_list.dat";

#[derive(Clone, Debug, Default)]
pub struct SuffixList {
    rules: HashSet<String>,
    wildcards: HashSet<String>,
    exceptions: HashSet<String>,
}

impl SuffixList {
    /// Parses the list's text (comments `//`, one rule a line, first whitespace ends a rule).
    pub fn parse(text: &str) -> SuffixList {
        let mut l = SuffixList::default();
        for line in text.lines() {
            let rule = line.split_whitespace().next().unwrap_or("");
            if rule.is_empty() || rule.starts_with("//") {
                continue;
            }
            let rule = rule.to_ascii_lowercase();
            if let Some(r) = rule.strip_prefix('!') {
                l.exceptions.insert(r.to_string());
            } else if let Some(r) = rule.strip_prefix("*.") {
                l.wildcards.insert(r.to_string());
            } else {
                l.rules.insert(rule);
            }
        }
        l
    }

    /// Reads the list from a file.
    pub fn load(path: &Path) -> std::io::Result<SuffixList> {
        Ok(SuffixList::parse(&std::fs::read_to_string(path)?))
    }

    /// Debian's list when installed, else an empty list (every TLD a one-label suffix).
    pub fn system() -> SuffixList {
        SuffixList::load(Path::new(DEBIAN_LIST)).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.wildcards.is_empty() && self.exceptions.is_empty()
    }

    /// The number of labels of the public suffix of `labels` (a lower-case name split at dots).
    fn suffix_len(&self, name: &str) -> usize {
        let labels: Vec<&str> = name.split('.').collect();
        let n = labels.len();
        let mut best = 1; // the implicit `*` rule
        for k in 1..=n {
            let suffix = labels[n - k..].join(".");
            if self.exceptions.contains(&suffix) {
                return k - 1;
            }
            if self.rules.contains(&suffix) {
                best = best.max(k);
            }
            if k < n {
                let parent = labels[n - k..].join(".");
                if self.wildcards.contains(&parent) {
                    best = best.max(k + 1);
                }
            }
        }
        best
    }

    /// The registered domain (public suffix plus one label) of a DNS name; the name itself
    /// when it is a public suffix or has a single label.
    pub fn registered_domain(&self, name: &str) -> String {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() {
            return name;
        }
        let labels = name.split('.').count();
        let k = self.suffix_len(&name);
        if k >= labels {
            return name;
        }
        name.split('.')
            .skip(labels - k - 1)
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_wildcards_and_exceptions() {
        let l = SuffixList::parse(
            "// comment\ncom\nuk\nco.uk\n*.ck\n!www.ck\n*.compute.amazonaws.com\n",
        );
        assert_eq!(l.registered_domain("api.example.com."), "example.com");
        assert_eq!(l.registered_domain("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(l.registered_domain("foo.bar.ck"), "foo.bar.ck");
        assert_eq!(l.registered_domain("x.www.ck"), "www.ck");
        assert_eq!(
            l.registered_domain("ec2-1.eu-west-1.compute.amazonaws.com"),
            "ec2-1.eu-west-1.compute.amazonaws.com"
        );
        assert_eq!(l.registered_domain("a.b.unlisted"), "b.unlisted");
        assert_eq!(l.registered_domain("localhost"), "localhost");
        assert_eq!(
            l.registered_domain("kube-dns.kube-system.svc.cluster.local"),
            "cluster.local"
        );
    }

    #[test]
    fn debian_list_when_installed() {
        let l = SuffixList::system();
        if l.is_empty() {
            eprintln!("skipped: {DEBIAN_LIST} is not installed (Debian package publicsuffix)");
            return;
        }
        assert_eq!(l.registered_domain("www.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(
            l.registered_domain("foo.s3.amazonaws.com"),
            "foo.s3.amazonaws.com"
        );
        assert_eq!(l.registered_domain("api.github.com"), "github.com");
    }
}
