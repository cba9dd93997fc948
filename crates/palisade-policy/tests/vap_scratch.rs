use palisade_policy::cel::{CelSpec, CompileOptions, Inputs};
use palisade_model::Node;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

static PANICS: AtomicUsize = AtomicUsize::new(0);
static LAST: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Rng(u64);
impl Rng { fn next(&mut self) -> u64 { self.0 ^= self.0 << 13; self.0 ^= self.0 >> 7; self.0 ^= self.0 << 17; self.0 } fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str { v[(self.next() % v.len() as u64) as usize] } }

const VALUES: &[&str] = &["1", "-1", "0", "1u", "2.5", "-0.0", "'a'", "''", "'é日本'", "b'x'", "true", "null", "[]", "[1, 2]", "['a', 'b']", "{}", "{'a': 1}", "object", "object.metadata", "object.spec.containers", "object.metadata.name", "quantity('1Gi')", "ip('1.2.3.4')", "cidr('10.0.0.0/8')", "url('https://a/b')", "semver('1.2.3')", "duration('1s')", "timestamp('2020-01-01T00:00:00Z')", "optional.of(1)", "optional.none()", "9223372036854775807", "-9223372036854775808", "18446744073709551615u", "'%s'", "'%d %s %f %x %o %b %e'", "lists.range(3)", "authorizer", "request", "type(1)", "int", "'[a-'", "'(?P<x>a)'", "1e308", "'0x10'"];
const METHODS: &[&str] = &["size", "contains", "startsWith", "endsWith", "matches", "value", "hasValue", "or", "orValue", "getFullYear", "getMonth", "getDayOfYear", "getDayOfMonth", "getDate", "getDayOfWeek", "getHours", "getMinutes", "getSeconds", "getMilliseconds", "charAt", "indexOf", "lastIndexOf", "lowerAscii", "upperAscii", "replace", "split", "substring", "trim", "join", "format", "reverse", "isSorted", "sum", "min", "max", "slice", "flatten", "distinct", "sort", "first", "last", "find", "findAll", "getScheme", "getHost", "getHostname", "getPort", "getEscapedPath", "getQuery", "isGreaterThan", "isLessThan", "compareTo", "add", "sub", "sign", "isInteger", "asInteger", "asApproximateFloat", "major", "minor", "patch", "family", "isUnspecified", "isLoopback", "isLinkLocalMulticast", "isLinkLocalUnicast", "isGlobalUnicast", "containsIP", "containsCIDR", "masked", "prefixLength", "string", "validate", "path", "group", "serviceAccount", "resource", "subresource", "namespace", "name", "check", "allowed", "reason", "errored", "error", "fieldSelector", "labelSelector"];
const GLOBALS: &[&str] = &["int", "uint", "double", "string", "bytes", "bool", "dyn", "type", "duration", "timestamp", "size", "matches", "quantity", "isQuantity", "url", "isURL", "ip", "isIP", "cidr", "isCIDR", "semver", "isSemver", "sets.contains", "sets.intersects", "sets.equivalent", "strings.quote", "lists.range", "optional.of", "optional.none", "optional.ofNonZeroValue", "ip.isCanonical", "format.dns1123Label", "format.named"];
const OPS: &[&str] = &["+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "in"];

fn gen(r: &mut Rng, depth: u32) -> String {
    if depth == 0 { return r.pick(VALUES).to_string(); }
    match r.next() % 10 {
        0..=2 => { let n = r.next() % 4; let args: Vec<String> = (0..n).map(|_| gen(r, depth - 1)).collect(); format!("{}.{}({})", gen(r, depth - 1), r.pick(METHODS), args.join(", ")) }
        3..=4 => { let n = r.next() % 4; let args: Vec<String> = (0..n).map(|_| gen(r, depth - 1)).collect(); format!("{}({})", r.pick(GLOBALS), args.join(", ")) }
        5..=6 => format!("({} {} {})", gen(r, depth - 1), r.pick(OPS), gen(r, depth - 1)),
        7 => format!("{}.{}(x, {})", gen(r, depth - 1), r.pick(&["all", "exists", "exists_one", "map", "filter", "sortBy", "optMap", "optFlatMap"]), gen(r, depth - 1).replace("object", "x")),
        8 => format!("{}[{}]", gen(r, depth - 1), gen(r, depth - 1)),
        _ => format!("{}.?{}", gen(r, depth - 1), r.pick(&["a", "metadata", "name"])),
    }
}

#[test]
fn fuzz() {
    std::panic::set_hook(Box::new(|info| { PANICS.fetch_add(1, Ordering::SeqCst); LAST.lock().unwrap().push(format!("{info}")); }));
    let n: usize = std::env::var("N").ok().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let seed: u64 = std::env::var("SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let mut r = Rng(seed * 2654435761 + 1);
    let obj = json!({"metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}});
    let req = json!({"resource": {"group": "", "resource": "pods"}, "name": "x"});
    let user = Default::default();
    for _ in 0..n {
        let e = gen(&mut r, 3);
        let before = PANICS.load(Ordering::SeqCst);
        let spec = CelSpec::compile(&Node::from_json(&json!({"validations": [{"expression": e}]})), &CompileOptions { params: true, authorizer: true, ..Default::default() });
        let _ = spec.evaluate(&Inputs { object: Some(&obj), old_object: None, request: &req, params: None, namespace_object: None, authorizer: Some((&palisade_policy::NoOpinion, &user)), variables: &[] });
        if PANICS.load(Ordering::SeqCst) > before { println!("PANIC on: {e}\n   {}", LAST.lock().unwrap().last().unwrap()); }
    }
    println!("panics: {}", PANICS.load(Ordering::SeqCst));
}
