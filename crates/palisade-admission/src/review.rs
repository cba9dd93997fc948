//! AdmissionReview in and out: `admission.k8s.io/v1`, and `v1beta1` answered in kind.
//!
//! Parsing is strict about what the API server always sends (apiVersion, kind, a request
//! with uid, kind, resource and operation) and lenient about the rest. Every failure is a
//! [`RequestError`] the server turns into a 400 with a message naming what is wrong.

use base64::Engine as _;
use palisade_policy::AdmissionRequest;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const V1: &str = "admission.k8s.io/v1";
pub const V1BETA1: &str = "admission.k8s.io/v1beta1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReviewVersion {
    V1,
    V1beta1,
}

impl ReviewVersion {
    pub fn api_version(self) -> &'static str {
        match self {
            ReviewVersion::V1 => V1,
            ReviewVersion::V1beta1 => V1BETA1,
        }
    }
}

/// Why a request body is not an AdmissionReview we can answer (HTTP 400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error("request body is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error("request body is not valid JSON: {0}")]
    Malformed(String),
    #[error("unsupported AdmissionReview apiVersion {0:?} (admission.k8s.io/v1 or v1beta1)")]
    UnsupportedVersion(String),
    #[error("expected kind AdmissionReview, got {0:?}")]
    WrongKind(String),
    #[error("invalid AdmissionReview: {0}")]
    Invalid(String),
}

impl RequestError {
    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            RequestError::TooLarge { .. } => "too_large",
            RequestError::Malformed(_) => "malformed",
            RequestError::UnsupportedVersion(_) => "unsupported_version",
            RequestError::WrongKind(_) => "wrong_kind",
            RequestError::Invalid(_) => "invalid",
        }
    }
}

/// A parsed AdmissionReview request.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedReview {
    pub version: ReviewVersion,
    pub request: AdmissionRequest,
}

/// Parses one AdmissionReview body.
pub fn parse(body: &[u8], max_bytes: u64) -> Result<ParsedReview, RequestError> {
    if body.len() as u64 > max_bytes {
        return Err(RequestError::TooLarge {
            size: body.len() as u64,
            limit: max_bytes,
        });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(RequestError::Malformed("empty body".into()));
    }
    let mut v: Value =
        serde_json::from_slice(body).map_err(|e| RequestError::Malformed(e.to_string()))?;
    let Some(top) = v.as_object_mut() else {
        return Err(RequestError::Invalid(
            "the body is not a JSON object".into(),
        ));
    };
    let version = match top.get("apiVersion").and_then(Value::as_str) {
        Some(V1) => ReviewVersion::V1,
        Some(V1BETA1) => ReviewVersion::V1beta1,
        Some(other) => return Err(RequestError::UnsupportedVersion(other.to_string())),
        None => return Err(RequestError::UnsupportedVersion(String::new())),
    };
    match top.get("kind").and_then(Value::as_str) {
        Some("AdmissionReview") => {}
        other => return Err(RequestError::WrongKind(other.unwrap_or("").to_string())),
    }
    let request = top
        .remove("request")
        .filter(|r| !r.is_null())
        .ok_or_else(|| RequestError::Invalid("no request".into()))?;
    if !request.is_object() {
        return Err(RequestError::Invalid("request is not an object".into()));
    }
    for field in ["uid", "kind", "resource", "operation"] {
        if request.get(field).is_none_or(Value::is_null) {
            return Err(RequestError::Invalid(format!("request.{field} is missing")));
        }
    }
    let request: AdmissionRequest = serde_json::from_value(request)
        .map_err(|e| RequestError::Invalid(format!("request: {e}")))?;
    if request.uid.is_empty() {
        return Err(RequestError::Invalid("request.uid is empty".into()));
    }
    if request.kind.kind.is_empty() || request.kind.version.is_empty() {
        return Err(RequestError::Invalid(
            "request.kind needs version and kind".into(),
        ));
    }
    if request.resource.resource.is_empty() {
        return Err(RequestError::Invalid(
            "request.resource.resource is empty".into(),
        ));
    }
    for (name, v) in [
        ("object", &request.object),
        ("oldObject", &request.old_object),
    ] {
        if v.as_ref().is_some_and(|o| !o.is_object()) {
            return Err(RequestError::Invalid(format!(
                "request.{name} is not an object"
            )));
        }
    }
    Ok(ParsedReview { version, request })
}

/// `metav1.Status` as an AdmissionResponse carries it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    pub code: u16,
    pub reason: String,
    pub message: String,
}

/// What we answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Response {
    pub uid: String,
    pub allowed: bool,
    pub status: Option<Status>,
    pub warnings: Vec<String>,
    pub audit_annotations: BTreeMap<String, String>,
    /// An RFC 6902 JSONPatch (JSON bytes); only from `/mutate`.
    pub patch: Option<Vec<u8>>,
}

