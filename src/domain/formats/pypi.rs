//! PyPI simple repository API: PEP 503 HTML and PEP 691 JSON index pages (mutable, cached per
//! representation), distribution files and PEP 658 `.metadata` files (immutable). Index links are
//! rewritten so pip and uv fetch every file through this remote; `#sha256=` fragments and every
//! `data-*` attribute or JSON field (requires-python, yanked, core-metadata) are kept.
use regex::Regex;
use std::sync::OnceLock;

use super::{Format, IndexContext, MAX_INDEX_BYTES, RewriteError, rewrite_link};
use crate::domain::cache_policy::CacheClass;

pub mod hosted;
pub mod index;
pub mod merge;

pub struct Pypi;

pub const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";

fn is_index(path: &str) -> bool {
    path == "simple" || path.starts_with("simple/")
}

impl Format for Pypi {
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

    fn variant(&self, path: &str, accept: Option<&str>, _public_base: Option<&str>) -> Option<String> {
        (is_index(path) && accept.is_some_and(|a| a.contains(JSON_TYPE))).then(|| "pep691".to_string())
    }

    fn rewrites(&self, path: &str) -> bool {
        is_index(path)
    }

    fn rewrite_index(
        &self,
        body: &[u8],
        content_type: Option<&str>,
        ctx: &IndexContext<'_>,
    ) -> Result<Vec<u8>, RewriteError> {
        if body.len() > MAX_INDEX_BYTES {
            return Err(RewriteError::TooLarge);
        }
        if content_type.is_some_and(|t| t.contains("json")) {
            rewrite_json(body, ctx)
        } else {
            let html = std::str::from_utf8(body).map_err(|_| RewriteError::Invalid("HTML page is not UTF-8".into()))?;
            Ok(rewrite_html(html, ctx)?.into_bytes())
        }
    }
}

fn href_pattern() -> Option<&'static Regex> {
    static HREF: OnceLock<Option<Regex>> = OnceLock::new();
    HREF.get_or_init(|| Regex::new(r#"(?i)(href\s*=\s*)("([^"]*)"|'([^']*)')"#).ok())
        .as_ref()
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Rewrites every `href` and leaves the rest of the page byte for byte.
pub fn rewrite_html(html: &str, ctx: &IndexContext<'_>) -> Result<String, RewriteError> {
    let pattern = href_pattern().ok_or_else(|| RewriteError::Invalid("link pattern unavailable".into()))?;
    Ok(pattern
        .replace_all(html, |caps: &regex::Captures<'_>| {
            let raw = caps.get(3).or_else(|| caps.get(4)).map_or("", |m| m.as_str());
            let rewritten = rewrite_link(&html_unescape(raw), ctx);
            format!("{}\"{}\"", &caps[1], html_escape(&rewritten))
        })
        .into_owned())
}

fn rewrite_json(body: &[u8], ctx: &IndexContext<'_>) -> Result<Vec<u8>, RewriteError> {
    let mut doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| RewriteError::Invalid(e.to_string()))?;
    if let Some(files) = doc.get_mut("files").and_then(|f| f.as_array_mut()) {
        for file in files {
            if let Some(url) = file.get("url").and_then(|u| u.as_str()) {
                let mut rewritten = rewrite_link(url, ctx);
                // PEP 691 carries hashes in a field, not a fragment: sign the sha256 in.
                if !url.contains("#sha256=")
                    && let Some(sha) = file.pointer("/hashes/sha256").and_then(|h| h.as_str())
                {
                    rewritten = rewrite_link(&format!("{url}#sha256={sha}"), ctx);
                    rewritten = rewritten.split('#').next().unwrap_or_default().to_string();
                }
                file["url"] = serde_json::Value::String(rewritten);
            }
        }
    }
    serde_json::to_vec(&doc).map_err(|e| RewriteError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests;
