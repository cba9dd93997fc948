//! JSON → CEL values, and the parts of CEL's value semantics that `cel` 0.13 does not give
//! the way cel-go (and so the Kubernetes API server) does: heterogeneous equality and type
//! names.

use std::collections::HashMap;
use std::sync::Arc;

use kube_cel::cel::common::types::{
    CelBool, CelBytes, CelDouble, CelDuration, CelInt, CelList, CelMap, CelNull, CelOptional,
    CelString, CelTimestamp, CelUInt,
};
use kube_cel::cel::common::value::Val;
use kube_cel::cel::objects::{Key, Map, Opaque};
use kube_cel::cel::Value;

/// Converts JSON to a CEL value the way the API server's unstructured decoding does:
/// integral numbers that fit in 64 bits are `int`, every other number is `double`.
pub fn from_json(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::String(Arc::new(s.clone())),
        J::Array(items) => Value::List(Arc::new(items.iter().map(from_json).collect())),
        J::Object(map) => {
            let mut m = HashMap::with_capacity(map.len());
            for (k, v) in map {
                m.insert(Key::String(Arc::new(k.clone())), from_json(v));
            }
            Value::Map(Map { map: Arc::new(m) })
        }
    }
}

/// Converts JSON straight to the interpreter's representation (one pass; what evaluation
/// binds the inputs as).
pub(crate) fn json_to_val(v: &serde_json::Value) -> Box<dyn Val> {
    use kube_cel::cel::common::types::CelMapKey;
    use serde_json::Value as J;
    match v {
        J::Null => Box::new(CelNull),
        J::Bool(b) => Box::new(CelBool::from(*b)),
        J::Number(n) => match n.as_i64() {
            Some(i) => Box::new(CelInt::from(i)),
            None => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        J::String(s) => Box::new(CelString::from(s.as_str())),
        J::Array(items) => Box::new(CelList::from(
            items.iter().map(json_to_val).collect::<Vec<_>>(),
        )),
        J::Object(map) => {
            let mut m = HashMap::with_capacity(map.len());
            for (k, v) in map {
                m.insert(CelMapKey::from(k.as_str()), json_to_val(v));
            }
            Box::new(CelMap::from(m))
        }
    }
}

/// Converts a CEL value back to JSON (for messages and test output). Values without a JSON
/// form (opaque values, bytes) become strings describing them.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::UInt(u) => J::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::String(s) => J::String(s.to_string()),
        Value::List(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => J::Object(
            m.map
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Key::String(s) => s.to_string(),
                        Key::Int(i) => i.to_string(),
                        Key::Uint(u) => u.to_string(),
                        Key::Bool(b) => b.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        other => J::String(format!("{other:?}")),
    }
}

/// The CEL type name of a value, as cel-go prints it (`int`, `string`, `map`, …).
pub fn type_name(v: &dyn Val) -> String {
    if v.downcast_ref::<CelBool>().is_some() {
        "bool".into()
    } else if v.downcast_ref::<CelInt>().is_some() {
        "int".into()
    } else if v.downcast_ref::<CelUInt>().is_some() {
        "uint".into()
    } else if v.downcast_ref::<CelDouble>().is_some() {
        "double".into()
    } else if v.downcast_ref::<CelString>().is_some() {
        "string".into()
    } else if v.downcast_ref::<CelBytes>().is_some() {
        "bytes".into()
    } else if v.downcast_ref::<CelNull>().is_some() {
        "null_type".into()
    } else if v.downcast_ref::<CelList>().is_some() {
        "list".into()
    } else if v.downcast_ref::<CelMap>().is_some() {
        "map".into()
    } else if v.downcast_ref::<CelDuration>().is_some() {
        "google.protobuf.Duration".into()
    } else if v.downcast_ref::<CelTimestamp>().is_some() {
        "google.protobuf.Timestamp".into()
    } else if v.downcast_ref::<CelOptional>().is_some() {
        "optional_type".into()
    } else {
        match Value::try_from(v) {
            Ok(Value::Opaque(o)) => opaque_type_name(o.runtime_type_name()),
            _ => v.get_type().name().to_string(),
        }
    }
}

/// Maps the runtime names kube-cel gives its opaque values to the Kubernetes type names.
fn opaque_type_name(runtime: &str) -> String {
    match runtime {
        "optional_type" => "optional_type".into(),
        other if other.starts_with("kubernetes.") || other.starts_with("net.") => other.into(),
        other => other.to_string(),
    }
}

/// A CEL type value (`type(x)`, and the identifiers `int`, `string`, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TypeValue(pub String);

impl Opaque for TypeValue {
    fn runtime_type_name(&self) -> &str {
        "type"
    }
}

/// The type identifiers every expression can name.
pub(crate) const TYPE_IDENTIFIERS: &[&str] = &[
    "bool",
    "int",
    "uint",
    "double",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
];

/// Heterogeneous equality as cel-go implements it: numbers compare across `int`, `uint`
/// and `double`; lists and maps compare element-wise; values of different types are
/// unequal (never an error). `work` counts the element comparisons made (for the cost
/// meter).
pub(crate) fn equal(a: &dyn Val, b: &dyn Val, work: &mut u64) -> bool {
    *work += 1;
    if let Some(x) = number(a) {
        return number(b).is_some_and(|y| x.eq(y));
    }
    if let Some(x) = a.downcast_ref::<CelString>() {
        return b
            .downcast_ref::<CelString>()
            .is_some_and(|y| x.inner() == y.inner());
    }
    if let Some(x) = a.downcast_ref::<CelBool>() {
        return b
            .downcast_ref::<CelBool>()
            .is_some_and(|y| x.inner() == y.inner());
    }
    if a.downcast_ref::<CelNull>().is_some() {
        return b.downcast_ref::<CelNull>().is_some();
    }
    if let Some(x) = a.downcast_ref::<CelList>() {
        let Some(y) = b.downcast_ref::<CelList>() else {
            return false;
        };
        return x.inner().len() == y.inner().len()
            && x.inner()
                .iter()
                .zip(y.inner())
                .all(|(p, q)| equal(p.as_ref(), q.as_ref(), work));
    }
    if let Some(x) = a.downcast_ref::<CelMap>() {
        let Some(y) = b.downcast_ref::<CelMap>() else {
            return false;
        };
        if x.inner().len() != y.inner().len() {
            return false;
        }
        return x.inner().iter().all(|(k, v)| {
            *work += 1;
            match y.inner().get(k) {
                Some(w) => equal(v.as_ref(), w.as_ref(), work),
                None => false,
            }
        });
    }
    if let Some(x) = a.downcast_ref::<CelOptional>() {
        let Some(y) = b.downcast_ref::<CelOptional>() else {
            return false;
        };
        return match (x.option(), y.option()) {
            (None, None) => true,
            (Some(p), Some(q)) => equal(p, q, work),
            _ => false,
        };
    }
    a.equals(b)
}

#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    UInt(u64),
    Double(f64),
}

