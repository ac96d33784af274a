//! Parsing of `/v2/...` request paths into typed registry routes.
//!
//! The first name component is our repository; the rest is the image name inside it. Both are
//! validated against the OCI name grammar here so that use cases only ever see valid names.
use crate::domain::digest::{Digest, DigestError};
use crate::domain::repository::RepoName;

/// OCI caps the full name (`<repo>/<image>`) at 255 characters.
const MAX_NAME_LEN: usize = 255;

/// A validated `<repo>/<image...>` name, split at the first component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageName {
    pub repo: RepoName,
    pub image: String,
}

impl ImageName {
    /// Validates a full OCI name; it needs at least two components (repository and image).
    pub fn parse(full: &str) -> Result<Self, PathError> {
        if full.len() > MAX_NAME_LEN || !full.split('/').all(valid_component) {
            return Err(PathError::NameInvalid(full.to_string()));
        }
        let (repo, image) = full
            .split_once('/')
            .ok_or_else(|| PathError::NameInvalid(full.to_string()))?;
        let repo = RepoName::new(repo).map_err(|_| PathError::NameInvalid(full.to_string()))?;
        Ok(Self {
            repo,
            image: image.to_string(),
        })
    }

    pub fn full(&self) -> String {
        format!("{}/{}", self.repo.as_str(), self.image)
    }
}

/// `[a-z0-9]+([._-][a-z0-9]+)*`, written by hand to keep the domain free of regex compilation at
/// every request. `__` is also a valid separator in the spec.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: one of `.`, `_`, `__`, or one or more `-`.
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A manifest reference: a tag or a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

impl Reference {
    /// Tags follow `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`; anything with a `:` must be a digest.
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        if raw.contains(':') {
            return Digest::parse(raw)
                .map(Reference::Digest)
                .map_err(PathError::DigestInvalid);
        }
        let b = raw.as_bytes();
        let first_ok = b.first().is_some_and(|x| x.is_ascii_alphanumeric() || *x == b'_');
        let rest_ok = b
            .iter()
            .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-'));
        if first_ok && rest_ok && b.len() <= 128 {
            Ok(Reference::Tag(raw.to_string()))
        } else {
            Err(PathError::TagInvalid(raw.to_string()))
        }
    }
}

/// What a `/v2/...` path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryRoute {
    /// `/v2/`: the API version check.
    Base,
    Catalog,
    Manifest(ImageName, Reference),
    Blob(ImageName, Digest),
    /// `blobs/uploads/` without an id starts an upload.
    UploadStart(ImageName),
    Upload(ImageName, String),
    TagsList(ImageName),
    Referrers(ImageName, Digest),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("invalid repository name '{0}'")]
    NameInvalid(String),
    #[error("invalid tag '{0}'")]
    TagInvalid(String),
    #[error("invalid digest: {0}")]
    DigestInvalid(DigestError),
    #[error("invalid upload id")]
    UploadIdInvalid,
    #[error("not a registry endpoint")]
    Unsupported,
}

impl RegistryRoute {
    /// Parses the part after `/v2/` (e.g. `repo/a/b/manifests/latest`).
    pub fn parse(rest: &str) -> Result<Self, PathError> {
        let rest = rest.trim_start_matches('/');
        if rest.is_empty() {
            return Ok(Self::Base);
        }
        if rest == "_catalog" {
            return Ok(Self::Catalog);
        }
        if let Some(name) = rest
            .strip_suffix("/blobs/uploads/")
            .or_else(|| rest.strip_suffix("/blobs/uploads"))
        {
            return Ok(Self::UploadStart(ImageName::parse(name)?));
        }
        if let Some(name) = rest.strip_suffix("/tags/list") {
            return Ok(Self::TagsList(ImageName::parse(name)?));
        }
        if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
            let id_ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !id_ok {
                return Err(PathError::UploadIdInvalid);
            }
            return Ok(Self::Upload(ImageName::parse(name)?, id.to_string()));
        }
        let (prefix, last) = rest.rsplit_once('/').ok_or(PathError::Unsupported)?;
        let (name, kind) = prefix.rsplit_once('/').ok_or(PathError::Unsupported)?;
        match kind {
            "manifests" => Ok(Self::Manifest(ImageName::parse(name)?, Reference::parse(last)?)),
            "blobs" => Ok(Self::Blob(ImageName::parse(name)?, parse_digest(last)?)),
            "referrers" => Ok(Self::Referrers(ImageName::parse(name)?, parse_digest(last)?)),
            _ => Err(PathError::Unsupported),
        }
    }
}

