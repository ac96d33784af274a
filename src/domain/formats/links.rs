//! Links from an upstream index to files on any host, rewritten to go through this remote:
//! `_files/<signature>/<sha256 or ->/<scheme>/<authority>/<path>`. The signature (HMAC over the
//! repository, digest and URL, keyed by a secret of this instance) proves the link came from an
//! index we rewrote, so the remote is never an open proxy, and it carries the digest the index
//! promised so the download is verified.
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::digest::Digest;

pub const PREFIX: &str = "_files/";

/// Signs and checks rewritten links.
#[derive(Clone)]
pub struct LinkSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(***)")
    }
}

/// Where a rewritten link points, once its signature checks out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExternalFile {
    pub url: String,
    /// sha256 promised by the index (PyPI `#sha256=`).
    pub expected: Option<Digest>,
    /// sha512 hex promised by the index (npm `dist.integrity`).
    pub expected_sha512: Option<String>,
}

/// The digest segment of a link: `-`, a sha256 hex, or `sha512-<hex>`.
pub fn sha_segment(sha256: Option<&Digest>, sha512_hex: Option<&str>) -> String {
    match (sha256, sha512_hex) {
        (Some(d), _) => d.hex().to_string(),
        (None, Some(hex)) => format!("sha512-{hex}"),
        (None, None) => "-".to_string(),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("malformed file link")]
    Malformed,
    #[error("file link signature does not match (links only come from this remote's own index)")]
    BadSignature,
}

impl LinkSigner {
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn signature(&self, repo: &str, sha: &str, url: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(m) => m,
            // HMAC accepts keys of any length; this branch cannot be taken.
            Err(_) => return String::new(),
        };
        mac.update(repo.as_bytes());
        mac.update(b"\n");
        mac.update(sha.as_bytes());
        mac.update(b"\n");
        mac.update(url.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// The repository-relative path for an absolute upstream file URL; `sha` from `sha_segment`.
    pub fn link(&self, repo: &str, url: &url::Url, sha: &str) -> String {
        let authority = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let decoded_path = percent_encoding::percent_decode_str(url.path().trim_start_matches('/')).decode_utf8_lossy();
        let canonical = format!("{}://{authority}/{decoded_path}", url.scheme());
        let signature = self.signature(repo, sha, &canonical);
        format!(
            "{PREFIX}{signature}/{sha}/{}/{authority}/{}",
            url.scheme(),
            url.path().trim_start_matches('/')
        )
    }

    /// Checks and decodes a (percent-decoded) repository path under `_files/`. A `.metadata`
    /// suffix (PEP 658) is allowed on a signed file link and is not digest-checked.
    pub fn resolve(&self, repo: &str, path: &str) -> Result<ExternalFile, LinkError> {
        let rest = path.strip_prefix(PREFIX).ok_or(LinkError::Malformed)?;
        let mut parts = rest.splitn(5, '/');
        let (Some(signature), Some(sha), Some(scheme), Some(authority), Some(file)) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Malformed);
        };
        if !matches!(scheme, "http" | "https") || authority.is_empty() || file.is_empty() {
            return Err(LinkError::Malformed);
        }
        let (signed_file, metadata) = match file.strip_suffix(".metadata") {
            Some(f) if self.signature(repo, sha, &format!("{scheme}://{authority}/{file}")) != signature => (f, true),
            _ => (file, false),
        };
        let canonical = format!("{scheme}://{authority}/{signed_file}");
        if self.signature(repo, sha, &canonical) != signature {
            return Err(LinkError::BadSignature);
        }
        let (expected, expected_sha512) = match (sha, metadata) {
            ("-", _) | (_, true) => (None, None),
            (hex, false) => match hex.strip_prefix("sha512-") {
                Some(h) if h.len() == 128 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    (None, Some(h.to_ascii_lowercase()))
                }
                Some(_) => return Err(LinkError::Malformed),
                None => (
                    Some(Digest::from_sha256_hex(hex).map_err(|_| LinkError::Malformed)?),
                    None,
                ),
            },
        };
        let encoded: Vec<String> = file.split('/').map(super::generic::encode_segment).collect();
        Ok(ExternalFile {
            url: format!("{scheme}://{authority}/{}", encoded.join("/")),
            expected,
            expected_sha512,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tampering() {
        let signer = LinkSigner::new(b"key");
        let url = url::Url::parse("https://files.test:8443/packages/ab/demo-1.0-py3-none-any.whl").unwrap();
        let digest = Digest::of_bytes(b"wheel");
        let link = signer.link("pypi", &url, &sha_segment(Some(&digest), None));
        assert!(link.starts_with("_files/"));
        let resolved = signer.resolve("pypi", &link).unwrap();
        assert_eq!(resolved.url, url.as_str());
        assert_eq!(resolved.expected, Some(digest.clone()));

        let metadata = signer.resolve("pypi", &format!("{link}.metadata")).unwrap();
        assert_eq!(metadata.url, format!("{url}.metadata"));
        assert_eq!(metadata.expected, None);

        assert_eq!(signer.resolve("other-repo", &link), Err(LinkError::BadSignature));
        assert_eq!(
            LinkSigner::new(b"other").resolve("pypi", &link),
            Err(LinkError::BadSignature)
        );
        let evil = link.replace("files.test:8443", "127.0.0.1:22");
        assert_eq!(signer.resolve("pypi", &evil), Err(LinkError::BadSignature));
        let swapped = link.replace(digest.hex(), &"0".repeat(64));
        assert_eq!(signer.resolve("pypi", &swapped), Err(LinkError::BadSignature));
        for bad in ["_files/x", "_files/a/b/ftp/h/p", "simple/x"] {
            assert_eq!(signer.resolve("pypi", bad), Err(LinkError::Malformed), "{bad}");
        }
    }
}
