//! Reading a ConstraintTemplate (`templates.gatekeeper.sh` v1, v1beta1, v1alpha1).

use palisade_model::{Entry, Node, Object};
use serde_json::Value;

/// The API group of ConstraintTemplates.
pub const TEMPLATE_GROUP: &str = "templates.gatekeeper.sh";
/// The API group of constraints.
pub const CONSTRAINT_GROUP: &str = "constraints.gatekeeper.sh";
/// The only target Gatekeeper's validation knows.
pub const TARGET: &str = "admission.k8s.gatekeeper.sh";

/// A string taken from the template, with the file line its first character is on.
#[derive(Clone, Debug)]
pub(crate) struct Located {
    pub text: String,
    pub line: u32,
}

/// A template's Rego: the `Rego` code entry, or the legacy `targets[0].rego`/`libs`
/// (which replace the code entry's source, as Gatekeeper's conversion does).
#[derive(Clone, Debug)]
pub(crate) struct RegoSource {
    pub rego: Located,
    pub libs: Vec<Located>,
    pub v1: bool,
}

/// A ConstraintTemplate as read, before compilation.
#[derive(Clone, Debug)]
pub(crate) struct TemplateDef {
    pub name: String,
    pub kind: String,
    pub rego: Option<RegoSource>,
    /// The `source` of the `K8sNativeValidation` code entry, and the entry's index in
    /// `spec.targets[0].code`.
    pub cel: Option<(Node, usize)>,
    /// `spec.crd.spec.validation.openAPIV3Schema`: the parameters schema.
    pub schema: Option<Value>,
    /// `spec.targets[0].operations` (admission operations the webhook sends the
    /// template; empty means all).
    pub operations: Vec<String>,
}

/// A template problem, with the line it is on (0: the template's own line).
#[derive(Clone, Debug)]
pub(crate) struct TemplateError {
    pub line: u32,
    pub message: String,
}

impl TemplateError {
    fn new(line: u32, message: impl Into<String>) -> Self {
        TemplateError {
            line,
            message: message.into(),
        }
    }
}

/// Whether `o` is a ConstraintTemplate (any version of the group).
pub(crate) fn is_template(o: &Object) -> bool {
    o.group() == TEMPLATE_GROUP && o.kind == "ConstraintTemplate"
}

/// Whether `o` is a constraint (`constraints.gatekeeper.sh/*`).
pub(crate) fn is_constraint(o: &Object) -> bool {
    o.group() == CONSTRAINT_GROUP
}

/// The line the text of a string value starts on: block scalars (`|`, `>`) start on the
/// line after their key.
fn text_line(entry: &Entry) -> u32 {
    let key_line = entry.key_pos.line;
    let value_line = entry.value.pos.line;
    if value_line > key_line {
        value_line
    } else if entry.value.as_str().is_some_and(|s| s.contains('\n')) && key_line > 0 {
        key_line + 1
    } else {
        value_line.max(key_line)
    }
}

fn located(entry: &Entry) -> Option<Located> {
    Some(Located {
        text: entry.value.as_str()?.to_string(),
        line: text_line(entry),
    })
}

fn line_of(n: &Node, fallback: u32) -> u32 {
    if n.pos.line > 0 {
        n.pos.line
    } else {
        fallback
    }
}

/// Which engines' code a template carries: (Rego, K8sNativeValidation).
pub(crate) fn engines_of(root: &Node) -> (bool, bool) {
    let Some(target) = root
        .at(&["spec", "targets"])
        .and_then(|t| t.items().first())
    else {
        return (false, false);
    };
    let mut rego = target
        .get("rego")
        .and_then(Node::as_str)
        .is_some_and(|s| !s.is_empty());
    let mut cel = false;
    for code in target.get("code").map(Node::items).unwrap_or(&[]) {
        match code.get("engine").and_then(Node::as_str) {
            Some("Rego") => rego = true,
            Some("K8sNativeValidation") => cel = true,
            _ => {}
        }
    }
    (rego, cel)
}

