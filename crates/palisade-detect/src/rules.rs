//! Falco rule files: `list`, `macro`, `rule` items, `required_engine_version`,
//! `required_plugin_versions`, `append: true` and `override:`, loaded in order across files as
//! Falco does (a later definition replaces an earlier one in place; appends extend it).
//! Every problem is a [`Diag`] with file, line and item name; loading goes on.

use palisade_model::yaml::{parse_documents, Limits};
use palisade_model::Node;
use std::collections::HashMap;
use std::fmt;

/// The rules engine version we implement (Falco's numbering; integer versions N mean 0.N.0).
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 57, 0);

/// Plugins whose fields we provide, with the version we are compatible with.
/// Plugins whose fields we provide, with the version whose field set we implement: the
/// k8saudit plugin's fields (v0.18.0, the same for its EKS/GKE/AKS/OVH variants, which only
/// differ in where they read events from), the json plugin's `jevt.*`, and the container
/// plugin's `container.*` fields of syscall events.
pub const PLUGINS: &[(&str, (u64, u64, u64))] = &[
    ("k8saudit", (0, 18, 0)),
    ("k8saudit-eks", (0, 12, 0)),
    ("k8saudit-gke", (0, 9, 0)),
    ("k8saudit-aks", (0, 6, 0)),
    ("k8saudit-ovh", (0, 6, 0)),
    ("json", (0, 7, 4)),
    ("container", (0, 4, 0)),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Emergency,
    Alert,
    Critical,
    Error,
    Warning,
    Notice,
    Informational,
    Debug,
}

impl Priority {
    pub fn parse(s: &str) -> Option<Priority> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "emergency" => Priority::Emergency,
            "alert" => Priority::Alert,
            "critical" => Priority::Critical,
            "error" => Priority::Error,
            "warning" => Priority::Warning,
            "notice" => Priority::Notice,
            "informational" | "info" => Priority::Informational,
            "debug" => Priority::Debug,
            _ => return None,
        })
    }
    /// Falco's spelling in alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loc {
    pub file: String,
    pub line: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diag {
    pub level: Level,
    pub loc: Loc,
    /// `rule NAME`, `macro NAME`, `list NAME` when known.
    pub item: Option<String>,
    pub message: String,
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lvl = match self.level {
            Level::Warning => "warning",
            Level::Error => "error",
        };
        write!(f, "{}:{}: {lvl}: ", self.loc.file, self.loc.line)?;
        if let Some(i) = &self.item {
            write!(f, "{i}: ")?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Clone, Debug)]
pub struct ListDef {
    pub name: String,
    pub items: Vec<String>,
    pub loc: Loc,
}

#[derive(Clone, Debug)]
pub struct MacroDef {
    pub name: String,
    pub condition: String,
    pub loc: Loc,
}

#[derive(Clone, Debug, Default)]
pub struct Exception {
    pub name: String,
    /// One field (`fields: proc.name`) or a tuple.
    pub fields: Vec<String>,
    pub tuple: bool,
    pub comps: Vec<String>,
    /// One row per value: a tuple of values, or (single field) one value or a list.
    pub values: Vec<Vec<String>>,
}

#[derive(Clone, Debug)]
pub struct RuleDef {
    pub name: String,
    pub condition: String,
    pub output: String,
    pub desc: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub enabled: bool,
    pub source: String,
    pub exceptions: Vec<Exception>,
    pub skip_if_unknown_filter: bool,
    pub loc: Loc,
}

/// What the files define, in load order.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    pub lists: Vec<ListDef>,
    pub macros: Vec<MacroDef>,
    pub rules: Vec<RuleDef>,
    pub diags: Vec<Diag>,
    list_idx: HashMap<String, usize>,
    macro_idx: HashMap<String, usize>,
    rule_idx: HashMap<String, usize>,
}

fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Some((0, n, 0));
    }
    let mut it = s.split('.').map(|p| p.parse::<u64>().ok());
    let a = it.next()??;
    let b = it.next().unwrap_or(Some(0))?;
    let c = it.next().unwrap_or(Some(0))?;
    Some((a, b, c))
}

fn scalar(n: &Node) -> Option<String> {
    n.scalar_string()
}

fn strings(n: &Node) -> Vec<String> {
    if n.is_seq() {
        n.items().iter().filter_map(scalar).collect()
    } else {
        scalar(n).into_iter().collect()
    }
}

