//! Loading objects from files, directories and standard input.

use crate::object::{Object, Source};
use crate::yaml::{parse_documents, Limits};
use crate::Node;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// A problem found while reading input: never fatal to the rest of the scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub level: Level,
    /// `path`, `<stdin>` or `cluster:<context>`.
    pub source: String,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(
        level: Level,
        source: impl Into<String>,
        line: u32,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            level,
            source: source.into(),
            line,
            message: message.into(),
            hint: None,
        }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: ", self.source, self.line)?;
        } else {
            write!(f, "{}: ", self.source)?;
        }
        write!(f, "{}: {}", self.level.as_str(), self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Options for the loader.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub limits: Limits,
    /// Files larger than this are refused with an error (bounded memory).
    pub max_file_bytes: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            limits: Limits::default(),
            max_file_bytes: 64 * 1024 * 1024,
        }
    }
}

/// What loading produced: objects, diagnostics and counts.
#[derive(Debug, Default)]
pub struct Loaded {
    pub objects: Vec<Object>,
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
    pub documents: usize,
}

impl Loaded {
    pub fn error_count(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.level == Level::Error)
            .count()
    }
    /// Merges another load result into this one.
    pub fn extend(&mut self, other: Loaded) {
        self.objects.extend(other.objects);
        self.diagnostics.extend(other.diagnostics);
        self.files += other.files;
        self.documents += other.documents;
    }
}

/// Loaded objects by source and line, built once. Analyses that report a (source, line)
/// rather than an object (RBAC risks, network-policy lint) find their object here in
/// O(log n), instead of scanning every object for every finding.
pub struct ObjectIndex<'a> {
    objects: &'a [Object],
    /// Per source: (start line, object index), by line, input order within a line.
    by_source: HashMap<String, Vec<(u32, usize)>>,
}

impl<'a> ObjectIndex<'a> {
    pub fn new(objects: &'a [Object]) -> Self {
        let mut by_source: HashMap<String, Vec<(u32, usize)>> = HashMap::new();
        for (i, o) in objects.iter().enumerate() {
            by_source
                .entry(o.source.display())
                .or_default()
                .push((o.line, i));
        }
        for v in by_source.values_mut() {
            v.sort_by_key(|&(line, _)| line);
        }
        ObjectIndex { objects, by_source }
    }

    /// The object of `source` that contains `line`: the one starting last at or before it
    /// (of several starting on that line, the last in input order).
    pub fn containing(&self, source: &str, line: u32) -> Option<&'a Object> {
        let v = self.by_source.get(source)?;
        let end = v.partition_point(|&(l, _)| l <= line);
        end.checked_sub(1).map(|i| &self.objects[v[i].1])
    }

    /// The objects of `source` starting at `line`, in input order.
    pub fn starting_at(&self, source: &str, line: u32) -> impl Iterator<Item = &'a Object> + '_ {
        let v = self.by_source.get(source).map(Vec::as_slice).unwrap_or(&[]);
        let from = v.partition_point(|&(l, _)| l < line);
        v[from..]
            .iter()
            .take_while(move |&&(l, _)| l == line)
            .map(|&(_, i)| &self.objects[i])
    }
}

const EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// Loads every path: `-` is standard input, a directory is walked recursively for `.yaml`,
/// `.yml` and `.json` files (hidden directories are skipped), a file is read whatever its name.
pub fn load_paths(paths: &[PathBuf], opts: &LoadOptions) -> Loaded {
    let mut out = Loaded::default();
    for p in paths {
        if p.as_os_str() == "-" {
            let mut buf = Vec::new();
            match std::io::stdin()
                .take(opts.max_file_bytes + 1)
                .read_to_end(&mut buf)
            {
                Ok(_) => out.extend(load_bytes(&buf, Source::Stdin, opts)),
                Err(e) => out.diagnostics.push(Diagnostic::new(
                    Level::Error,
                    "<stdin>",
                    0,
                    format!("cannot read standard input: {e}"),
                )),
            }
            continue;
        }
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let mut files = Vec::new();
                let mut errors = Vec::new();
                walk(p, &mut files, &mut errors, 0);
                out.diagnostics.extend(errors);
                files.sort();
                for l in load_files_parallel(&files, opts) {
                    out.extend(l);
                }
            }
            Ok(_) => out.extend(load_file(p, opts)),
            Err(e) => out.diagnostics.push(Diagnostic::new(
                Level::Error,
                p.display().to_string(),
                0,
                format!("cannot read: {e}"),
            )),
        }
    }
    out
}

