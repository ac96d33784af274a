//! How long a cached copy stays fresh (DESIGN §6): mutable indexes for `mutable_ttl`, immutable
//! files for `immutable_ttl` (0 = forever); repository patterns override the format's class.
use chrono::{DateTime, Utc};
use regex::Regex;
use std::time::Duration;

use super::repository::RemoteSettings;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheClass {
    Mutable,
    Immutable,
}

impl CacheClass {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheClass::Mutable => "mutable",
            CacheClass::Immutable => "immutable",
        }
    }
}

/// How long an upstream 404 is remembered, so a storm of requests for a missing file does not
/// reach the upstream every time.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(30);

/// The class of `path`: `mutable_patterns` win, then `immutable_patterns`, then the format's own
/// classification. Patterns were validated when the repository was saved; one that still fails
/// to compile is ignored rather than failing the request.
pub fn classify(format_class: CacheClass, path: &str, settings: &RemoteSettings) -> CacheClass {
    let matches = |patterns: &[String]| {
        patterns
            .iter()
            .filter_map(|p| Regex::new(p).ok())
            .any(|r| r.is_match(path))
    };
    if matches(&settings.mutable_patterns) {
        CacheClass::Mutable
    } else if matches(&settings.immutable_patterns) {
        CacheClass::Immutable
    } else {
        format_class
    }
}

/// The freshness lifetime of a class; `None` is forever.
pub fn ttl(class: CacheClass, settings: &RemoteSettings) -> Option<Duration> {
    match class {
        CacheClass::Mutable => Some(Duration::from_secs(settings.mutable_ttl)),
        CacheClass::Immutable if settings.immutable_ttl == 0 => None,
        CacheClass::Immutable => Some(Duration::from_secs(settings.immutable_ttl)),
    }
}

/// True while a copy fetched at `fetched_at` may be served without asking the upstream.
pub fn is_fresh(fetched_at: DateTime<Utc>, now: DateTime<Utc>, ttl: Option<Duration>) -> bool {
    match ttl {
        None => true,
        Some(ttl) => match chrono::Duration::from_std(ttl) {
            Ok(ttl) => now < fetched_at + ttl,
            Err(_) => true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mutable_ttl: u64, immutable_ttl: u64, mutable: &[&str], immutable: &[&str]) -> RemoteSettings {
        RemoteSettings {
            base_url: "http://127.0.0.1:1".into(),
            username: None,
            password: None,
            mutable_ttl,
            immutable_ttl,
            patterns: vec![],
            blocklist: vec![],
            mutable_patterns: mutable.iter().map(|s| s.to_string()).collect(),
            immutable_patterns: immutable.iter().map(|s| s.to_string()).collect(),
            ban_tags: vec![],
            offline: false,
            tls: Default::default(),
            max_bytes: None,
            unused_days: None,
        }
    }

    #[test]
    fn overrides_win_mutable_first() {
        let s = settings(300, 0, &[r"latest\.txt$", r"^both"], &[r"\.bin$", r"^both"]);
        let table = [
            (CacheClass::Immutable, "a/latest.txt", CacheClass::Mutable),
            (CacheClass::Mutable, "a/x.bin", CacheClass::Immutable),
            (CacheClass::Immutable, "both.bin", CacheClass::Mutable),
            (CacheClass::Immutable, "other", CacheClass::Immutable),
            (CacheClass::Mutable, "other", CacheClass::Mutable),
        ];
        for (format_class, path, expected) in table {
            assert_eq!(classify(format_class, path, &s), expected, "{path}");
        }
    }

    #[test]
    fn freshness_table() {
        let now = Utc::now();
        let s = settings(300, 0, &[], &[]);
        let mutable = ttl(CacheClass::Mutable, &s);
        assert_eq!(mutable, Some(Duration::from_secs(300)));
        assert!(is_fresh(now - chrono::Duration::seconds(299), now, mutable));
        assert!(!is_fresh(now - chrono::Duration::seconds(300), now, mutable));
        assert_eq!(ttl(CacheClass::Immutable, &s), None);
        assert!(is_fresh(now - chrono::Duration::days(3650), now, None));
        let s = settings(0, 60, &[], &[]);
        assert!(
            !is_fresh(now, now, ttl(CacheClass::Mutable, &s)),
            "ttl 0 is never fresh"
        );
        assert!(is_fresh(
            now - chrono::Duration::seconds(59),
            now,
            ttl(CacheClass::Immutable, &s)
        ));
    }
}