pub(crate) fn parse(o: &Object) -> Result<TemplateDef, TemplateError> {
    let root = &o.root;
    let version = o.api_version.rsplit('/').next().unwrap_or("");
    if !matches!(version, "v1" | "v1beta1" | "v1alpha1") {
        return Err(TemplateError::new(
            0,
            format!(
                "unsupported ConstraintTemplate version {:?} (v1, v1beta1 or v1alpha1)",
                o.api_version
            ),
        ));
    }
    let name = o.name.clone();
    if name.is_empty() {
        return Err(TemplateError::new(
            0,
            "ConstraintTemplate has no metadata.name",
        ));
    }
    let kind_node = root.at(&["spec", "crd", "spec", "names", "kind"]);
    let kind = kind_node.and_then(Node::as_str).unwrap_or("").to_string();
    if kind.is_empty() {
        return Err(TemplateError::new(
            root.locate(&["spec", "crd", "spec", "names", "kind"]).line,
            "spec.crd.spec.names.kind is required: it names the constraint kind",
        ));
    }
    if !name.eq_ignore_ascii_case(&kind) {
        return Err(TemplateError::new(
            line_of(kind_node.unwrap_or(Node::null()), 0),
            format!(
                "the template's name {name:?} must be the lower-cased constraint kind {:?}",
                kind.to_ascii_lowercase()
            ),
        ));
    }
    let targets = root.at(&["spec", "targets"]);
    let targets_line = root.locate(&["spec", "targets"]).line;
    let target = match targets.map(Node::items) {
        Some([t]) => t,
        Some([]) | None => {
            return Err(TemplateError::new(
                targets_line,
                "spec.targets must have exactly one target",
            ))
        }
        Some(more) => {
            return Err(TemplateError::new(
                targets_line,
                format!(
                    "spec.targets must have exactly one target, found {}",
                    more.len()
                ),
            ))
        }
    };
    match target.get("target").and_then(Node::as_str) {
        Some(TARGET) => {}
        other => {
            return Err(TemplateError::new(
                line_of(target, targets_line),
                format!(
                    "target {:?} is not recognized (expected {TARGET:?})",
                    other.unwrap_or("")
                ),
            ))
        }
    }

    let mut rego: Option<RegoSource> = None;
    let mut cel = None;
    for (index, code) in target
        .get("code")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let line = line_of(code, targets_line);
        let Some(engine) = code.get("engine").and_then(Node::as_str) else {
            return Err(TemplateError::new(line, "code entry without an engine"));
        };
        let source = code.get("source");
        match engine {
            "Rego" if rego.is_none() => {
                let Some(source) = source.filter(|s| s.is_map()) else {
                    return Err(TemplateError::new(line, "Rego code entry without a source"));
                };
                let Some(r) = source.entry("rego").and_then(located) else {
                    return Err(TemplateError::new(
                        line,
                        "Rego code entry: source.rego is required",
                    ));
                };
                let libs = source
                    .get("libs")
                    .map(|l| l.items())
                    .unwrap_or(&[])
                    .iter()
                    .map(|n| Located {
                        text: n.as_str().unwrap_or("").to_string(),
                        line: n.pos.line,
                    })
                    .collect();
                let v1 = source.get("version").and_then(Node::as_str) == Some("v1");
                rego = Some(RegoSource { rego: r, libs, v1 });
            }
            "K8sNativeValidation" if cel.is_none() => {
                let Some(source) = source.filter(|s| s.is_map()) else {
                    return Err(TemplateError::new(
                        line,
                        "K8sNativeValidation code entry without a source",
                    ));
                };
                cel = Some((source.clone(), index));
            }
            // Other engines (and repeated entries) are for drivers Palisade does not
            // have; Gatekeeper ignores code it has no driver for.
            _ => {}
        }
    }
    // The legacy fields win over a `Rego` code entry.
    if let Some(legacy) = target
        .entry("rego")
        .and_then(located)
        .filter(|l| !l.text.is_empty())
    {
        let libs = target
            .get("libs")
            .map(|l| l.items())
            .unwrap_or(&[])
            .iter()
            .map(|n| Located {
                text: n.as_str().unwrap_or("").to_string(),
                line: n.pos.line,
            })
            .collect();
        rego = Some(RegoSource {
            rego: legacy,
            libs,
            v1: false,
        });
    }
    let schema = root
        .at(&["spec", "crd", "spec", "validation", "openAPIV3Schema"])
        .map(Node::to_json)
        .filter(|v| v.is_object());
    let operations = target
        .get("operations")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(Node::scalar_string)
        .collect();
    Ok(TemplateDef {
        name,
        kind,
        rego,
        cel,
        schema,
        operations,
    })
}