/// API servers reject warnings over this length; longer ones are truncated with a marker.
pub const MAX_WARNING_LEN: usize = 4096;
/// Audit annotation values above this are truncated (the API server caps the whole set).
pub const MAX_ANNOTATION_LEN: usize = 10 * 1024;

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(15);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} …(truncated)", &s[..end])
}

impl Response {
    /// The AdmissionReview JSON body, in the request's version.
    pub fn to_review(&self, version: ReviewVersion) -> Value {
        let mut resp = json!({ "uid": self.uid, "allowed": self.allowed });
        if let Some(s) = &self.status {
            resp["status"] = json!({
                "code": s.code,
                "reason": s.reason,
                "message": s.message,
                // metav1.Status fields the API server reads; `Failure` for denials.
                "status": if self.allowed { "Success" } else { "Failure" },
            });
        }
        if !self.warnings.is_empty() {
            resp["warnings"] = self
                .warnings
                .iter()
                .map(|w| Value::String(truncate(w, MAX_WARNING_LEN)))
                .collect();
        }
        if !self.audit_annotations.is_empty() {
            resp["auditAnnotations"] = self
                .audit_annotations
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(truncate(v, MAX_ANNOTATION_LEN))))
                .collect::<serde_json::Map<_, _>>()
                .into();
        }
        if let Some(p) = &self.patch {
            resp["patchType"] = "JSONPatch".into();
            resp["patch"] = base64::engine::general_purpose::STANDARD.encode(p).into();
        }
        json!({
            "apiVersion": version.api_version(),
            "kind": "AdmissionReview",
            "response": resp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    fn review(api: &str) -> Value {
        json!({"apiVersion": api, "kind": "AdmissionReview", "request": {
            "uid": "u1",
            "kind": {"group":"","version":"v1","kind":"Pod"},
            "resource": {"group":"","version":"v1","resource":"pods"},
            "namespace": "app", "name": "p", "operation": "CREATE",
            "userInfo": {"username": "alice", "groups": ["dev"]},
            "object": {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}
        }})
    }

    #[test]
    fn parses_v1_and_v1beta1() {
        let r = parse(&body(review(V1)), 1 << 20).unwrap();
        assert_eq!(r.version, ReviewVersion::V1);
        assert_eq!(r.request.uid, "u1");
        assert_eq!(r.request.user_info.username, "alice");
        let r = parse(&body(review(V1BETA1)), 1 << 20).unwrap();
        assert_eq!(r.version, ReviewVersion::V1beta1);
    }

    #[test]
    fn rejects_bad_bodies_with_clear_errors() {
        let e = |b: &[u8]| parse(b, 4096).unwrap_err();
        assert_eq!(e(b"").reason(), "malformed");
        assert_eq!(e(b"{not json").reason(), "malformed");
        assert_eq!(e(b"[1]").reason(), "invalid");
        assert_eq!(
            e(&body(review("admission.k8s.io/v2"))).reason(),
            "unsupported_version"
        );
        let mut v = review(V1);
        v["kind"] = "Pod".into();
        assert_eq!(e(&body(v)).reason(), "wrong_kind");
        let mut v = review(V1);
        v["request"]["uid"] = Value::Null;
        assert!(e(&body(v)).to_string().contains("request.uid"));
        let mut v = review(V1);
        v["request"]["operation"] = "EXPLODE".into();
        assert_eq!(e(&body(v)).reason(), "invalid");
        let mut v = review(V1);
        v["request"]["object"] = json!([1, 2]);
        assert!(e(&body(v)).to_string().contains("request.object"));
        let big = vec![b' '; 5000];
        assert_eq!(e(&big).reason(), "too_large");
        // Deep nesting is an error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            parse(deep.as_bytes(), 1 << 20).unwrap_err().reason(),
            "malformed"
        );
    }

    #[test]
    fn responses_in_kind() {
        let mut r = Response {
            uid: "u1".into(),
            allowed: false,
            status: Some(Status {
                code: 403,
                reason: "Forbidden".into(),
                message: "no".into(),
            }),
            warnings: vec!["w".repeat(5000)],
            ..Response::default()
        };
        r.audit_annotations.insert("k".into(), "v".into());
        let v = r.to_review(ReviewVersion::V1beta1);
        assert_eq!(v["apiVersion"], V1BETA1);
        assert_eq!(v["response"]["uid"], "u1");
        assert_eq!(v["response"]["status"]["code"], 403);
        assert!(v["response"]["warnings"][0].as_str().unwrap().len() <= MAX_WARNING_LEN);
        r.allowed = true;
        r.status = None;
        r.patch = Some(b"[]".to_vec());
        let v = r.to_review(ReviewVersion::V1);
        assert_eq!(v["response"]["patchType"], "JSONPatch");
        assert_eq!(v["response"]["patch"], "W10=");
    }
}
