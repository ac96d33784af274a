//! RPM (dnf/yum) repositories: `repodata/` (repomd.xml and the metadata it points to) is mutable;
//! packages are immutable. repomd.xml links its files relatively, so nothing is rewritten.
pub mod hosted;
pub mod merge;
pub mod repodata;

use super::Format;
use crate::domain::cache_policy::CacheClass;

pub struct Rpm;

impl Format for Rpm {
    fn classify(&self, path: &str) -> CacheClass {
        if path.starts_with("repodata/") || path.contains("/repodata/") {
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
            ("repodata/repomd.xml", CacheClass::Mutable),
            ("9/BaseOS/x86_64/os/repodata/abc-primary.xml.gz", CacheClass::Mutable),
            ("Packages/b/bash-5.1-1.x86_64.rpm", CacheClass::Immutable),
            ("RPM-GPG-KEY", CacheClass::Immutable),
        ];
        for (path, class) in table {
            assert_eq!(Rpm.classify(path), class, "{path}");
        }
        assert_eq!(
            Rpm.pattern_subject("Packages/b/bash-5.1-1.x86_64.rpm"),
            "bash-5.1-1.x86_64.rpm"
        );
    }
}