/// Loader threads when there are fewer cores. Reading a file whose pages are not cached
/// blocks its thread on the disk; with only one read in flight per core, a cold scan took
/// the disk's sequential read time plus the parsing time. More readers than cores keep
/// several reads in flight, so the disk overlaps them and parsing overlaps reading
/// (BENCHMARKS.md, "cold page cache"). Warm, the extra threads cost nothing measurable.
const MIN_LOAD_THREADS: usize = 8;

/// Loads files on several threads (at least [`MIN_LOAD_THREADS`]); results keep the order
/// of `files`.
fn load_files_parallel(files: &[PathBuf], opts: &LoadOptions) -> Vec<Loaded> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .max(MIN_LOAD_THREADS)
        .min(files.len());
    if threads <= 1 {
        return files.iter().map(|f| load_file(f, opts)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, Loaded)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(f) = files.get(i) else { break };
                        mine.push((i, load_file(f, opts)));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, l)| l).collect()
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<Diagnostic>, depth: usize) {
    if depth > 64 {
        errors.push(Diagnostic::new(
            Level::Warning,
            dir.display().to_string(),
            0,
            "directory nesting deeper than 64 levels; not descending further",
        ));
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(Diagnostic::new(
                Level::Error,
                dir.display().to_string(),
                0,
                format!("cannot read directory: {e}"),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let hidden = name.to_string_lossy().starts_with('.');
        let Ok(ft) = entry.file_type() else { continue };
        // Symlinked directories are not followed (no cycles); symlinked files are.
        if ft.is_dir() {
            if !hidden {
                walk(&path, files, errors, depth + 1);
            }
        } else if !hidden {
            let ext_ok = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)));
            if ext_ok && (ft.is_file() || path.is_file()) {
                files.push(path);
            }
        }
    }
}

/// Loads one file.
pub fn load_file(path: &Path, opts: &LoadOptions) -> Loaded {
    let display = path.display().to_string();
    let mut out = Loaded::default();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            out.diagnostics.push(Diagnostic::new(
                Level::Error,
                display,
                0,
                format!("cannot read: {e}"),
            ));
            return out;
        }
    };
    // Sized from the file's length: one read, not a series of growing ones.
    let len = file.metadata().map_or(0, |m| m.len());
    let mut buf = Vec::with_capacity(len.min(opts.max_file_bytes + 1) as usize + 1);
    if let Err(e) = file.take(opts.max_file_bytes + 1).read_to_end(&mut buf) {
        out.diagnostics.push(Diagnostic::new(
            Level::Error,
            display,
            0,
            format!("cannot read: {e}"),
        ));
        return out;
    }
    load_bytes(&buf, Source::File(display), opts)
}

/// Loads objects from the bytes of one file (or stdin).
pub fn load_bytes(bytes: &[u8], source: Source, opts: &LoadOptions) -> Loaded {
    let mut out = Loaded {
        files: 1,
        ..Loaded::default()
    };
    let name = source.display();
    if bytes.len() as u64 > opts.max_file_bytes {
        out.diagnostics.push(
            Diagnostic::new(
                Level::Error,
                name,
                0,
                format!(
                    "larger than the {} MiB limit; not read",
                    opts.max_file_bytes / (1024 * 1024)
                ),
            )
            .with_hint("raise the limit with --max-file-size, or split the file"),
        );
        return out;
    }
    if bytes.contains(&0) {
        out.diagnostics.push(Diagnostic::new(
            Level::Error,
            name,
            0,
            "binary content (NUL bytes): not a YAML or JSON file",
        ));
        return out;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            out.diagnostics.push(Diagnostic::new(
                Level::Error,
                name,
                line as u32,
                "invalid UTF-8: not a YAML or JSON text file",
            ));
            return out;
        }
    };
    let source = Arc::new(source);
    load_text(text, source, opts, &mut out);
    out
}

