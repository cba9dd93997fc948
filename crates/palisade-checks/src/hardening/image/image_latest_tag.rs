use super::{each_image, emit_at_image};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags container images tagged `:latest`. A reference that also carries a digest
    /// (`app:latest@sha256:…`) is not flagged: the runtime pulls by digest and ignores the
    /// tag. Untagged images are PAL201's job. Every container is checked, including init and
    /// ephemeral containers.
    ///
    /// ## Why is this bad?
    /// `latest` is just the tag that moves with every push. Which code runs depends on when
    /// each node pulled; rollbacks are impossible, audits cannot say what ran, and a bad
    /// or malicious push is deployed silently on the next pod start.
    ///
    /// ## Example
    /// ```yaml
    /// image: nginx:latest
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// image: nginx:1.27.3@sha256:<digest>
    /// ```
    pub struct ImageLatestTag {
        id: "PAL202",
        name: "image-latest-tag",
        title: "Image tagged latest",
        severity: Medium,
        category: Image,
        pss: None,
        cis: None,
        nsa: None,
        mitre: &["T1525"],
    }
}

impl Check for ImageLatestTag {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        each_image(obj, |c, image, r| {
            if r.tag.as_deref() == Some("latest") && r.digest.is_none() {
                emit_at_image(
                    out,
                    c,
                    format!("{} uses the mutable tag :latest ({image:?})", c.label()),
                );
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_latest_tag() {
        let f = run(
            &ImageLatestTag,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
        - name: a
          image: nginx:latest
        - name: b
          image: "localhost:5000/latest:1.0"
        - name: c
          image: nginx
"#,
        );
        assert_eq!(paths(&f), ["spec.template.spec.containers[0].image"]);
        assert_eq!(f[0].line, 10);
        assert_eq!(
            f[0].message,
            "container \"a\" uses the mutable tag :latest (\"nginx:latest\")"
        );
    }

    #[test]
    fn pinned_latest_and_versions_are_clean() {
        let f = run(
            &ImageLatestTag,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      image: nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    - name: b
      image: nginx:1.25-latest
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