fn number(v: &dyn Val) -> Option<Num> {
    if let Some(i) = v.downcast_ref::<CelInt>() {
        Some(Num::Int(*i.inner()))
    } else if let Some(u) = v.downcast_ref::<CelUInt>() {
        Some(Num::UInt(*u.inner()))
    } else {
        v.downcast_ref::<CelDouble>()
            .map(|d| Num::Double(*d.inner()))
    }
}

impl Num {
    fn eq(self, other: Num) -> bool {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a == b,
            (Num::UInt(a), Num::UInt(b)) => a == b,
            (Num::Double(a), Num::Double(b)) => a == b,
            (Num::Int(a), Num::UInt(b)) | (Num::UInt(b), Num::Int(a)) => a >= 0 && a as u64 == b,
            (Num::Int(a), Num::Double(d)) | (Num::Double(d), Num::Int(a)) => {
                d.fract() == 0.0
                    && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&d)
                    && d as i64 == a
            }
            (Num::UInt(a), Num::Double(d)) | (Num::Double(d), Num::UInt(a)) => {
                d.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&d) && d as u64 == a
            }
        }
    }
}

/// Inputs converted once per request and shared by every CEL policy evaluating it: the
/// request's `object` and `oldObject` (the bulk of each conversion) are converted by the
/// first evaluation, moved into its scope, and moved back here when it is done, so the
/// next policy borrows the same values without a copy.
///
/// A value is found again only for the very JSON value it was converted from (same
/// address): a cache serves one request, whose objects live as long as it does. A value
/// that is not given back (an evaluation that panicked) is converted again.
#[derive(Default)]
pub(crate) struct CelInputCache {
    slots: std::sync::Mutex<Vec<CachedInput>>,
}

