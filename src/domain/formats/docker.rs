//! Docker remotes (OCI distribution): paths are `<image>/manifests/<ref>`, `<image>/blobs/<digest>`
//! and `<image>/tags/list` under the upstream's `/v2/`. Tag manifests and tag lists change
//! (mutable); digests never do (immutable) and are verified. Manifests are negotiated on `Accept`
//! (a tag can name an index for one client and a single manifest for another), and a manifest
//! fetched by tag is also kept under its digest, so a later pull by digest needs no upstream.
use sha2::{Digest as _, Sha256};

use super::Format;
use super::links::{ExternalFile, LinkError, LinkSigner};
use crate::domain::cache_policy::CacheClass;
use crate::domain::digest::Digest;

pub struct Docker;

/// The media types that decide which manifest an upstream returns for a tag.
const MANIFEST_TYPES: [&str; 6] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/vnd.docker.distribution.manifest.v1+json",
];

/// The parts of a docker path.
#[derive(Debug, PartialEq, Eq)]
enum Part<'a> {
    Manifest { image: &'a str, reference: &'a str },
    Blob { image: &'a str, digest: &'a str },
    Tags { image: &'a str },
    Other,
}

fn split(path: &str) -> Part<'_> {
    if let Some(image) = path.strip_suffix("/tags/list") {
        return Part::Tags { image };
    }
    let Some((prefix, last)) = path.rsplit_once('/') else {
        return Part::Other;
    };
    match prefix.rsplit_once('/') {
        Some((image, "manifests")) => Part::Manifest { image, reference: last },
        Some((image, "blobs")) => Part::Blob { image, digest: last },
        _ => Part::Other,
    }
}

fn digest_in(reference: &str) -> Option<Digest> {
    Digest::parse(reference).ok()
}

impl Format for Docker {
    fn classify(&self, path: &str) -> CacheClass {
        match split(path) {
            Part::Manifest { reference, .. } if digest_in(reference).is_none() => CacheClass::Mutable,
            Part::Tags { .. } => CacheClass::Mutable,
            _ => CacheClass::Immutable,
        }
    }

    fn upstream_url(&self, base: &str, path: &str) -> String {
        format!("{}/v2/{path}", base.trim_end_matches('/'))
    }

    /// The image name, so patterns allow or block whole images.
    fn pattern_subject<'a>(&self, path: &'a str) -> &'a str {
        match split(path) {
            Part::Manifest { image, .. } | Part::Blob { image, .. } | Part::Tags { image } => image,
            Part::Other => path,
        }
    }

    /// Docker has no index pages that bypass the allowlist: a tag is an image.
    fn is_exempt_index(&self, _path: &str) -> bool {
        false
    }

    /// Blobs and manifests by digest carry the digest the content must have.
    fn locate(&self, base: &str, _repo: &str, path: &str, _signer: &LinkSigner) -> Result<ExternalFile, LinkError> {
        let expected = match split(path) {
            Part::Manifest { reference, .. } => digest_in(reference),
            Part::Blob { digest, .. } => digest_in(digest),
            _ => None,
        };
        Ok(ExternalFile {
            url: self.upstream_url(base, path),
            expected,
            expected_sha512: None,
        })
    }

    /// Tag manifests: one cached copy per set of manifest types the client accepts.
    fn variant(&self, path: &str, accept: Option<&str>, _public_base: Option<&str>) -> Option<String> {
        let Part::Manifest { reference, .. } = split(path) else {
            return None;
        };
        if digest_in(reference).is_some() {
            return None;
        }
        let accepted: Vec<&str> = MANIFEST_TYPES
            .iter()
            .copied()
            .filter(|t| accept.is_some_and(|a| a.contains(t)))
            .collect();
        let hash = hex::encode(Sha256::digest(accepted.join(",").as_bytes()));
        Some(format!("accept-{}", &hash[..12]))
    }

    fn tag_of<'a>(&self, path: &'a str) -> Option<&'a str> {
        match split(path) {
            Part::Manifest { reference, .. } if digest_in(reference).is_none() => Some(reference),
            _ => None,
        }
    }

    fn preemptive_basic(&self) -> bool {
        false
    }

    fn forwards_accept(&self, path: &str) -> bool {
        matches!(split(path), Part::Manifest { .. })
    }

    /// Manifests are small and clients need their digest in the headers: serve them stored.
    fn buffered(&self, path: &str) -> bool {
        matches!(split(path), Part::Manifest { .. })
    }

    fn alias(&self, path: &str, digest: &Digest) -> Option<String> {
        match split(path) {
            Part::Manifest { image, reference } if digest_in(reference).is_none() => {
                Some(format!("{image}/manifests/{digest}"))
            }
            _ => None,
        }
    }
}

/// A `WWW-Authenticate: Bearer realm="...",service="...",scope="..."` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BearerChallenge {
    pub realm: String,
    pub service: Option<String>,
    pub scope: Option<String>,
}