/// Markers of an unrendered Helm template (Go template actions over chart values).
const HELM_MARKERS: &[&str] = &[
    ".Values.",
    ".Release.",
    ".Chart.",
    ".Capabilities.",
    "include \"",
    "{{- if",
    "{{- end",
    "{{ end",
    "{{- range",
    "{{- with",
    "{{- toYaml",
    "{{ toYaml",
];

fn looks_like_helm(text: &str) -> bool {
    text.contains("{{") && HELM_MARKERS.iter().any(|m| text.contains(m))
}

const HELM_HINT: &str =
    "this looks like an unrendered Helm template: render it first, e.g. `helm template <chart> | palisade scan -`";

fn load_text(text: &str, source: Arc<Source>, opts: &LoadOptions, out: &mut Loaded) {
    let name = source.display();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for doc in parse_documents(text, opts.limits) {
        out.documents += 1;
        let raw = &text[doc.text_range.0..doc.text_range.1];
        for (pos, msg) in &doc.warnings {
            out.diagnostics.push(Diagnostic::new(
                Level::Warning,
                &name,
                pos.line,
                msg.clone(),
            ));
        }
        let helm = looks_like_helm(raw);
        match doc.result {
            Err(e) => {
                let mut d = Diagnostic::new(
                    Level::Error,
                    &name,
                    e.pos.line.max(doc.line),
                    format!("cannot parse document {}: {}", doc.index + 1, e.message),
                );
                if helm || raw.contains("{{") {
                    d = d.with_hint(HELM_HINT);
                }
                out.diagnostics.push(d);
            }
            Ok(None) => {}
            Ok(Some(node)) => {
                if helm {
                    out.diagnostics.push(
                        Diagnostic::new(
                            Level::Error,
                            &name,
                            doc.line,
                            format!(
                                "document {} is an unrendered Helm template; not scanned",
                                doc.index + 1
                            ),
                        )
                        .with_hint(HELM_HINT),
                    );
                    continue;
                }
                add_document(node, &source, doc.index, doc.line, out);
            }
        }
    }
}

fn add_document(node: Node, source: &Arc<Source>, index: usize, line: u32, out: &mut Loaded) {
    let name = source.display();
    if !node.is_map() {
        out.diagnostics.push(Diagnostic::new(
            Level::Note,
            &name,
            line,
            format!(
                "document {} is a {}, not a Kubernetes object; skipped",
                index + 1,
                node.type_name()
            ),
        ));
        return;
    }
    let kind = node
        .get("kind")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    let api_version = node
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or("")
        .to_string();
    if kind.ends_with("List") && node.get("items").is_some_and(Node::is_seq) {
        let item_kind = kind.strip_suffix("List").unwrap_or("").to_string();
        let Value::Map(entries) = node.value else {
            return;
        };
        for e in entries {
            if e.key != "items" {
                continue;
            }
            let Value::Seq(items) = e.value.value else {
                continue;
            };
            for (i, mut item) in items.into_iter().enumerate() {
                // `PodList` and friends from the API omit each item's apiVersion/kind.
                if let Value::Map(ref mut fields) = item.value {
                    if !item_kind.is_empty() && !fields.iter().any(|f| f.key == "kind") {
                        fields.push(crate::node::Entry {
                            key: "kind".into(),
                            key_pos: crate::Pos::NONE,
                            value: Node::bare(Value::Str(item_kind.clone())),
                        });
                    }
                    if !api_version.is_empty() && !fields.iter().any(|f| f.key == "apiVersion") {
                        fields.push(crate::node::Entry {
                            key: "apiVersion".into(),
                            key_pos: crate::Pos::NONE,
                            value: Node::bare(Value::Str(api_version.clone())),
                        });
                    }
                }
                let item_line = item.pos.line;
                match Object::from_node(item, source.clone(), index, Some(i)) {
                    Some(o) => out.objects.push(o),
                    None => out.diagnostics.push(Diagnostic::new(
                        Level::Note,
                        &name,
                        item_line,
                        format!("{kind} item {i} has no apiVersion/kind; skipped"),
                    )),
                }
            }
        }
        return;
    }
    match Object::from_node(node, source.clone(), index, None) {
        Some(o) => out.objects.push(o),
        None => out.diagnostics.push(Diagnostic::new(
            Level::Note,
            &name,
            line,
            format!(
                "document {} has no apiVersion/kind: not a Kubernetes object; skipped",
                index + 1
            ),
        )),
    }
}

