//! Constraint fields outside `spec.match`: enforcement actions, parameter defaulting and
//! parameter schema validation.

use serde_json::{Map, Value};

use crate::decision::Action;

/// `spec.enforcementAction` (default `deny`) as Palisade actions.
///
/// `scoped` takes the actions of `spec.scopedEnforcementActions`: every listed action
/// that names at least one enforcement point. Palisade stands in for all of Gatekeeper's
/// enforcement points at once (admission webhook, audit, gator, generated
/// ValidatingAdmissionPolicy), so it does not filter by point. A scoped constraint whose
/// list names no point has no action and is never reported.
pub fn enforcement_actions(spec: Option<&Value>) -> Result<Vec<Action>, String> {
    let action = match spec.and_then(|s| s.get("enforcementAction")) {
        None | Some(Value::Null) => "deny",
        Some(Value::String(s)) if s.is_empty() => "deny",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("spec.enforcementAction: expected a string".into()),
    };
    match action {
        "deny" => Ok(vec![Action::Deny]),
        "dryrun" => Ok(vec![Action::DryRun]),
        "warn" => Ok(vec![Action::Warn]),
        "scoped" => scoped_actions(spec.and_then(|s| s.get("scopedEnforcementActions"))),
        other => Err(format!(
            "spec.enforcementAction: unknown action {other:?} (deny, dryrun, warn or scoped)"
        )),
    }
}

fn scoped_actions(list: Option<&Value>) -> Result<Vec<Action>, String> {
    let Some(Value::Array(list)) = list else {
        return Err(
            "spec.scopedEnforcementActions: required, a list of {action, enforcementPoints} when enforcementAction is scoped"
                .into(),
        );
    };
    let mut actions = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let at = format!("spec.scopedEnforcementActions[{i}]");
        let Value::Object(entry) = entry else {
            return Err(format!("{at}: expected an object"));
        };
        let action = match entry.get("action").and_then(Value::as_str) {
            Some("deny") => Action::Deny,
            Some("dryrun") => Action::DryRun,
            Some("warn") => Action::Warn,
            Some(other) => {
                return Err(format!(
                    "{at}.action: unknown action {other:?} (deny, dryrun or warn)"
                ))
            }
            None => return Err(format!("{at}.action: required")),
        };
        let points = match entry.get("enforcementPoints") {
            None | Some(Value::Null) => 0,
            Some(Value::Array(points)) => {
                for (j, p) in points.iter().enumerate() {
                    if p.get("name").and_then(Value::as_str).is_none() {
                        return Err(format!("{at}.enforcementPoints[{j}].name: required"));
                    }
                }
                points.len()
            }
            Some(_) => return Err(format!("{at}.enforcementPoints: expected a list")),
        };
        if points > 0 && !actions.contains(&action) {
            actions.push(action);
        }
    }
    actions.sort();
    Ok(actions)
}

/// Applies the `default`s of an OpenAPI v3 schema to `value`, as the API server's
/// structural defaulting does for a custom resource: a missing property (or a null one
/// that is not `nullable`) gets its default; defaulting descends into present objects,
/// array items and `additionalProperties`.
pub fn apply_defaults(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(props) = props {
                for (k, prop) in props {
                    let Some(default) = prop.get("default") else {
                        continue;
                    };
                    let nullable = prop.get("nullable").and_then(Value::as_bool) == Some(true);
                    let missing = match m.get(k) {
                        None => true,
                        Some(Value::Null) => !nullable,
                        Some(_) => false,
                    };
                    if missing {
                        m.insert(k.clone(), default.clone());
                    }
                }
                for (k, prop) in props {
                    if let Some(child) = m.get_mut(k) {
                        apply_defaults(child, prop);
                    }
                }
            }
            if let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                for (k, child) in m.iter_mut() {
                    if props.is_some_and(|p| p.contains_key(k)) {
                        continue;
                    }
                    apply_defaults(child, extra);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items").filter(|v| v.is_object()) {
                for item in items {
                    apply_defaults(item, item_schema);
                }
            }
        }
        _ => {}
    }
}

