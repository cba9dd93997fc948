//! The merged view of an image's layers, built from each layer's facts (never from
//! extracted files): whiteouts delete a path and everything under it from the layers below,
//! an opaque directory hides everything its lower versions held, and a path written again
//! replaces the lower file and that file's facts.

use crate::model::{Entry, FileFacts, Kind, LayerFacts};
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct Merged {
    /// path → (layer index, entry).
    pub entries: BTreeMap<String, (usize, Entry)>,
    /// path → (layer index, facts) for the files the catalogers read.
    pub facts: BTreeMap<String, (usize, FileFacts)>,
}

fn remove_under<V>(m: &mut BTreeMap<String, V>, dir: &str, keep_dir: bool) {
    let prefix = format!("{dir}/");
    let keys: Vec<String> = m
        .range(dir.to_string()..)
        .take_while(|(k, _)| k.as_str() == dir || k.starts_with(&prefix))
        .filter(|(k, _)| !(keep_dir && k.as_str() == dir))
        .map(|(k, _)| k.clone())
        .collect();
    for k in keys {
        m.remove(&k);
    }
}

impl Merged {
    /// Applies layers bottom to top.
    pub fn build<'a>(layers: impl IntoIterator<Item = &'a LayerFacts>) -> Merged {
        let mut m = Merged::default();
        for (i, l) in layers.into_iter().enumerate() {
            m.apply(i, l);
        }
        m
    }

    fn apply(&mut self, idx: usize, l: &LayerFacts) {
        // Whiteouts of a layer apply to the layers below it only, whatever their order in the tar.
        for e in &l.entries {
            match e.kind {
                Kind::Whiteout => {
                    remove_under(&mut self.entries, &e.path, false);
                    remove_under(&mut self.facts, &e.path, false);
                }
                Kind::Opaque => {
                    remove_under(&mut self.entries, &e.path, true);
                    remove_under(&mut self.facts, &e.path, true);
                }
                _ => {}
            }
        }
        for e in &l.entries {
            if matches!(e.kind, Kind::Whiteout | Kind::Opaque) {
                continue;
            }
            // A file replaced by a non-directory hides what was under a directory of that name.
            if e.kind != Kind::Dir {
                if let Some((_, old)) = self.entries.get(&e.path) {
                    if old.kind == Kind::Dir {
                        remove_under(&mut self.entries, &e.path, false);
                        remove_under(&mut self.facts, &e.path, false);
                    }
                }
            }
            self.facts.remove(&e.path);
            self.entries.insert(e.path.clone(), (idx, e.clone()));
        }
        for f in &l.files {
            self.facts.insert(f.path.clone(), (idx, f.clone()));
        }
    }

    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries
            .get(path.trim_start_matches('/'))
            .map(|(_, e)| e)
    }

    /// Resolves symlinks (up to 16 hops) of a path inside the image.
    pub fn resolve(&self, path: &str) -> Option<&Entry> {
        let mut p = path.trim_start_matches('/').to_string();
        for _ in 0..16 {
            let e = self.get(&p)?;
            if e.kind != Kind::Symlink {
                return Some(e);
            }
            let target = e.link.as_deref()?;
            p = if target.starts_with('/') {
                target.trim_start_matches('/').to_string()
            } else {
                let dir = p.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                crate::layer::normalize(&format!("{dir}/{target}"))?
            };
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ANALYZER_VERSION;

    fn e(path: &str, kind: Kind) -> Entry {
        Entry {
            path: path.into(),
            kind,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 1,
            link: None,
        }
    }

    fn layer(entries: Vec<Entry>) -> LayerFacts {
        LayerFacts {
            analyzer: ANALYZER_VERSION,
            digest: String::new(),
            entries,
            files: vec![],
            skipped: vec![],
        }
    }

    #[test]
    fn whiteout_and_opaque() {
        let l1 = layer(vec![
            e("a", Kind::Dir),
            e("a/x", Kind::File),
            e("a/y", Kind::File),
            e("b", Kind::Dir),
            e("b/z", Kind::File),
            e("ab", Kind::File),
        ]);
        // Layer 2 deletes a/x, makes b opaque and adds b/new; the order inside the tar is irrelevant.
        let l2 = layer(vec![
            e("b/new", Kind::File),
            e("a/x", Kind::Whiteout),
            e("b", Kind::Opaque),
        ]);
        let m = Merged::build([&l1, &l2]);
        let paths: Vec<&str> = m.entries.keys().map(|s| s.as_str()).collect();
        assert_eq!(paths, ["a", "a/y", "ab", "b", "b/new"]);
        // A whiteout of a directory removes its whole subtree, but not siblings sharing a prefix.
        let l3 = layer(vec![e("a", Kind::Whiteout)]);
        let m = Merged::build([&l1, &l2, &l3]);
        assert!(m.get("a/y").is_none() && m.get("ab").is_some());
    }
}
