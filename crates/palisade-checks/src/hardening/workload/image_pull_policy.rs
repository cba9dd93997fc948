use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use crate::hardening::image::ImageRef;
use palisade_model::{Node, Object};

declare_check! {
    /// ## What it does
    /// Flags containers that set `imagePullPolicy: IfNotPresent` or `Never` for an image
    /// that follows a moving target: tagged `latest` or untagged, and without a digest.
    /// Every container is checked, including init and ephemeral containers.
    ///
    /// When `imagePullPolicy` is not set, such images default to `Always` and are not
    /// flagged; the tag itself is reported by PAL201 and PAL202.
    ///
    /// ## Why is this bad?
    /// With a moving reference and no pull, each node runs whatever copy it happens to have
    /// cached: nodes disagree about the code, an update never arrives, and an image
    /// planted or left in a node's cache (by another workload, or a previous tenant) is
    /// used without the registry ever being asked.
    ///
    /// ## Example
    /// ```yaml
    /// image: ghcr.io/acme/api:latest
    /// imagePullPolicy: IfNotPresent
    /// ```
    ///
    /// ## Use instead
    /// Pin the image, and `IfNotPresent` is safe:
    /// ```yaml
    /// image: ghcr.io/acme/api:2.3.1@sha256:<digest>
    /// imagePullPolicy: IfNotPresent
    /// ```
    /// or, while still on a moving tag, use `imagePullPolicy: Always`.
    pub struct ImagePullPolicy {
        id: "PAL119",
        name: "image-pull-policy",
        title: "Moving image tag not pulled",
        severity: Low,
        category: Workload,
        pss: None,
        cis: None,
        nsa: None,
        mitre: &["T1525"],
    }
}

impl Check for ImagePullPolicy {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, _cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let Some(pod) = obj.pod() else { return };
        let f = ["imagePullPolicy"];
        for c in pod.containers() {
            let Some(policy) = c.node.get(f[0]).and_then(Node::as_str) else {
                continue;
            };
            if policy != "IfNotPresent" && policy != "Never" {
                continue;
            }
            let Some(image) = c.image() else { continue };
            if !ImageRef::parse(image).is_some_and(|r| r.is_floating()) {
                continue;
            }
            out.emit(
                c.path(&f),
                c.locate(&f),
                format!(
                    "{} uses imagePullPolicy {policy} with the moving image {:?}: nodes may run a stale or substituted copy",
                    c.label(),
                    image.trim()
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{paths, run};

    #[test]
    fn flags_moving_images_that_are_not_pulled() {
        let f = run(
            &ImagePullPolicy,
            r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: init
      image: busybox
      imagePullPolicy: Never
  containers:
    - name: a
      image: ghcr.io/acme/api:latest
      imagePullPolicy: IfNotPresent
    - name: b
      image: ghcr.io/acme/api:latest
      imagePullPolicy: Always
    - name: c
      image: ghcr.io/acme/api:latest
"#,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.initContainers[0].imagePullPolicy",
                "spec.containers[0].imagePullPolicy"
            ]
        );
        assert_eq!(f[0].line, 9);
        assert_eq!(f[1].line, 13);
        assert!(f[1].message.contains(
            "imagePullPolicy IfNotPresent with the moving image \"ghcr.io/acme/api:latest\""
        ));
    }

    #[test]
    fn pinned_or_versioned_images_are_clean() {
        let f = run(
            &ImagePullPolicy,
            r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    spec:
      containers:
        - {name: a, image: "nginx:1.25", imagePullPolicy: IfNotPresent}
        - name: b
          image: nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          imagePullPolicy: Never
        - {name: c, image: "not an image", imagePullPolicy: IfNotPresent}
"#,
        );
        assert!(f.is_empty(), "{f:?}");
    }
}
