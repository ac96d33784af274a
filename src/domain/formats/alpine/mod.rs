//! Alpine (apk) repositories: `APKINDEX.tar.gz` is mutable, `.apk` packages immutable. The index
//! names packages, not URLs, so nothing is rewritten. Hosted repositories parse uploads
//! (`package`), render signed indexes (`index`) and virtual ones merge them (`merge`).
pub mod index;
pub mod merge;
pub mod package;

use super::Format;
use crate::domain::cache_policy::CacheClass;

pub struct Alpine;

impl Format for Alpine {
    fn classify(&self, path: &str) -> CacheClass {
        if path == "APKINDEX.tar.gz" || path.ends_with("/APKINDEX.tar.gz") {
            CacheClass::Mutable
        } else {
            CacheClass::Immutable
        }
    }

    fn upstream_url(&self, base: &str, path: &str) -> String {
        super::generic::Generic.upstream_url(base, path)
    }

    fn pattern_subject<'a>(&self, path: &'a str) -> &'a str {
        path.rsplit('/').next().unwrap_or(path)
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
            ("v3.20/main/x86_64/APKINDEX.tar.gz", CacheClass::Mutable),
            ("v3.20/main/x86_64/busybox-1.36.1-r29.apk", CacheClass::Immutable),
        ];
        for (path, class) in table {
            assert_eq!(Alpine.classify(path), class, "{path}");
        }
        assert_eq!(
            Alpine.pattern_subject("v3.20/main/x86_64/busybox-1.36.1-r29.apk"),
            "busybox-1.36.1-r29.apk"
        );
    }
}
