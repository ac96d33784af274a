//! Puppet Forge v3: `v3/modules/...` and `v3/releases?module=...` are the mutable API (their query
//! strings are forwarded and part of the cache key); `v3/files/*.tar.gz` are immutable module
//! archives. Every release's `file_uri` is rewritten to a signed `_files/` link carrying its
//! `file_sha256`, so puppet downloads archives through this remote and each one is verified
//! before it is served. (puppet prefixes `file_uri` with the repository URL itself.)
use serde_json::Value;

use super::{Format, IndexContext, MAX_INDEX_BYTES, RewriteError, links};
use crate::domain::cache_policy::CacheClass;
use crate::domain::digest::Digest;

pub mod api;
pub mod hosted;
pub mod merge;

pub struct Puppet;

/// Longest query string forwarded; the Forge API's are short.
const MAX_QUERY: usize = 2048;

fn is_api(path: &str) -> bool {
    path.starts_with("v3/") && !path.starts_with("v3/files/")
}

impl Format for Puppet {
    fn classify(&self, path: &str) -> CacheClass {
        if is_api(path) {
            CacheClass::Mutable
        } else {
            CacheClass::Immutable
        }
    }

    fn upstream_url(&self, base: &str, path: &str) -> String {
        super::generic::Generic.upstream_url(base, path)
    }

    /// The module (`owner-name`) for archives and module pages, so patterns can allow or block
    /// whole modules; the path otherwise.
    fn pattern_subject<'a>(&self, path: &'a str) -> &'a str {
        if let Some(file) = path.strip_prefix("v3/files/") {
            // owner-name-1.2.3.tar.gz -> owner-name
            let stem = file.trim_end_matches(".tar.gz");
            return match stem.rfind('-') {
                Some(i) => &stem[..i],
                None => stem,
            };
        }
        path.strip_prefix("v3/modules/").unwrap_or(path)
    }

    fn is_exempt_index(&self, path: &str) -> bool {
        is_api(path)
    }

    fn query(&self, path: &str, query: Option<&str>) -> Option<String> {
        let query = query.filter(|q| is_api(path) && !q.is_empty() && q.len() <= MAX_QUERY)?;
        let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        pairs.sort();
        Some(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish(),
        )
    }

    fn rewrites(&self, path: &str) -> bool {
        is_api(path)
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
        let mut json: Value = serde_json::from_slice(body).map_err(|e| RewriteError::Invalid(e.to_string()))?;
        rewrite_file_uris(&mut json, ctx);
        serde_json::to_vec(&json).map_err(|e| RewriteError::Invalid(e.to_string()))
    }
}

/// Every object with a `file_uri` (module `current_release`, each release) gets a signed link.
fn rewrite_file_uris(value: &mut Value, ctx: &IndexContext<'_>) {
    match value {
        Value::Object(map) => {
            let sha = map
                .get("file_sha256")
                .and_then(Value::as_str)
                .and_then(|h| Digest::from_sha256_hex(h).ok());
            if let Some(Value::String(uri)) = map.get_mut("file_uri")
                && let Some(link) = signed(uri, sha.as_ref(), ctx)
            {
                *uri = link;
            }
            map.values_mut().for_each(|v| rewrite_file_uris(v, ctx));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_file_uris(v, ctx)),
        _ => {}
    }
}

/// `/v3/files/x.tar.gz` (relative to the Forge root, i.e. our `base_url`) or an absolute URL,
/// as `/_files/<signature>/<sha>/<scheme>/<host>/<path>`.
fn signed(uri: &str, sha: Option<&Digest>, ctx: &IndexContext<'_>) -> Option<String> {
    let base = url::Url::parse(&format!("{}/", ctx.base_url.trim_end_matches('/'))).ok()?;
    let target = base.join(uri.trim_start_matches('/')).ok()?;
    if !matches!(target.scheme(), "http" | "https") {
        return None;
    }
    Some(format!(
        "/{}",
        ctx.signer.link(ctx.repo, &target, &links::sha_segment(sha, None))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::formats::links::LinkSigner;

    #[test]
    fn classification_subjects_and_queries() {
        assert_eq!(Puppet.classify("v3/releases"), CacheClass::Mutable);
        assert_eq!(Puppet.classify("v3/modules/aa-demo"), CacheClass::Mutable);
        assert_eq!(Puppet.classify("v3/files/aa-demo-1.0.0.tar.gz"), CacheClass::Immutable);
        assert_eq!(Puppet.pattern_subject("v3/files/aa-demo-1.0.0.tar.gz"), "aa-demo");
        assert_eq!(Puppet.pattern_subject("v3/modules/aa-demo"), "aa-demo");
        assert_eq!(
            Puppet.query(
                "v3/releases",
                Some("sort_by=version&module=aa-demo&exclude_fields=readme%20changelog")
            ),
            Some("exclude_fields=readme+changelog&module=aa-demo&sort_by=version".into())
        );
        assert_eq!(
            Puppet.query("v3/releases", Some("module=aa-demo&sort_by=version")),
            Puppet.query("v3/releases", Some("sort_by=version&module=aa-demo")),
            "equivalent queries share a cache key"
        );
        assert_eq!(Puppet.query("v3/files/aa-demo-1.0.0.tar.gz", Some("x=1")), None);
        assert_eq!(Puppet.query("v3/releases", Some(&"a".repeat(3000))), None);
    }

    #[test]
    fn file_uris_become_signed_links_with_their_sha256() {
        let signer = LinkSigner::new(b"k");
        let ctx = IndexContext {
            repo: "forge",
            base_url: "http://127.0.0.1:9/forge",
            page_url: "http://127.0.0.1:9/forge/v3/releases?module=aa-demo",
            page_path: "v3/releases",
            public_base: None,
            signer: &signer,
        };
        let sha = "ab".repeat(32);
        let body = format!(
            r#"{{"pagination":{{"next":null}},"results":[{{"version":"1.0.0","file_uri":"/v3/files/aa-demo-1.0.0.tar.gz","file_sha256":"{sha}","metadata":{{"name":"aa-demo"}}}}]}}"#
        );
        let out: Value = serde_json::from_slice(&Puppet.rewrite_index(body.as_bytes(), None, &ctx).unwrap()).unwrap();
        let uri = out["results"][0]["file_uri"].as_str().unwrap();
        assert!(uri.starts_with("/_files/"), "{uri}");
        assert!(
            uri.contains(&format!("/{sha}/http/127.0.0.1:9/forge/v3/files/aa-demo-1.0.0.tar.gz")),
            "{uri}"
        );
        let resolved = signer.resolve("forge", uri.trim_start_matches('/')).unwrap();
        assert_eq!(resolved.url, "http://127.0.0.1:9/forge/v3/files/aa-demo-1.0.0.tar.gz");
        assert_eq!(resolved.expected.map(|d| d.hex().to_string()), Some(sha));
        assert_eq!(
            out["results"][0]["metadata"]["name"], "aa-demo",
            "everything else is kept"
        );
        assert!(Puppet.rewrite_index(b"not json", None, &ctx).is_err());
    }
}
