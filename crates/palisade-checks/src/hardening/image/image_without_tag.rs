use super::{each_image, emit_at_image};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags container images referenced with neither a tag nor a digest, e.g. `nginx` or
    /// `ghcr.io/acme/api`. Every container is checked, including init and ephemeral
    /// containers.
    ///
    /// ## Why is this bad?
    /// An untagged reference means `:latest`: whatever was pushed last. Two nodes can run
    /// different code for the same pod spec, a rollback does not roll anything back, and a
    /// compromised or careless push reaches production on the next pod start. Because the
    /// tag is implicit, the API server also defaults `imagePullPolicy` to `Always`, making
    /// every start depend on the registry.
    ///
    /// ## Example
    /// ```yaml
    /// image: ghcr.io/acme/api
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// image: ghcr.io/acme/api:2.3.1@sha256:<digest>
    /// ```
    pub struct ImageWithoutTag {
        id: "PAL201",
        name: "image-without-tag",
        title: "Image without tag",
        severity: Medium,
        category: Image,
        pss: None,
        cis: None,
        nsa: None,
        mitre: &["T1525"],
    }
}

impl Check for ImageWithoutTag {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        each_image(obj, |c, image, r| {
            if r.tag.is_none() && r.digest.is_none() {
                emit_at_image(
                    out,
                    c,
                    format!(
                        "{} uses image {image:?} without a tag or digest, which means :latest",
                        c.label()
                    ),
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
    fn flags_untagged_images_in_every_container_kind() {
        let f = run(
            &ImageWithoutTag,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: init
      image: busybox
  containers:
    - name: a
      image: ghcr.io/acme/api:2.3.1
    - name: b
      image: localhost:5000/acme/api
  ephemeralContainers:
    - name: debug
      image: nicolaka/netshoot
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.initContainers[0].image",
                "spec.containers[1].image",
                "spec.ephemeralContainers[0].image",
            ]
        );
        assert_eq!(f[0].line, 8);
        assert_eq!(f[1].line, 13);
        assert_eq!(
            f[1].message,
            "container \"b\" uses image \"localhost:5000/acme/api\" without a tag or digest, which means :latest"
        );
    }

    #[test]
    fn tagged_digested_and_unparseable_images_are_clean() {
        let f = run(
            &ImageWithoutTag,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
        - {name: a, image: "nginx:1.25"}
        - {name: b, image: "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
        - {name: c, image: "not an image"}
        - {name: d}
        - {name: e, image: 42}
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