impl RuleSet {
    pub fn new() -> RuleSet {
        RuleSet::default()
    }

    pub fn list(&self, name: &str) -> Option<&ListDef> {
        self.list_idx.get(name).map(|&i| &self.lists[i])
    }
    pub fn macro_def(&self, name: &str) -> Option<&MacroDef> {
        self.macro_idx.get(name).map(|&i| &self.macros[i])
    }
    pub fn rule(&self, name: &str) -> Option<&RuleDef> {
        self.rule_idx.get(name).map(|&i| &self.rules[i])
    }
    pub fn errors(&self) -> usize {
        self.diags
            .iter()
            .filter(|d| d.level == Level::Error)
            .count()
    }

    fn diag(
        &mut self,
        level: Level,
        file: &str,
        line: u32,
        item: Option<String>,
        message: impl Into<String>,
    ) {
        self.diags.push(Diag {
            level,
            loc: Loc {
                file: file.to_string(),
                line,
            },
            item,
            message: message.into(),
        });
    }

    /// Loads one rule file's text (`file` names it in diagnostics).
    pub fn load(&mut self, file: &str, text: &str) {
        let docs = parse_documents(
            text,
            Limits {
                shallow_crds: false,
                ..Limits::default()
            },
        );
        for doc in docs {
            let root = match doc.result {
                Ok(Some(n)) => n,
                Ok(None) => continue,
                Err(e) => {
                    self.diag(
                        Level::Error,
                        file,
                        e.pos.line,
                        None,
                        format!("YAML: {}", e.message),
                    );
                    continue;
                }
            };
            if !root.is_seq() {
                self.diag(
                    Level::Error,
                    file,
                    root.pos.line.max(doc.line),
                    None,
                    "a rules file is a list of items (- rule: …, - macro: …, - list: …)",
                );
                continue;
            }
            for item in root.items() {
                self.item(file, item);
            }
        }
    }