/// Input name, address of the JSON it was converted from, converted value.
type CachedInput = (&'static str, usize, Box<dyn Val>);

impl CelInputCache {
    /// The converted `json` for input `name`: the cached one or a new conversion.
    pub(crate) fn take(&self, name: &'static str, json: &serde_json::Value) -> Box<dyn Val> {
        let at = std::ptr::from_ref(json) as usize;
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        match slots.iter().position(|(n, a, _)| *n == name && *a == at) {
            Some(i) => slots.swap_remove(i).2,
            None => {
                drop(slots);
                json_to_val(json)
            }
        }
    }

    /// Gives back the value [`Self::take`] returned for (`name`, `json`).
    pub(crate) fn give(&self, name: &'static str, json: &serde_json::Value, v: Box<dyn Val>) {
        let at = std::ptr::from_ref(json) as usize;
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if !slots.iter().any(|(n, a, _)| *n == name && *a == at) {
            slots.push((name, at, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn boxed(v: Value) -> Box<dyn Val> {
        v.try_into().unwrap()
    }

    #[test]
    fn json_numbers_are_int_or_double() {
        assert_eq!(from_json(&json!(3)), Value::Int(3));
        assert_eq!(from_json(&json!(0.5)), Value::Float(0.5));
        assert_eq!(from_json(&json!(u64::MAX)), Value::Float(u64::MAX as f64));
        assert_eq!(
            to_json(&from_json(&json!({"a": [1, "x", null]}))),
            json!({"a": [1, "x", null]})
        );
    }

    #[test]
    fn input_cache_hands_back_the_same_conversion() {
        let cache = CelInputCache::default();
        let a = json!({"spec": {"containers": [{"name": "c"}]}});
        let b = json!({"spec": {}});
        let v = cache.take("object", &a);
        let first = std::ptr::from_ref(v.as_ref()).cast::<u8>();
        cache.give("object", &a, v);
        let again = cache.take("object", &a);
        assert_eq!(
            std::ptr::from_ref(again.as_ref()).cast::<u8>(),
            first,
            "reused"
        );
        // Another JSON value (or another input name) never gets it.
        cache.give("object", &a, again);
        let other = cache.take("object", &b);
        assert_eq!(to_json(&Value::try_from(other.as_ref()).unwrap()), b);
        let old = cache.take("oldObject", &a);
        assert_ne!(std::ptr::from_ref(old.as_ref()).cast::<u8>(), first);
    }

    #[test]
    fn heterogeneous_equality() {
        let mut w = 0;
        let eq = |a: Value, b: Value, w: &mut u64| equal(boxed(a).as_ref(), boxed(b).as_ref(), w);
        assert!(eq(Value::Int(1), Value::Float(1.0), &mut w));
        assert!(eq(Value::UInt(1), Value::Int(1), &mut w));
        assert!(!eq(Value::Int(-1), Value::UInt(u64::MAX), &mut w));
        assert!(!eq(Value::Float(f64::NAN), Value::Float(f64::NAN), &mut w));
        assert!(!eq(
            Value::Int(1),
            Value::String(Arc::new("1".into())),
            &mut w
        ));
        assert!(eq(
            from_json(&json!([1, {"a": 2}])),
            from_json(&json!([1.0, {"a": 2.0}])),
            &mut w
        ));
        assert!(!eq(
            from_json(&json!({"a": 1})),
            from_json(&json!({"b": 1})),
            &mut w
        ));
        assert!(w > 0);
    }
}
