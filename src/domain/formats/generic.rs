//! Generic files: everything is immutable unless the repository's `mutable_patterns` say
//! otherwise, and the path maps one to one onto the upstream.
use super::Format;
use crate::domain::cache_policy::CacheClass;

pub struct Generic;

impl Format for Generic {
    fn classify(&self, _path: &str) -> CacheClass {
        CacheClass::Immutable
    }

    fn upstream_url(&self, base: &str, path: &str) -> String {
        let encoded: Vec<String> = path.split('/').map(encode_segment).collect();
        format!("{}/{}", base.trim_end_matches('/'), encoded.join("/"))
    }

    fn pattern_subject<'a>(&self, path: &'a str) -> &'a str {
        path
    }

    fn is_exempt_index(&self, _path: &str) -> bool {
        false
    }
}

/// Percent-encodes what cannot stand in a URL path segment (the path arrived decoded).
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_classes() {
        let table = [
            (
                "http://127.0.0.1:9/files",
                "a/b.tar.gz",
                "http://127.0.0.1:9/files/a/b.tar.gz",
            ),
            (
                "http://127.0.0.1:9/files/",
                "a b/c#d?.txt",
                "http://127.0.0.1:9/files/a%20b/c%23d%3F.txt",
            ),
            ("http://127.0.0.1:9", "ünï", "http://127.0.0.1:9/%C3%BCn%C3%AF"),
        ];
        for (base, path, url) in table {
            assert_eq!(Generic.upstream_url(base, path), url);
        }
        assert_eq!(Generic.classify("anything/latest"), CacheClass::Immutable);
        assert_eq!(Generic.pattern_subject("a/b"), "a/b");
    }
}