    fn item(&mut self, file: &str, item: &Node) {
        let line = item.pos.line;
        if item.is_null() {
            return; // `-` alone: an empty item, which Falco ignores.
        }
        if !item.is_map() {
            self.diag(Level::Error, file, line, None, "item is not a mapping");
            return;
        }
        if let Some(v) = item.get("required_engine_version") {
            match scalar(v).as_deref().and_then(parse_version) {
                Some(req) if req <= ENGINE_VERSION => {}
                Some(req) => self.diag(
                    Level::Error,
                    file,
                    line,
                    None,
                    format!(
                        "rules require engine version {}.{}.{}; this engine is {}.{}.{}",
                        req.0, req.1, req.2, ENGINE_VERSION.0, ENGINE_VERSION.1, ENGINE_VERSION.2
                    ),
                ),
                None => self.diag(
                    Level::Error,
                    file,
                    line,
                    None,
                    "required_engine_version is not a version",
                ),
            }
            return;
        }
        if let Some(v) = item.get("required_plugin_versions") {
            for p in v.items() {
                let mut names = vec![(
                    p.get("name").and_then(scalar),
                    p.get("version").and_then(scalar),
                )];
                for alt in p.get("alternatives").map(Node::items).unwrap_or(&[]) {
                    names.push((
                        alt.get("name").and_then(scalar),
                        alt.get("version").and_then(scalar),
                    ));
                }
                let ok = names.iter().any(|(n, v)| {
                    let (Some(n), Some(v)) = (n, v) else {
                        return false;
                    };
                    let Some(req) = parse_version(v) else {
                        return false;
                    };
                    PLUGINS
                        .iter()
                        .any(|(pn, have)| pn == n && have.0 == req.0 && *have >= req)
                });
                if !ok {
                    let want: Vec<String> = names
                        .iter()
                        .filter_map(|(n, v)| Some(format!("{} {}", n.as_deref()?, v.as_deref()?)))
                        .collect();
                    self.diag(Level::Error, file, p.pos.line, None, format!("required plugin not provided in a compatible version: {} (provided: {})", want.join(" or "), PLUGINS.iter().map(|(n, v)| format!("{n} {}.{}.{}", v.0, v.1, v.2)).collect::<Vec<_>>().join(", ")));
                }
            }
            return;
        }
        let append = item.get("append").and_then(Node::as_bool) == Some(true);
        let overrides: Vec<(String, String)> = item
            .get("override")
            .map(Node::entries)
            .unwrap_or(&[])
            .iter()
            .filter_map(|e| Some((e.key.clone(), scalar(&e.value)?)))
            .collect();
        if let Some(n) = item.get("list") {
            let Some(name) = scalar(n) else {
                self.diag(Level::Error, file, line, None, "list without a name");
                return;
            };
            let items = item.get("items").map(strings).unwrap_or_default();
            let mode = overrides
                .iter()
                .find(|(k, _)| k == "items")
                .map(|(_, v)| v.as_str());
            let appending = append || mode == Some("append");
            match self.list_idx.get(&name).copied() {
                Some(i) if appending => self.lists[i].items.extend(items),
                Some(i) => {
                    self.lists[i] = ListDef {
                        name,
                        items,
                        loc: Loc {
                            file: file.into(),
                            line,
                        },
                    }
                }
                None if appending => self.diag(
                    Level::Error,
                    file,
                    line,
                    Some(format!("list {name}")),
                    "append to a list that is not defined",
                ),
                None => {
                    self.list_idx.insert(name.clone(), self.lists.len());
                    self.lists.push(ListDef {
                        name,
                        items,
                        loc: Loc {
                            file: file.into(),
                            line,
                        },
                    });
                }
            }
            return;
        }
        if let Some(n) = item.get("macro") {
            let Some(name) = scalar(n) else {
                self.diag(Level::Error, file, line, None, "macro without a name");
                return;
            };
            let Some(cond) = item.get("condition").and_then(scalar) else {
                self.diag(
                    Level::Error,
                    file,
                    line,
                    Some(format!("macro {name}")),
                    "macro without a condition",
                );
                return;
            };
            let mode = overrides
                .iter()
                .find(|(k, _)| k == "condition")
                .map(|(_, v)| v.as_str());
            let appending = append || mode == Some("append");
            match self.macro_idx.get(&name).copied() {
                Some(i) if appending => {
                    let m = &mut self.macros[i];
                    m.condition = format!("{} {}", m.condition, cond);
                }
                Some(i) => {
                    self.macros[i] = MacroDef {
                        name,
                        condition: cond,
                        loc: Loc {
                            file: file.into(),
                            line,
                        },
                    }
                }
                None if appending => self.diag(
                    Level::Error,
                    file,
                    line,
                    Some(format!("macro {name}")),
                    "append to a macro that is not defined",
                ),
                None => {
                    self.macro_idx.insert(name.clone(), self.macros.len());
                    self.macros.push(MacroDef {
                        name,
                        condition: cond,
                        loc: Loc {
                            file: file.into(),
                            line,
                        },
                    });
                }
            }
            return;
        }
        if let Some(n) = item.get("rule") {
            self.rule_item(file, item, n, append, &overrides);
            return;
        }
        let keys: Vec<&str> = item.entries().iter().map(|e| e.key.as_str()).collect();
        self.diag(Level::Error, file, line, None, format!("unknown item with keys {keys:?}: expected rule, macro, list, required_engine_version or required_plugin_versions"));
    }

    fn exceptions(&mut self, file: &str, n: &Node, rule: &str) -> Vec<Exception> {
        let mut out = Vec::new();
        for e in n.items() {
            let name = e.get("name").and_then(scalar).unwrap_or_default();
            let (fields, tuple) = match e.get("fields") {
                Some(f) if f.is_seq() => (strings(f), true),
                Some(f) => (strings(f), false),
                None => (Vec::new(), false),
            };
            let comps = match e.get("comps") {
                Some(c) if c.is_seq() => strings(c),
                Some(c) => strings(c),
                None => vec!["=".to_string(); fields.len().max(1)],
            };
            if tuple && comps.len() != fields.len() {
                self.diag(
                    Level::Error,
                    file,
                    e.pos.line,
                    Some(format!("rule {rule}")),
                    format!(
                        "exception {name:?}: {} fields but {} comps",
                        fields.len(),
                        comps.len()
                    ),
                );
                continue;
            }
            let mut values = Vec::new();
            for v in e.get("values").map(Node::items).unwrap_or(&[]) {
                let row = strings(v);
                if tuple && row.len() != fields.len() {
                    self.diag(
                        Level::Error,
                        file,
                        v.pos.line,
                        Some(format!("rule {rule}")),
                        format!(
                            "exception {name:?}: a value has {} items for {} fields",
                            row.len(),
                            fields.len()
                        ),
                    );
                    continue;
                }
                values.push(row);
            }
            out.push(Exception {
                name,
                fields,
                tuple,
                comps,
                values,
            });
        }
        out
    }

