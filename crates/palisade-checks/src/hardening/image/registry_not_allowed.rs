use super::{each_image, emit_at_image};
use crate::context::{Check, Context, Emitter};
use crate::declare_check;
use palisade_model::Object;

declare_check! {
    /// ## What it does
    /// Flags container images whose registry is not in the allowlist configured in
    /// `.palisade.yaml`:
    ///
    /// ```yaml
    /// registries: [ghcr.io/acme, registry.k8s.io, "123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    /// ```
    ///
    /// An entry is a registry host (with its port, if any: `localhost:5000`) or a host and
    /// path prefix (`ghcr.io/acme`), matched at `/` boundaries, so `ghcr.io/acme` allows
    /// `ghcr.io/acme/api` but not `ghcr.io/acme-evil/api`. Images without a registry host
    /// are on Docker Hub and are matched as `docker.io/<repository>`, with official images
    /// under `docker.io/library` (`nginx` is `docker.io/library/nginx`). Hosts compare
    /// case-insensitively. **With no `registries:` configured this check reports nothing.**
    /// Every container is checked, including init and ephemeral containers.
    ///
    /// ## Why is this bad?
    /// Images from arbitrary registries bypass whatever your own registry enforces
    /// (vulnerability scanning, signing, retention, mirroring), and a typo or a look-alike
    /// name (`docker.io/acme` vs `ghcr.io/acme`) pulls code from someone else.
    ///
    /// ## Example
    /// With `registries: [ghcr.io/acme]`:
    /// ```yaml
    /// image: docker.io/someone/api:2.3.1
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// image: ghcr.io/acme/api:2.3.1
    /// ```
    /// Mirror third-party images into an allowed registry, or add their registry to
    /// `registries:`.
    pub struct ImageRegistryNotAllowed {
        id: "PAL204",
        name: "image-registry-not-allowed",
        title: "Image from a registry not allowed",
        severity: High,
        category: Image,
        pss: None,
        cis: Some("5.5.1"),
        nsa: None,
        mitre: &["T1525"],
    }
}

impl Check for ImageRegistryNotAllowed {
    fn meta(&self) -> &'static crate::CheckMeta {
        &Self::META
    }
    fn check(&self, cx: &Context<'_>, obj: &Object, out: &mut Emitter<'_>) {
        let allowed = &cx.settings.allowed_registries;
        if allowed.iter().all(|a| a.trim().is_empty()) {
            return;
        }
        each_image(obj, |c, image, r| {
            if !allowed.iter().any(|a| r.is_from(a)) {
                emit_at_image(
                    out,
                    c,
                    format!(
                        "{} uses image {image:?} from {}, which is not an allowed registry",
                        c.label(),
                        r.name()
                    ),
                );
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{CheckSettings, PssVersion};
    use crate::testing::{paths, run, run_with};

    const PODS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  initContainers:
    - name: init
      image: registry.k8s.io/pause:3.9
  containers:
    - name: ours
      image: ghcr.io/acme/api:2.3.1
    - name: lookalike
      image: ghcr.io/acme-evil/api:2.3.1
    - name: hub
      image: nginx:1.25
  ephemeralContainers:
    - name: debug
      image: localhost:5000/tools
"#;

    fn settings(allowed: &[&str]) -> CheckSettings {
        CheckSettings {
            allowed_registries: allowed.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn flags_images_outside_the_allowlist() {
        let f = run_with(
            &ImageRegistryNotAllowed,
            PODS,
            &settings(&["ghcr.io/acme", "REGISTRY.k8s.io"]),
            PssVersion::LATEST,
        );
        assert_eq!(
            paths(&f),
            [
                "spec.containers[1].image",
                "spec.containers[2].image",
                "spec.ephemeralContainers[0].image",
            ]
        );
        assert_eq!(f[0].line, 13);
        assert_eq!(
            f[0].message,
            "container \"lookalike\" uses image \"ghcr.io/acme-evil/api:2.3.1\" from ghcr.io/acme-evil/api, which is not an allowed registry"
        );
        assert!(f[1].message.contains("from docker.io/library/nginx"));
    }

    #[test]
    fn allowed_images_are_clean() {
        let f = run_with(
            &ImageRegistryNotAllowed,
            PODS,
            &settings(&[
                "ghcr.io",
                "registry.k8s.io",
                "docker.io/library",
                "localhost:5000",
            ]),
            PssVersion::LATEST,
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn empty_allowlist_reports_nothing() {
        assert!(run(&ImageRegistryNotAllowed, PODS).is_empty());
        let f = run_with(
            &ImageRegistryNotAllowed,
            PODS,
            &settings(&[""]),
            PssVersion::LATEST,
        );
        assert!(f.is_empty());
    }
}
