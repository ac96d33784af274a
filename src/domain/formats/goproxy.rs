//! Go module proxy protocol (GOPROXY): `@v/list` and `@latest` change as versions are published
//! (mutable); `.info`, `.mod` and `.zip` of a version never change (immutable). Paths arrive
//! already case-encoded by the go command (`!` before a lower-cased capital), and map one to one
//! onto the upstream proxy, so nothing is rewritten.
use super::Format;
use crate::domain::cache_policy::CacheClass;

pub mod hosted;

pub struct Goproxy;

impl Format for Goproxy {
    fn classify(&self, path: &str) -> CacheClass {
        if path.ends_with("/@v/list") || path.ends_with("/@latest") {
            CacheClass::Mutable
        } else {
            CacheClass::Immutable
        }
    }

    fn upstream_url(&self, base: &str, path: &str) -> String {
        super::generic::Generic.upstream_url(base, path)
    }

    /// The module path, so patterns can allow or block whole modules.
    fn pattern_subject<'a>(&self, path: &'a str) -> &'a str {
        match path.find("/@v/").or_else(|| path.find("/@latest")) {
            Some(i) => &path[..i],
            None => path,
        }
    }

    fn is_exempt_index(&self, path: &str) -> bool {
        self.classify(path) == CacheClass::Mutable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let table = [
            ("example.test/!a!b/@v/list", CacheClass::Mutable, "example.test/!a!b"),
            ("example.test/mod/@latest", CacheClass::Mutable, "example.test/mod"),
            (
                "example.test/mod/@v/v1.2.3.info",
                CacheClass::Immutable,
                "example.test/mod",
            ),
            (
                "example.test/mod/@v/v1.2.3.mod",
                CacheClass::Immutable,
                "example.test/mod",
            ),
            (
                "example.test/mod/v2/@v/v2.0.0.zip",
                CacheClass::Immutable,
                "example.test/mod/v2",
            ),
        ];
        for (path, class, subject) in table {
            assert_eq!(Goproxy.classify(path), class, "{path}");
            assert_eq!(Goproxy.pattern_subject(path), subject, "{path}");
        }
        assert_eq!(
            Goproxy.upstream_url("http://127.0.0.1:9/go", "example.test/!a/@v/v1.0.0.zip"),
            "http://127.0.0.1:9/go/example.test/!a/@v/v1.0.0.zip"
        );
    }
}
