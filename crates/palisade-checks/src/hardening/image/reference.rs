//! Container image references, `[registry[:port]/]repository[:tag][@digest]`, resolved the
//! way container runtimes resolve them: the first path component is a registry host only
//! when it contains `.` or `:` or is `localhost`; otherwise the image is on Docker Hub
//! (`docker.io`), where single-name images live under `library/`.

/// The registry images without a registry host come from.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host, with its port when given, lower-cased: `ghcr.io`, `localhost:5000`.
    /// [`DEFAULT_REGISTRY`] when the reference names none (`index.docker.io` is an alias).
    pub registry: String,
    /// The repository path inside the registry: `library/nginx`, `org/app`.
    pub repository: String,
    /// The tag, without `:`.
    pub tag: Option<String>,
    /// The digest, without `@`: `sha256:…`.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference; `None` when it is empty or malformed (whitespace, empty
    /// components, an empty tag or digest, a `:` inside a repository component), as
    /// unrendered templates such as `{{ .Values.image }}` are.
    pub fn parse(image: &str) -> Option<ImageRef> {
        let s = image.trim();
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (name, digest) = match s.split_once('@') {
            Some((name, digest)) => {
                let (algorithm, hex) = digest.split_once(':')?;
                if algorithm.is_empty() || hex.is_empty() || digest.contains('@') {
                    return None;
                }
                (name, Some(digest.to_string()))
            }
            None => (s, None),
        };
        let (registry, path) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (normalise_host(first), rest)
            }
            _ => (DEFAULT_REGISTRY.to_string(), name),
        };
        let last_slash = path.rfind('/');
        let (repository, tag) = match path.rfind(':') {
            Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
                let tag = &path[colon + 1..];
                if tag.is_empty() {
                    return None;
                }
                (&path[..colon], Some(tag.to_string()))
            }
            Some(_) => return None,
            None => (path, None),
        };
        if registry.is_empty() || repository.split('/').any(str::is_empty) {
            return None;
        }
        let repository = if registry == DEFAULT_REGISTRY && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository.to_string()
        };
        Some(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// `registry/repository`, fully qualified: `docker.io/library/nginx`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `true` when the reference is pinned by a content digest.
    pub fn is_pinned(&self) -> bool {
        self.digest.is_some()
    }

    /// `true` when the reference follows a moving target: no digest, and the tag is
    /// `latest` or absent (which means `latest`).
    pub fn is_floating(&self) -> bool {
        !self.is_pinned() && self.tag.as_deref().is_none_or(|t| t == "latest")
    }

    /// `true` when the image comes from `prefix`: a registry host (`ghcr.io`,
    /// `localhost:5000`) or a host and path prefix (`ghcr.io/acme`), matched at `/`
    /// boundaries (`ghcr.io/acme` does not match `ghcr.io/acme-evil/x`). Hosts compare
    /// case-insensitively; a scheme (`https://`) and trailing `/` in `prefix` are ignored.
    pub fn is_from(&self, prefix: &str) -> bool {
        let p = prefix.trim();
        let p = p
            .strip_prefix("https://")
            .or_else(|| p.strip_prefix("http://"))
            .unwrap_or(p)
            .trim_end_matches('/');
        if p.is_empty() {
            return false;
        }
        let (host, path) = match p.split_once('/') {
            Some((h, rest)) => (normalise_host(h), Some(rest)),
            None => (normalise_host(p), None),
        };
        if host != self.registry {
            return false;
        }
        match path {
            None => true,
            Some(path) => {
                self.repository == path
                    || self
                        .repository
                        .strip_prefix(path)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
        }
    }
}

fn normalise_host(host: &str) -> String {
    let h = host.to_ascii_lowercase();
    if h == "index.docker.io" {
        DEFAULT_REGISTRY.to_string()
    } else {
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parts(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r = ImageRef::parse(s).unwrap_or_else(|| panic!("{s} does not parse"));
        (r.registry, r.repository, r.tag, r.digest)
    }

    fn own(
        reg: &str,
        repo: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> (String, String, Option<String>, Option<String>) {
        (
            reg.to_string(),
            repo.to_string(),
            tag.map(str::to_string),
            digest.map(str::to_string),
        )
    }

    #[test]
    fn parses_references() {
        assert_eq!(
            parts("nginx"),
            own("docker.io", "library/nginx", None, None)
        );
        assert_eq!(
            parts("nginx:1.25"),
            own("docker.io", "library/nginx", Some("1.25"), None)
        );
        assert_eq!(
            parts(&format!("docker.io/library/nginx@{SHA}")),
            own("docker.io", "library/nginx", None, Some(SHA))
        );
        assert_eq!(
            parts("localhost:5000/app"),
            own("localhost:5000", "app", None, None)
        );
        assert_eq!(
            parts("localhost/app:dev"),
            own("localhost", "app", Some("dev"), None)
        );
        assert_eq!(
            parts("registry.k8s.io/pause:3.9"),
            own("registry.k8s.io", "pause", Some("3.9"), None)
        );
        assert_eq!(
            parts(&format!("ghcr.io/org/app:v1@{SHA}")),
            own("ghcr.io", "org/app", Some("v1"), Some(SHA))
        );
        assert_eq!(
            parts("my-registry:5000/a/b"),
            own("my-registry:5000", "a/b", None, None)
        );
        assert_eq!(
            parts("bitnami/redis:7.2"),
            own("docker.io", "bitnami/redis", Some("7.2"), None)
        );
        assert_eq!(
            parts("Index.Docker.IO/nginx"),
            own("docker.io", "library/nginx", None, None)
        );
        assert_eq!(
            parts("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:2024-01-01"),
            own(
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
                "team/api",
                Some("2024-01-01"),
                None
            )
        );
        // A single name with a colon is a Docker Hub image with a tag, not a registry.
        assert_eq!(
            parts("localhost:5000"),
            own("docker.io", "library/localhost", Some("5000"), None)
        );
        assert_eq!(
            parts(" nginx:1 "),
            own("docker.io", "library/nginx", Some("1"), None)
        );
    }

    #[test]
    fn rejects_malformed_references() {
        for s in [
            "",
            "   ",
            "nginx:",
            "nginx@",
            "nginx@sha256:",
            "nginx@sha256",
            "a//b",
            "ghcr.io/",
            "ghcr.io/org/",
            ":tag",
            "{{ .Values.image }}",
            "my image",
            "ghcr.io/a:b/c",
            "a@sha256:1@sha256:2",
        ] {
            assert_eq!(ImageRef::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn floating_and_pinned() {
        let r = |s: &str| ImageRef::parse(s).unwrap();
        assert!(r("nginx").is_floating());
        assert!(r("nginx:latest").is_floating());
        assert!(!r("nginx:1.25").is_floating());
        assert!(!r(&format!("nginx:latest@{SHA}")).is_floating());
        assert!(r(&format!("nginx@{SHA}")).is_pinned());
        assert!(!r("nginx:1.25").is_pinned());
        assert_eq!(r("nginx").name(), "docker.io/library/nginx");
    }

    #[test]
    fn registry_prefixes_match_at_boundaries() {
        let r = |s: &str| ImageRef::parse(s).unwrap();
        assert!(r("ghcr.io/acme/app:1").is_from("ghcr.io"));
        assert!(r("ghcr.io/acme/app:1").is_from("ghcr.io/acme"));
        assert!(r("ghcr.io/acme/app:1").is_from("https://GHCR.io/acme/"));
        assert!(r("ghcr.io/acme/app:1").is_from("ghcr.io/acme/app"));
        assert!(!r("ghcr.io/acme-evil/app:1").is_from("ghcr.io/acme"));
        assert!(!r("ghcr.io.evil.com/acme/app").is_from("ghcr.io"));
        assert!(!r("localhost:5000/app").is_from("localhost"));
        assert!(r("localhost:5000/app").is_from("localhost:5000"));
        assert!(r("nginx").is_from("docker.io"));
        assert!(r("nginx").is_from("docker.io/library"));
        assert!(r("nginx").is_from("index.docker.io"));
        assert!(!r("bitnami/redis").is_from("docker.io/library"));
        assert!(!r("nginx").is_from(""));
        assert!(!r("nginx").is_from("/"));
    }
}
