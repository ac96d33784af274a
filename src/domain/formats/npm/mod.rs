//! npm registry: packuments (full, and abbreviated with `application/vnd.npm.install-v1+json`)
//! are mutable; tarballs are immutable. Every `dist.tarball` is rewritten to an absolute, signed
//! link through this remote that carries the `dist.integrity` sha512, so the tarball is verified
//! before it is served. Scoped names arrive as `@scope%2fname` or `@scope/name`.
pub mod hosted;
pub mod merge;
pub mod packument;

use base64::Engine;

use super::links::{self, sha_segment};
use super::{Format, IndexContext, MAX_INDEX_BYTES, RewriteError};
use crate::domain::cache_policy::CacheClass;

pub struct Npm;

pub const ABBREVIATED: &str = "application/vnd.npm.install-v1+json";

fn is_tarball(path: &str) -> bool {
    path.ends_with(".tgz") || path.starts_with(links::PREFIX)
}

/// A packument path: `name` or `@scope/name` (registry API endpoints start with `-/`).
fn is_packument(path: &str) -> bool {
    !is_tarball(path) && !path.starts_with("-/") && !path.contains("/-/")
}

/// The package a path belongs to: `name` or `@scope/name`.
pub fn package_name(path: &str) -> &str {
    let end = match path.find("/-/") {
        Some(i) => i,
        None => path.len(),
    };
    &path[..end]
}

impl Format for Npm {
    fn classify(&self, path: &str) -> CacheClass {
        if is_tarball(path) {
            CacheClass::Immutable
        } else {
            CacheClass::Mutable
        }
    }

    fn upstream_url(&self, base: &str, path: &str) -> String {
        match path.strip_prefix('@') {
            // Registries expect the scope separator encoded in packument URLs.
            Some(scoped) if is_packument(path) => {
                format!("{}/@{}", base.trim_end_matches('/'), scoped.replacen('/', "%2f", 1))
            }
            _ => super::generic::Generic.upstream_url(base, path),
        }
    }

    fn pattern_subject<'a>(&self, path: &'a str) -> &'a str {
        package_name(path)
    }

    fn is_exempt_index(&self, path: &str) -> bool {
        is_packument(path)
    }

    /// Abbreviated or full, and the public base (the rewritten tarball links are absolute).
    fn variant(&self, path: &str, accept: Option<&str>, public_base: Option<&str>) -> Option<String> {
        if !is_packument(path) {
            return None;
        }
        let shape = if accept.is_some_and(|a| a.contains(ABBREVIATED)) {
            "abbreviated"
        } else {
            "full"
        };
        Some(format!("{shape}@{}", public_base.unwrap_or_default()))
    }

    fn rewrites(&self, path: &str) -> bool {
        is_packument(path)
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
        let base = ctx
            .public_base
            .ok_or_else(|| RewriteError::Invalid("no public URL to link tarballs to".into()))?;
        if let Some(versions) = doc.get_mut("versions").and_then(|v| v.as_object_mut()) {
            for version in versions.values_mut() {
                let Some(dist) = version.get_mut("dist").and_then(|d| d.as_object_mut()) else {
                    continue;
                };
                let Some(tarball) = dist.get("tarball").and_then(|t| t.as_str()) else {
                    continue;
                };
                let Ok(url) = url::Url::parse(tarball) else { continue };
                if !matches!(url.scheme(), "http" | "https") {
                    continue;
                }
                let sha512 = dist.get("integrity").and_then(|i| i.as_str()).and_then(sha512_hex);
                let link = ctx.signer.link(ctx.repo, &url, &sha_segment(None, sha512.as_deref()));
                dist.insert(
                    "tarball".into(),
                    serde_json::Value::String(format!("{}/{link}", base.trim_end_matches('/'))),
                );
            }
        }
        serde_json::to_vec(&doc).map_err(|e| RewriteError::Invalid(e.to_string()))
    }
}

