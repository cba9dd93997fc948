//! VEX: OpenVEX documents and CycloneDX VEX (a BOM's `vulnerabilities` with `analysis`) mark
//! findings as not affected (or fixed), keeping the status and the reason. A statement applies
//! when its vulnerability is the finding's id or one of its aliases and its product is the
//! package's purl (version and qualifiers compared only when the statement gives them), the
//! image, or absent.

use crate::matcher::Vuln;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub vulnerability: String,
    /// purls or image references; empty = every product.
    pub products: Vec<String>,
    pub status: String,
    pub reason: String,
}

impl Statement {
    /// Statuses that remove a finding from the active ones.
    pub fn suppresses(&self) -> bool {
        matches!(
            self.status.as_str(),
            "not_affected" | "fixed" | "false_positive" | "resolved"
        )
    }
}

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
}

/// Parses an OpenVEX or CycloneDX VEX document.
pub fn parse(text: &str, what: &str) -> Result<Vec<Statement>, String> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("{what}:{}: invalid JSON: {e}", e.line()))?;
    let mut out = Vec::new();
    if let Some(sts) = v.get("statements").and_then(|x| x.as_array()) {
        for (i, st) in sts.iter().enumerate() {
            let vuln = match st.get("vulnerability") {
                Some(Value::String(x)) => x.clone(),
                Some(o) => s(o, "name"),
                None => String::new(),
            };
            if vuln.is_empty() {
                return Err(format!("{what}: statements[{i}] has no vulnerability"));
            }
            let products = st
                .get("products")
                .and_then(|p| p.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|p| match p {
                            Value::String(x) => Some(x.clone()),
                            o => o.get("@id").and_then(|x| x.as_str()).map(str::to_string),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let status = s(st, "status");
            if status.is_empty() {
                return Err(format!("{what}: statements[{i}] has no status"));
            }
            let reason = [
                s(st, "justification"),
                s(st, "impact_statement"),
                s(st, "status_notes"),
            ]
            .into_iter()
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
            out.push(Statement {
                vulnerability: vuln,
                products,
                status,
                reason,
            });
        }
        return Ok(out);
    }
    if let Some(vs) = v.get("vulnerabilities").and_then(|x| x.as_array()) {
        for (i, x) in vs.iter().enumerate() {
            let id = s(x, "id");
            let Some(an) = x.get("analysis") else {
                continue;
            };
            if id.is_empty() {
                return Err(format!("{what}: vulnerabilities[{i}] has no id"));
            }
            let products = x
                .get("affects")
                .and_then(|a| a.as_array())
                .map(|a| {
                    a.iter()
                        .map(|r| s(r, "ref"))
                        .filter(|r| !r.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            let reason = [s(an, "justification"), s(an, "detail")]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            out.push(Statement {
                vulnerability: id,
                products,
                status: s(an, "state"),
                reason,
            });
        }
        return Ok(out);
    }
    Err(format!(
        "{what}: neither an OpenVEX document (statements) nor a CycloneDX VEX (vulnerabilities)"
    ))
}

fn purl_matches(stmt: &str, purl: &str) -> bool {
    let strip = |p: &str| p.split(['?', '#']).next().unwrap_or(p).to_string();
    let (a, b) = (strip(stmt), strip(purl));
    if a.contains('@') {
        a == b
    } else {
        b.split('@').next() == Some(a.as_str())
    }
}

/// Applies statements to findings (the first applicable statement wins).
pub fn apply(
    statements: &[Statement],
    vulns: &mut [Vuln],
    image: &str,
    os: Option<&crate::OsInfo>,
) {
    for v in vulns.iter_mut() {
        let purl = crate::sbom::purl(&v.package, os);
        let st = statements.iter().find(|st| {
            (st.vulnerability == v.id || v.aliases.contains(&st.vulnerability))
                && (st.products.is_empty()
                    || st
                        .products
                        .iter()
                        .any(|p| p == image || purl_matches(p, &purl)))
        });
        if let Some(st) = st {
            v.vex = Some((st.status.clone(), st.reason.clone()));
        }
    }
}
