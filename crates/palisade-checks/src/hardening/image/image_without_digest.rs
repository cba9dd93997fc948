use super::{each_image, emit_at_image};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags container images that are not pinned by a content digest (`@sha256:…`),
    /// whatever their tag. Every container is checked, including init and ephemeral
    /// containers.
    ///
    /// ## Why is this bad?
    /// Tags are mutable: whoever can push to the repository (or compromise it) can point
    /// `1.4.2` at different content, and nodes pull the new content on their next start. A
    /// digest names the exact bytes: it cannot be moved, and signatures and scan results
    /// attach to it.
    ///
    /// ## Example
    /// ```yaml
    /// image: ghcr.io/acme/api:2.3.1
    /// ```
    ///
    /// ## Use instead
    /// Keep the tag for readability and add the digest (`crane digest`, `docker buildx
    /// imagetools inspect`, or let Renovate/Dependabot maintain it):
    /// ```yaml
    /// image: ghcr.io/acme/api:2.3.1@sha256:<digest>
    /// ```
    pub struct ImageWithoutDigest {
        id: "PAL203",
        name: "image-without-digest",
        title: "Image not pinned by digest",
        severity: Low,
        category: Image,
        pss: None,
        cis: None,
        nsa: None,
        mitre: &["T1525"],
    }
}

impl Check for ImageWithoutDigest {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        each_image(obj, |c, image, r| {
            if !r.is_pinned() {
                emit_at_image(
                    out,
                    c,
                    format!("{} uses image {image:?} without a digest", c.label()),
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
    fn flags_images_without_digest() {
        let f = run(
            &ImageWithoutDigest,
            r#"
apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec:
  template:
    spec:
      containers:
        - name: a
          image: ghcr.io/acme/api:2.3.1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        - name: b
          image: ghcr.io/acme/api:2.3.1
"#,
        );
        assert_eq!(paths(&f), ["spec.template.spec.containers[1].image"]);
        assert_eq!(f[0].line, 12);
        assert_eq!(
            f[0].message,
            "container \"b\" uses image \"ghcr.io/acme/api:2.3.1\" without a digest"
        );
    }

    #[test]
    fn digests_are_clean() {
        let f = run(
            &ImageWithoutDigest,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      image: registry.k8s.io/pause@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