/// The sha512 of an SRI string (`sha512-<base64>`, possibly among other hashes), as hex.
pub fn sha512_hex(integrity: &str) -> Option<String> {
    integrity
        .split_whitespace()
        .find_map(|h| h.strip_prefix("sha512-"))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .filter(|bytes| bytes.len() == 64)
        .map(hex::encode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::formats::links::LinkSigner;

    #[test]
    fn paths() {
        let table = [
            ("lodash", CacheClass::Mutable, "lodash", "http://r/npm/lodash"),
            (
                "@types/node",
                CacheClass::Mutable,
                "@types/node",
                "http://r/npm/@types%2fnode",
            ),
            (
                "lodash/-/lodash-4.17.21.tgz",
                CacheClass::Immutable,
                "lodash",
                "http://r/npm/lodash/-/lodash-4.17.21.tgz",
            ),
            (
                "@types/node/-/node-20.0.0.tgz",
                CacheClass::Immutable,
                "@types/node",
                "http://r/npm/@types/node/-/node-20.0.0.tgz",
            ),
        ];
        for (path, class, subject, url) in table {
            assert_eq!(Npm.classify(path), class, "{path}");
            assert_eq!(Npm.pattern_subject(path), subject, "{path}");
            assert_eq!(Npm.upstream_url("http://r/npm", path), url, "{path}");
        }
        assert_eq!(
            Npm.variant("lodash", Some(ABBREVIATED), Some("http://h/")).as_deref(),
            Some("abbreviated@http://h/")
        );
        assert_eq!(
            Npm.variant("lodash", Some("application/json"), Some("http://h/"))
                .as_deref(),
            Some("full@http://h/")
        );
        assert_eq!(Npm.variant("lodash/-/lodash-1.0.0.tgz", None, None), None);
    }

    #[test]
    fn tarballs_are_rewritten_with_their_integrity() {
        let sha = [7u8; 64];
        let integrity = format!("sha512-{}", base64::engine::general_purpose::STANDARD.encode(sha));
        let body = serde_json::json!({
            "name": "@acme/widget",
            "dist-tags": {"latest": "1.0.0"},
            "versions": {"1.0.0": {"name": "@acme/widget", "version": "1.0.0",
                "dist": {"tarball": "http://127.0.0.1:7000/npm/@acme/widget/-/widget-1.0.0.tgz", "integrity": integrity, "shasum": "abc"}}}
        });
        let signer = LinkSigner::new(b"k");
        let ctx = IndexContext {
            repo: "npm",
            base_url: "http://127.0.0.1:7000/npm",
            page_url: "http://127.0.0.1:7000/npm/@acme%2fwidget",
            page_path: "@acme/widget",
            signer: &signer,
            public_base: Some("http://proxy.test:8000/api/v1/remote/npm/"),
        };
        let out: serde_json::Value =
            serde_json::from_slice(&Npm.rewrite_index(body.to_string().as_bytes(), None, &ctx).unwrap()).unwrap();
        let tarball = out["versions"]["1.0.0"]["dist"]["tarball"].as_str().unwrap();
        let link = tarball
            .strip_prefix("http://proxy.test:8000/api/v1/remote/npm/")
            .unwrap();
        let resolved = signer.resolve("npm", link).unwrap();
        assert_eq!(
            resolved.url,
            "http://127.0.0.1:7000/npm/@acme/widget/-/widget-1.0.0.tgz"
        );
        assert_eq!(resolved.expected_sha512, Some(hex::encode(sha)));
        assert_eq!(
            out["versions"]["1.0.0"]["dist"]["integrity"], integrity,
            "integrity kept for npm itself"
        );
        assert_eq!(out["dist-tags"]["latest"], "1.0.0");
    }

    #[test]
    fn integrity_parsing() {
        let sha = base64::engine::general_purpose::STANDARD.encode([1u8; 64]);
        assert_eq!(
            sha512_hex(&format!("sha1-xx sha512-{sha}")),
            Some(hex::encode([1u8; 64]))
        );
        assert_eq!(sha512_hex("sha1-abc"), None);
        assert_eq!(sha512_hex("sha512-!!!"), None);
    }
}