impl BearerChallenge {
    /// Parses the header value; `None` when it is not a Bearer challenge with a realm.
    pub fn parse(header: &str) -> Option<Self> {
        let (scheme, params) = header.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let (mut realm, mut service, mut scope) = (None, None, None);
        let mut rest = params.trim();
        while !rest.is_empty() {
            let (key, after) = rest.split_once('=')?;
            let key = key.trim().to_ascii_lowercase();
            let after = after.trim_start();
            let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim(), &after[end..])
            };
            match key.as_str() {
                "realm" => realm = Some(value.to_string()),
                "service" => service = Some(value.to_string()),
                "scope" => scope = Some(value.to_string()),
                _ => {}
            }
            rest = remaining.trim_start().trim_start_matches(',').trim_start();
        }
        Some(Self {
            realm: realm?,
            service,
            scope,
        })
    }

    /// The token request URL: the realm with `service` and `scope` as query parameters.
    pub fn token_url(&self) -> Option<String> {
        let mut url = url::Url::parse(&self.realm).ok()?;
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = &self.service {
                query.append_pair("service", service);
            }
            if let Some(scope) = &self.scope {
                query.append_pair("scope", scope);
            }
        }
        Some(url.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn classification_and_subjects() {
        let digest = format!("sha256:{HEX}");
        let cases = [
            ("library/nginx/manifests/1.27", CacheClass::Mutable, "library/nginx"),
            (
                &format!("library/nginx/manifests/{digest}") as &str,
                CacheClass::Immutable,
                "library/nginx",
            ),
            (&format!("a/b/c/blobs/{digest}"), CacheClass::Immutable, "a/b/c"),
            ("team/app/tags/list", CacheClass::Mutable, "team/app"),
            // An image may be called `manifests`.
            ("x/manifests/manifests/latest", CacheClass::Mutable, "x/manifests"),
        ];
        for (path, class, subject) in cases {
            assert_eq!(Docker.classify(path), class, "{path}");
            assert_eq!(Docker.pattern_subject(path), subject, "{path}");
            assert!(!Docker.is_exempt_index(path));
        }
        assert_eq!(
            Docker.upstream_url("http://127.0.0.1:5000/", "a/manifests/v1"),
            "http://127.0.0.1:5000/v2/a/manifests/v1"
        );
    }

    #[test]
    fn digests_are_expected_and_tags_alias_their_digest() {
        let signer = LinkSigner::new(b"k");
        let d = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        let blob = Docker
            .locate("http://u", "r", &format!("a/blobs/{d}"), &signer)
            .unwrap();
        assert_eq!(blob.expected, Some(d.clone()));
        assert_eq!(blob.url, format!("http://u/v2/a/blobs/{d}"));
        let tag = Docker.locate("http://u", "r", "a/manifests/v1", &signer).unwrap();
        assert_eq!(tag.expected, None);
        assert_eq!(Docker.alias("a/manifests/v1", &d), Some(format!("a/manifests/{d}")));
        assert_eq!(Docker.alias(&format!("a/manifests/{d}"), &d), None);
        assert_eq!(Docker.alias(&format!("a/blobs/{d}"), &d), None);
        assert_eq!(Docker.tag_of("a/b/manifests/v1"), Some("v1"));
        assert_eq!(Docker.tag_of(&format!("a/manifests/{d}")), None);
        assert_eq!(Docker.tag_of(&format!("a/blobs/{d}")), None);
    }

    #[test]
    fn tag_manifests_vary_by_accepted_manifest_types() {
        let oci = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";
        let both = format!("{oci}, application/vnd.docker.distribution.manifest.v2+json");
        let a = Docker.variant("x/manifests/v1", Some(oci), None);
        let b = Docker.variant("x/manifests/v1", Some(&both), None);
        assert!(a.is_some() && b.is_some() && a != b);
        // Order and unrelated types do not matter.
        let reordered = "application/vnd.oci.image.manifest.v1+json, */*, application/vnd.oci.image.index.v1+json";
        assert_eq!(Docker.variant("x/manifests/v1", Some(reordered), None), a);
        assert_eq!(
            Docker.variant(&format!("x/manifests/sha256:{HEX}"), Some(oci), None),
            None
        );
        assert_eq!(Docker.variant(&format!("x/blobs/sha256:{HEX}"), Some(oci), None), None);
        assert!(Docker.forwards_accept(&format!("x/manifests/sha256:{HEX}")));
        assert!(!Docker.forwards_accept(&format!("x/blobs/sha256:{HEX}")));
    }

    #[test]
    fn bearer_challenges() {
        let c = BearerChallenge::parse(
            r#"Bearer realm="https://auth.example.test/token",service="registry.example.test",scope="repository:library/nginx:pull""#,
        )
        .unwrap();
        assert_eq!(c.realm, "https://auth.example.test/token");
        assert_eq!(c.service.as_deref(), Some("registry.example.test"));
        assert_eq!(c.scope.as_deref(), Some("repository:library/nginx:pull"));
        assert_eq!(
            c.token_url().unwrap(),
            "https://auth.example.test/token?service=registry.example.test&scope=repository%3Alibrary%2Fnginx%3Apull"
        );
        let bare = BearerChallenge::parse(r#"bearer realm=http://127.0.0.1:1/t"#).unwrap();
        assert_eq!(bare.service, None);
        for bad in [
            r#"Basic realm="x""#,
            "Bearer",
            r#"Bearer service="x""#,
            r#"Bearer realm="unterminated"#,
        ] {
            assert_eq!(BearerChallenge::parse(bad), None, "{bad}");
        }
        let ftp = BearerChallenge::parse(r#"Bearer realm="ftp://x/t""#).unwrap();
        assert_eq!(ftp.token_url(), None);
    }
}