    fn rule_item(
        &mut self,
        file: &str,
        item: &Node,
        n: &Node,
        append: bool,
        overrides: &[(String, String)],
    ) {
        let line = item.pos.line;
        let Some(name) = scalar(n) else {
            self.diag(Level::Error, file, line, None, "rule without a name");
            return;
        };
        let label = Some(format!("rule {name}"));
        let get = |k: &str| item.get(k).and_then(scalar);
        let exceptions = item
            .get("exceptions")
            .map(|e| self.exceptions(file, e, &name))
            .unwrap_or_default();
        if let Some(&i) = self.rule_idx.get(&name) {
            let only_enabled = item
                .entries()
                .iter()
                .all(|e| e.key == "rule" || e.key == "enabled");
            if append || !overrides.is_empty() || only_enabled {
                let r = &mut self.rules[i];
                let mode = |k: &str| -> Option<&str> {
                    overrides
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| v.as_str())
                        .or(if append { Some("append") } else { None })
                };
                for (key, field) in [("condition", 0), ("output", 1), ("desc", 2)] {
                    if let Some(v) = get(key) {
                        let slot = match field {
                            0 => &mut r.condition,
                            1 => &mut r.output,
                            _ => &mut r.desc,
                        };
                        match mode(key) {
                            Some("replace") => *slot = v,
                            _ => *slot = format!("{slot} {v}"),
                        }
                    }
                }
                if let Some(p) = get("priority") {
                    match Priority::parse(&p) {
                        Some(p) => r.priority = p,
                        None => {
                            let msg = format!("unknown priority {p:?}");
                            self.diag(Level::Error, file, line, label, msg);
                            return;
                        }
                    }
                }
                if let Some(t) = item.get("tags") {
                    let tags = strings(t);
                    if mode("tags") == Some("replace") {
                        r.tags = tags;
                    } else {
                        r.tags.extend(tags);
                    }
                }
                if let Some(e) = item.get("enabled").and_then(Node::as_bool) {
                    r.enabled = e;
                }
                for ex in exceptions {
                    match r.exceptions.iter_mut().find(|x| x.name == ex.name) {
                        Some(x) if mode("exceptions") != Some("replace") => {
                            x.values.extend(ex.values)
                        }
                        Some(x) => *x = ex,
                        None => r.exceptions.push(ex),
                    }
                }
                return;
            }
        } else if append || !overrides.is_empty() {
            self.diag(
                Level::Error,
                file,
                line,
                label,
                "append or override of a rule that is not defined",
            );
            return;
        } else if item
            .entries()
            .iter()
            .all(|e| e.key == "rule" || e.key == "enabled")
        {
            self.diag(
                Level::Error,
                file,
                line,
                label,
                "enabled: set on a rule that is not defined",
            );
            return;
        }
        let mut missing = Vec::new();
        for k in ["condition", "output", "desc", "priority"] {
            if get(k).is_none() {
                missing.push(k);
            }
        }
        if !missing.is_empty() {
            self.diag(
                Level::Error,
                file,
                line,
                label,
                format!("missing {}", missing.join(", ")),
            );
            return;
        }
        let prio_text = get("priority").unwrap_or_default();
        let Some(priority) = Priority::parse(&prio_text) else {
            self.diag(Level::Error, file, line, label, format!("unknown priority {prio_text:?} (emergency, alert, critical, error, warning, notice, informational, debug)"));
            return;
        };
        let rule = RuleDef {
            name: name.clone(),
            condition: get("condition").unwrap_or_default(),
            output: get("output").unwrap_or_default(),
            desc: get("desc").unwrap_or_default(),
            priority,
            tags: item.get("tags").map(strings).unwrap_or_default(),
            enabled: item.get("enabled").and_then(Node::as_bool).unwrap_or(true),
            source: get("source").unwrap_or_else(|| "syscall".into()),
            exceptions,
            skip_if_unknown_filter: item.get("skip-if-unknown-filter").and_then(Node::as_bool)
                == Some(true),
            loc: Loc {
                file: file.into(),
                line,
            },
        };
        match self.rule_idx.get(&name).copied() {
            // A redefinition replaces the rule where it was.
            Some(i) => self.rules[i] = rule,
            None => {
                self.rule_idx.insert(name, self.rules.len());
                self.rules.push(rule);
            }
        }
    }
}