/// Checks `value` against the structural parts of an OpenAPI v3 schema that decide
/// whether the API server accepts a constraint: `type`, `properties`, `items`,
/// `additionalProperties`, `required`, `enum`, `nullable`. Unknown fields are accepted
/// (the API server would prune them, or `x-kubernetes-preserve-unknown-fields` keeps
/// them). Returns the first few problems.
pub fn validate(value: &Value, schema: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    validate_at(value, schema, "spec.parameters", &mut errs);
    errs
}

fn type_ok(value: &Value, ty: &str) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
        "number" => value.is_number(),
        _ => true,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn validate_at(value: &Value, schema: &Value, at: &str, errs: &mut Vec<String>) {
    const MAX: usize = 10;
    if errs.len() >= MAX || !schema.is_object() {
        return;
    }
    if value.is_null() {
        if schema.get("nullable").and_then(Value::as_bool) != Some(true)
            && schema.get("type").and_then(Value::as_str).is_some()
        {
            errs.push(format!("{at}: must not be null"));
        }
        return;
    }
    let int_or_string = schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true);
    if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        let ok = type_ok(value, ty)
            || (int_or_string && (value.is_string() || value.as_i64().is_some()));
        if !ok {
            errs.push(format!("{at}: expected {ty}, found {}", type_name(value)));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.iter().any(|a| a == value) {
            errs.push(format!("{at}: {value} is not one of the allowed values"));
        }
    }
    match value {
        Value::Object(m) => validate_object(m, schema, at, errs),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate_at(item, item_schema, &format!("{at}[{i}]"), errs);
                }
            }
        }
        _ => {}
    }
}

fn validate_object(m: &Map<String, Value>, schema: &Value, at: &str, errs: &mut Vec<String>) {
    if let Some(Value::Array(required)) = schema.get("required") {
        for r in required.iter().filter_map(Value::as_str) {
            if !m.contains_key(r) {
                errs.push(format!("{at}.{r}: required"));
            }
        }
    }
    let props = schema.get("properties").and_then(Value::as_object);
    for (k, v) in m {
        match props.and_then(|p| p.get(k)) {
            Some(prop) => validate_at(v, prop, &format!("{at}.{k}"), errs),
            None => {
                if let Some(extra) = schema.get("additionalProperties").filter(|s| s.is_object()) {
                    validate_at(v, extra, &format!("{at}.{k}"), errs);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actions() {
        assert_eq!(enforcement_actions(None).unwrap(), vec![Action::Deny]);
        assert_eq!(
            enforcement_actions(Some(&json!({"enforcementAction": "dryrun"}))).unwrap(),
            vec![Action::DryRun]
        );
        assert_eq!(
            enforcement_actions(Some(&json!({"enforcementAction": "warn"}))).unwrap(),
            vec![Action::Warn]
        );
        assert!(enforcement_actions(Some(&json!({"enforcementAction": "block"}))).is_err());
        let scoped = json!({"enforcementAction": "scoped", "scopedEnforcementActions": [
            {"action": "warn", "enforcementPoints": [{"name": "validation.gatekeeper.sh"}]},
            {"action": "deny", "enforcementPoints": [{"name": "*"}]},
            {"action": "dryrun", "enforcementPoints": []},
        ]});
        assert_eq!(
            enforcement_actions(Some(&scoped)).unwrap(),
            vec![Action::Deny, Action::Warn]
        );
        assert!(enforcement_actions(Some(&json!({"enforcementAction": "scoped"}))).is_err());
    }

    #[test]
    fn defaults_and_validation() {
        let schema = json!({"type": "object", "properties": {
            "flag": {"type": "boolean", "default": true},
            "items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer", "default": 3}}}},
        }});
        let mut v = json!({"items": [{}, {"n": 1}], "extra": 1});
        apply_defaults(&mut v, &schema);
        assert_eq!(
            v,
            json!({"flag": true, "items": [{"n": 3}, {"n": 1}], "extra": 1})
        );
        assert!(validate(&v, &schema).is_empty());
        let errs = validate(&json!({"flag": "yes", "items": [{"n": "x"}]}), &schema);
        assert_eq!(errs.len(), 2, "{errs:?}");
    }
}
