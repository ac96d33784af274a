//! Terraform provider registry protocol (remote side): `.../versions` is mutable; the download
//! description of one version and platform, and the archives, are immutable. The download
//! description's `download_url`, `shasums_url` and `shasums_signature_url` are rewritten to
//! signed links through this remote; the archive link carries the `shasum` it promises.
pub mod hosted;
mod zip_check;

use super::links::sha_segment;
use super::{Format, IndexContext, MAX_INDEX_BYTES, RewriteError};
use crate::domain::cache_policy::CacheClass;
use crate::domain::digest::Digest;

pub struct Terraform;

fn is_download(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    parts.len() >= 3 && parts[parts.len() - 3] == "download"
}

impl Format for Terraform {
    fn classify(&self, path: &str) -> CacheClass {
        if path.ends_with("/versions") {
            CacheClass::Mutable
        } else {
            CacheClass::Immutable
        }
    }

    fn upstream_url(&self, base: &str, path: &str) -> String {
        super::generic::Generic.upstream_url(base, path)
    }

    /// `namespace/type` of `.../providers/{namespace}/{type}/...`, or the path.
    fn pattern_subject<'a>(&self, path: &'a str) -> &'a str {
        let Some(start) = path.find("providers/").map(|i| i + "providers/".len()) else {
            return path;
        };
        let rest = &path[start..];
        let end = rest.match_indices('/').nth(1).map_or(rest.len(), |(i, _)| i);
        &rest[..end]
    }

    fn is_exempt_index(&self, path: &str) -> bool {
        path.ends_with("/versions")
    }

    fn rewrites(&self, path: &str) -> bool {
        is_download(path)
    }

    fn rewrite_index(
        &self,
        body: &[u8],
        _content_type: Option<&str>,
        ctx: &IndexContext<'_>,
    ) -> Result<Vec<u8>, RewriteError> {
        if body.len() > MAX_INDEX_BYTES {
            return Err(RewriteError::TooLarge);
        }
        let mut doc: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| RewriteError::Invalid(e.to_string()))?;
        let page = url::Url::parse(ctx.page_url).map_err(|e| RewriteError::Invalid(e.to_string()))?;
        let shasum = doc
            .get("shasum")
            .and_then(|s| s.as_str())
            .and_then(|s| Digest::from_sha256_hex(s).ok());
        let base = ctx.public_base.map(|b| b.trim_end_matches('/').to_string());
        let up = "../".repeat(ctx.page_path.matches('/').count());
        for (field, digest) in [
            ("download_url", shasum.as_ref()),
            ("shasums_url", None),
            ("shasums_signature_url", None),
        ] {
            let Some(raw) = doc.get(field).and_then(|v| v.as_str()) else {
                continue;
            };
            let Ok(absolute) = page.join(raw) else { continue };
            if !matches!(absolute.scheme(), "http" | "https") {
                continue;
            }
            let link = ctx.signer.link(ctx.repo, &absolute, &sha_segment(digest, None));
            let rewritten = match &base {
                Some(base) => format!("{base}/{link}"),
                None => format!("{up}{link}"),
            };
            doc[field] = serde_json::Value::String(rewritten);
        }
        serde_json::to_vec(&doc).map_err(|e| RewriteError::Invalid(e.to_string()))
    }

    /// The links are absolute (Terraform resolves them on its own), so they depend on the host
    /// the client used.
    fn variant(&self, path: &str, _accept: Option<&str>, public_base: Option<&str>) -> Option<String> {
        is_download(path).then(|| format!("@{}", public_base.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::formats::links::LinkSigner;

    const SHA: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    #[test]
    fn paths() {
        let versions = "v1/providers/hashicorp/random/versions";
        let download = "v1/providers/hashicorp/random/3.6.0/download/linux/amd64";
        assert_eq!(Terraform.classify(versions), CacheClass::Mutable);
        assert_eq!(Terraform.classify(download), CacheClass::Immutable);
        assert!(Terraform.rewrites(download) && !Terraform.rewrites(versions));
        assert_eq!(Terraform.pattern_subject(download), "hashicorp/random");
        assert_eq!(Terraform.pattern_subject("other"), "other");
    }

    #[test]
    fn download_links_are_signed_and_carry_the_shasum() {
        let body = serde_json::json!({
            "protocols": ["5.0"], "os": "linux", "arch": "amd64",
            "filename": "terraform-provider-random_3.6.0_linux_amd64.zip",
            "download_url": "https://releases.test/terraform-provider-random/3.6.0/terraform-provider-random_3.6.0_linux_amd64.zip",
            "shasums_url": "https://releases.test/terraform-provider-random/3.6.0/terraform-provider-random_3.6.0_SHA256SUMS",
            "shasums_signature_url": "https://releases.test/terraform-provider-random/3.6.0/terraform-provider-random_3.6.0_SHA256SUMS.sig",
            "shasum": SHA,
            "signing_keys": {"gpg_public_keys": [{"key_id": "ABC", "ascii_armor": "-----BEGIN PGP PUBLIC KEY BLOCK-----"}]}
        });
        let signer = LinkSigner::new(b"k");
        let ctx = IndexContext {
            repo: "tf",
            base_url: "https://registry.test",
            page_url: "https://registry.test/v1/providers/hashicorp/random/3.6.0/download/linux/amd64",
            page_path: "v1/providers/hashicorp/random/3.6.0/download/linux/amd64",
            signer: &signer,
            public_base: Some("http://proxy.test/api/v1/remote/tf/"),
        };
        let out: serde_json::Value = serde_json::from_slice(
            &Terraform
                .rewrite_index(body.to_string().as_bytes(), None, &ctx)
                .unwrap(),
        )
        .unwrap();
        let link = |field: &str| {
            out[field]
                .as_str()
                .unwrap()
                .strip_prefix("http://proxy.test/api/v1/remote/tf/")
                .unwrap()
                .to_string()
        };
        let archive = signer.resolve("tf", &link("download_url")).unwrap();
        assert_eq!(archive.expected.unwrap().hex(), SHA);
        assert!(archive.url.ends_with("_linux_amd64.zip"));
        assert!(
            signer
                .resolve("tf", &link("shasums_url"))
                .unwrap()
                .url
                .ends_with("_SHA256SUMS")
        );
        assert!(
            signer
                .resolve("tf", &link("shasums_signature_url"))
                .unwrap()
                .url
                .ends_with(".sig")
        );
        assert_eq!(
            out["signing_keys"], body["signing_keys"],
            "keys kept for Terraform's own check"
        );
    }
}