use crate::node::Value;

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Loaded {
        load_bytes(
            text.as_bytes(),
            Source::File("t.yaml".into()),
            &LoadOptions::default(),
        )
    }

    #[test]
    fn lists_expand_and_infer_kinds() {
        let l = load(
            "apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: a}\n  spec: {containers: []}\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: b}\n",
        );
        assert_eq!(l.objects.len(), 2);
        assert_eq!(l.objects[0].kind, "Pod");
        assert_eq!(l.objects[0].name, "a");
        assert_eq!(l.objects[0].line, 4);
        assert_eq!(l.objects[1].list_item, Some(1));
    }

    #[test]
    fn documents_without_kind_are_noted() {
        let l = load("foo: bar\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n");
        assert_eq!(l.objects.len(), 1);
        assert_eq!(l.diagnostics.len(), 1);
        assert_eq!(l.diagnostics[0].level, Level::Note);
        assert_eq!(l.diagnostics[0].line, 1);
    }

    #[test]
    fn helm_templates_are_reported_with_a_hint() {
        let l = load("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n");
        assert_eq!(l.objects.len(), 0);
        let d = &l.diagnostics[0];
        assert_eq!(d.level, Level::Error);
        assert!(d.hint.as_deref().unwrap().contains("helm template"));
    }

    #[test]
    fn go_templates_in_data_are_not_helm() {
        let l = load(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  t: '{{ $labels.instance }} is down'\n",
        );
        assert_eq!(l.objects.len(), 1);
        assert!(l.diagnostics.is_empty());
    }

    #[test]
    fn binary_and_invalid_utf8() {
        let l = load_bytes(b"\x00\x01abc", Source::Stdin, &LoadOptions::default());
        assert_eq!(l.diagnostics[0].level, Level::Error);
        let l = load_bytes(
            b"a: 1\nb: \xff\xfe\n",
            Source::Stdin,
            &LoadOptions::default(),
        );
        assert_eq!(l.diagnostics[0].line, 2);
    }

    #[test]
    fn object_index_finds_the_object_containing_a_line() {
        let mut objects = load(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}\n",
        )
        .objects;
        objects.extend(
            load_bytes(
                b"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
                Source::File("u.yaml".into()),
                &LoadOptions::default(),
            )
            .objects,
        );
        let idx = ObjectIndex::new(&objects);
        let name = |o: Option<&Object>| o.map(|o| o.name.clone());
        assert_eq!(name(idx.containing("t.yaml", 2)), Some("a".into()));
        assert_eq!(name(idx.containing("t.yaml", 8)), Some("b".into()));
        assert_eq!(name(idx.containing("t.yaml", 100)), Some("c".into()));
        assert_eq!(name(idx.containing("u.yaml", 3)), Some("s".into()));
        assert_eq!(name(idx.containing("v.yaml", 3)), None);
        let at: Vec<_> = idx
            .starting_at("t.yaml", 9)
            .map(|o| o.name.clone())
            .collect();
        assert_eq!(at, vec!["c".to_string()]);
        assert_eq!(idx.starting_at("t.yaml", 5).count(), 0);
        // The same answers as scanning every object.
        for line in 0..12 {
            let scan = objects
                .iter()
                .filter(|o| o.source.display() == "t.yaml" && o.line <= line)
                .max_by_key(|o| o.line);
            assert_eq!(
                name(idx.containing("t.yaml", line)),
                name(scan),
                "line {line}"
            );
        }
    }

    #[test]
    fn oversized_input_is_refused() {
        let opts = LoadOptions {
            max_file_bytes: 10,
            ..LoadOptions::default()
        };
        let l = load_bytes(b"apiVersion: v1\nkind: Pod\n", Source::Stdin, &opts);
        assert!(l.diagnostics[0].message.contains("limit"));
    }
}
