//! Helm chart repositories: `index.yaml` is mutable, chart archives (`.tgz`, `.prov`) immutable.
//! Every chart URL in the index (relative or absolute, on any host) is rewritten to a signed link
//! through this remote that carries the entry's `digest`, so charts are verified when fetched.
use super::links::sha_segment;
use super::{Format, IndexContext, MAX_INDEX_BYTES, RewriteError, rewrite_link};
use crate::domain::cache_policy::CacheClass;
use crate::domain::digest::Digest;

pub mod hosted;
pub mod index;
pub mod merge;

pub struct Helm;

fn is_index(path: &str) -> bool {
    path == "index.yaml" || path.ends_with("/index.yaml")
}

impl Format for Helm {
    fn classify(&self, path: &str) -> CacheClass {
        if is_index(path) {
            CacheClass::Mutable
        } else {
            CacheClass::Immutable
        }
    }

    fn upstream_url(&self, base: &str, path: &str) -> String {
        super::generic::Generic.upstream_url(base, path)
    }

    fn pattern_subject<'a>(&self, path: &'a str) -> &'a str {
        path
    }

    fn is_exempt_index(&self, path: &str) -> bool {
        is_index(path)
    }

    fn rewrites(&self, path: &str) -> bool {
        is_index(path)
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
        let mut doc: serde_yaml::Value =
            serde_yaml::from_slice(body).map_err(|e| RewriteError::Invalid(e.to_string()))?;
        let page = url::Url::parse(ctx.page_url).map_err(|e| RewriteError::Invalid(e.to_string()))?;
        let up = "../".repeat(ctx.page_path.matches('/').count());
        if let Some(entries) = doc.get_mut("entries").and_then(|e| e.as_mapping_mut()) {
            for (_, versions) in entries.iter_mut() {
                let Some(versions) = versions.as_sequence_mut() else {
                    continue;
                };
                for version in versions {
                    let digest = version
                        .get("digest")
                        .and_then(|d| d.as_str())
                        .and_then(|d| Digest::from_sha256_hex(d).ok());
                    let Some(urls) = version.get_mut("urls").and_then(|u| u.as_sequence_mut()) else {
                        continue;
                    };
                    for url in urls {
                        let Some(raw) = url.as_str() else { continue };
                        let rewritten = match (page.join(raw), &digest) {
                            (Ok(absolute), Some(d)) if matches!(absolute.scheme(), "http" | "https") => {
                                format!(
                                    "{up}{}",
                                    ctx.signer.link(ctx.repo, &absolute, &sha_segment(Some(d), None))
                                )
                            }
                            _ => rewrite_link(raw, ctx),
                        };
                        *url = serde_yaml::Value::String(rewritten);
                    }
                }
            }
        }
        serde_yaml::to_string(&doc)
            .map(String::into_bytes)
            .map_err(|e| RewriteError::Invalid(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::formats::links::LinkSigner;

    const SHA: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    #[test]
    fn chart_urls_become_signed_links_with_their_digest() {
        let index = format!(
            r#"apiVersion: v1
entries:
  demo:
  - name: demo
    version: 1.0.0
    digest: {SHA}
    urls:
    - charts/demo-1.0.0.tgz
  other:
  - name: other
    version: 2.0.0
    digest: {SHA}
    urls:
    - https://charts.test/other-2.0.0.tgz
  nodigest:
  - name: nodigest
    version: 0.1.0
    urls:
    - nodigest-0.1.0.tgz
generated: "2026-01-01T00:00:00Z"
"#
        );
        let signer = LinkSigner::new(b"k");
        let ctx = IndexContext {
            repo: "helm",
            base_url: "http://127.0.0.1:7000/helm",
            page_url: "http://127.0.0.1:7000/helm/index.yaml",
            page_path: "index.yaml",
            signer: &signer,
            public_base: None,
        };
        let out = Helm.rewrite_index(index.as_bytes(), None, &ctx).unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_slice(&out).unwrap();
        let url = |name: &str| doc["entries"][name][0]["urls"][0].as_str().unwrap().to_string();
        let demo = signer.resolve("helm", &url("demo")).unwrap();
        assert_eq!(demo.url, "http://127.0.0.1:7000/helm/charts/demo-1.0.0.tgz");
        assert_eq!(demo.expected.unwrap().hex(), SHA);
        assert_eq!(
            signer.resolve("helm", &url("other")).unwrap().url,
            "https://charts.test/other-2.0.0.tgz"
        );
        assert_eq!(
            url("nodigest"),
            "nodigest-0.1.0.tgz",
            "same host without digest maps onto the repo"
        );
        assert_eq!(doc["generated"], "2026-01-01T00:00:00Z");
        assert_eq!(Helm.classify("index.yaml"), CacheClass::Mutable);
        assert_eq!(Helm.classify("charts/demo-1.0.0.tgz"), CacheClass::Immutable);
        assert!(matches!(
            Helm.rewrite_index(b"entries: [unclosed", None, &ctx),
            Err(RewriteError::Invalid(_))
        ));
    }
}