fn parse_digest(raw: &str) -> Result<Digest, PathError> {
    Digest::parse(raw).map_err(PathError::DigestInvalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn name(full: &str) -> ImageName {
        ImageName::parse(full).unwrap()
    }

    fn dg() -> Digest {
        Digest::parse(&format!("sha256:{HEX}")).unwrap()
    }

    #[test]
    fn routes_parse() {
        let cases: Vec<(String, RegistryRoute)> = vec![
            ("".into(), RegistryRoute::Base),
            ("/".into(), RegistryRoute::Base),
            ("_catalog".into(), RegistryRoute::Catalog),
            (
                "docker/app/manifests/latest".into(),
                RegistryRoute::Manifest(name("docker/app"), Reference::Tag("latest".into())),
            ),
            (
                "docker/team/sub/app/manifests/v1.2_3-rc".into(),
                RegistryRoute::Manifest(name("docker/team/sub/app"), Reference::Tag("v1.2_3-rc".into())),
            ),
            (
                format!("docker/app/manifests/sha256:{HEX}"),
                RegistryRoute::Manifest(name("docker/app"), Reference::Digest(dg())),
            ),
            (
                format!("docker/a/b/blobs/sha256:{HEX}"),
                RegistryRoute::Blob(name("docker/a/b"), dg()),
            ),
            (
                "docker/app/blobs/uploads/".into(),
                RegistryRoute::UploadStart(name("docker/app")),
            ),
            (
                "docker/app/blobs/uploads".into(),
                RegistryRoute::UploadStart(name("docker/app")),
            ),
            (
                "docker/app/blobs/uploads/0b1c-22".into(),
                RegistryRoute::Upload(name("docker/app"), "0b1c-22".into()),
            ),
            (
                "docker/x/y/tags/list".into(),
                RegistryRoute::TagsList(name("docker/x/y")),
            ),
            (
                format!("docker/app/referrers/sha256:{HEX}"),
                RegistryRoute::Referrers(name("docker/app"), dg()),
            ),
            // An image may itself be called `manifests` or `blobs`.
            (
                "docker/manifests/manifests/latest".into(),
                RegistryRoute::Manifest(name("docker/manifests"), Reference::Tag("latest".into())),
            ),
        ];
        for (path, want) in cases {
            assert_eq!(RegistryRoute::parse(&path), Ok(want), "{path}");
        }
    }

    #[test]
    fn bad_routes_rejected() {
        let long = format!("docker/{}/manifests/latest", "a".repeat(256));
        type Check = fn(&PathError) -> bool;
        let cases: Vec<(String, Check)> = vec![
            ("docker/UPPER/manifests/latest".into(), |e| {
                matches!(e, PathError::NameInvalid(_))
            }),
            ("docker/../manifests/latest".into(), |e| {
                matches!(e, PathError::NameInvalid(_))
            }),
            ("docker/a//b/manifests/latest".into(), |e| {
                matches!(e, PathError::NameInvalid(_))
            }),
            ("docker/-a/manifests/latest".into(), |e| {
                matches!(e, PathError::NameInvalid(_))
            }),
            ("docker/a.-b/manifests/latest".into(), |e| {
                matches!(e, PathError::NameInvalid(_))
            }),
            // A bare repository without an image is not a valid name here.
            ("docker/manifests/latest".into(), |e| {
                matches!(e, PathError::NameInvalid(_))
            }),
            (long, |e| matches!(e, PathError::NameInvalid(_))),
            ("docker/app/manifests/-bad".into(), |e| {
                matches!(e, PathError::TagInvalid(_))
            }),
            ("docker/app/manifests/md5:abc".into(), |e| {
                matches!(e, PathError::DigestInvalid(_))
            }),
            ("docker/app/blobs/latest".into(), |e| {
                matches!(e, PathError::DigestInvalid(_))
            }),
            ("docker/app/blobs/uploads/a%2F".into(), |e| {
                matches!(e, PathError::UploadIdInvalid)
            }),
            ("docker/app/other/x".into(), |e| matches!(e, PathError::Unsupported)),
            ("nothing".into(), |e| matches!(e, PathError::Unsupported)),
        ];
        for (path, check) in cases {
            let got = RegistryRoute::parse(&path);
            assert!(got.as_ref().is_err_and(check), "{path}: {got:?}");
        }
    }

    #[test]
    fn name_components() {
        for ok in ["a", "a0", "a.b", "a_b", "a__b", "a---b", "0"] {
            assert!(valid_component(ok), "{ok}");
        }
        for bad in ["", "A", "a.", ".a", "a..b", "a___b", "a.-b", "a b"] {
            assert!(!valid_component(bad), "{bad}");
        }
    }
}
