//! Retention policies: which cached copies of a remote go (`max_bytes`, `unused_days`), and
//! which tags of a docker image (`keep_last_tags`, `keep_tag_patterns`). Pure decisions over rows
//! the caller reads; the app layer does the paging, the deletes and the re-counting.
use chrono::{DateTime, Utc};
use regex::Regex;
use serde::Serialize;

use super::digest::Digest;

/// Why a policy removes something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Least recently used while the remote's cache is over `max_bytes`.
    MaxBytes,
    /// Not downloaded for `unused_days`.
    UnusedDays,
    /// A tag beyond an image's `keep_last_tags` most recently pushed (that no pattern keeps),
    /// or a manifest left without tags by such a tag's removal.
    KeepLastTags,
    /// A manifest without a tag, neither pushed nor pulled by digest for `untagged_manifest_days`.
    UntaggedManifest,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MaxBytes => "max_bytes",
            Reason::UnusedDays => "unused_days",
            Reason::KeepLastTags => "keep_last_tags",
            Reason::UntaggedManifest => "untagged_manifest_days",
        }
    }
}

/// One cached copy as the planner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cached {
    pub path: String,
    pub digest: Digest,
    pub size: u64,
    pub last_accessed: DateTime<Utc>,
}

/// A remote's cache limits at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    pub max_bytes: Option<u64>,
    /// Copies last accessed before this instant are unused.
    pub unused_before: Option<DateTime<Utc>>,
}

impl CacheLimits {
    pub fn new(max_bytes: Option<u64>, unused_days: Option<u32>, now: DateTime<Utc>) -> Self {
        Self {
            max_bytes,
            unused_before: unused_days.map(|d| days_before(now, d)),
        }
    }

    pub fn is_unbounded(&self) -> bool {
        self.max_bytes.is_none() && self.unused_before.is_none()
    }
}

/// `days` before `now`; a span further back than time goes is its earliest instant (nothing is
/// that old), never an overflow.
pub fn days_before(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    chrono::Duration::try_days(i64::from(days))
        .and_then(|span| now.checked_sub_signed(span))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// What to do with one page of rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PagePlan {
    /// Indexes into the page, with the policy that removes each.
    pub remove: Vec<(usize, Reason)>,
    /// Nothing later in LRU order can be removed: stop paging.
    pub done: bool,
}

/// Plans one page of `rows`, ordered least recently used first. `stored` is the cache's size
/// (distinct contents) before this page; each removal subtracts its row's size, an estimate
/// that can only run ahead of the truth (a digest under two paths frees its bytes once), so the
/// caller stops early and counts again rather than evicting too much. An unused copy goes
/// whatever the size; the rest go, oldest first, while the cache is over `max_bytes`.
pub fn plan_page(rows: &[Cached], stored: &mut u64, limits: &CacheLimits) -> PagePlan {
    let mut plan = PagePlan::default();
    for (i, row) in rows.iter().enumerate() {
        let reason = if limits.unused_before.is_some_and(|t| row.last_accessed < t) {
            Some(Reason::UnusedDays)
        } else if limits.max_bytes.is_some_and(|max| *stored > max) {
            Some(Reason::MaxBytes)
        } else {
            None
        };
        match reason {
            Some(reason) => {
                plan.remove.push((i, reason));
                *stored = stored.saturating_sub(row.size);
            }
            // Rows are in access order: every later row is as recent, and the size is under.
            None => {
                plan.done = true;
                return plan;
            }
        }
    }
    plan
}

/// One tag of an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tagged {
    pub tag: String,
    pub pushed_at: DateTime<Utc>,
}

/// The tags that go (indexes into `tags`, in ascending order): all but the `keep_last` most
/// recently pushed (ties by name), except those a `keep` regex matches anywhere in the tag.
/// Pattern tags count among the last ones like any other.
pub fn tags_to_remove(tags: &[Tagged], keep_last: u32, keep: &[Regex]) -> Vec<usize> {
    let mut newest_first: Vec<usize> = (0..tags.len()).collect();
    newest_first.sort_by(|&a, &b| {
        tags[b]
            .pushed_at
            .cmp(&tags[a].pushed_at)
            .then_with(|| tags[a].tag.cmp(&tags[b].tag))
    });
    let mut remove: Vec<usize> = newest_first
        .into_iter()
        .skip(usize::try_from(keep_last).unwrap_or(usize::MAX))
        .filter(|&i| !keep.iter().any(|r| r.is_match(&tags[i].tag)))
        .collect();
    remove.sort_unstable();
    remove
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_beyond_the_last_ones_go_unless_a_pattern_keeps_them() {
        let now = Utc::now();
        let tag = |name: &str, minutes_ago: i64| Tagged {
            tag: name.into(),
            pushed_at: now - chrono::Duration::minutes(minutes_ago),
        };
        let tags = vec![
            tag("v1.0", 50),
            tag("latest", 1),
            tag("v1.1", 40),
            tag("dev-3", 5),
            tag("stable", 60),
            tag("b-same-time", 30),
            tag("a-same-time", 30),
        ];
        let names = |idx: Vec<usize>| idx.into_iter().map(|i| tags[i].tag.clone()).collect::<Vec<_>>();
        let re = |p: &[&str]| p.iter().map(|p| Regex::new(p).unwrap()).collect::<Vec<_>>();
        let table: &[(u32, &[&str], &[&str])] = &[
            (10, &[], &[]),
            (7, &[], &[]),
            (5, &[], &["v1.0", "stable"]),
            // Ties by name: a-same-time is "newer" than b-same-time.
            (3, &[], &["v1.0", "v1.1", "stable", "b-same-time"]),
            (3, &["^v\\d", "^stable$"], &["b-same-time"]),
            (
                1,
                &["latest"],
                &["v1.0", "v1.1", "dev-3", "stable", "b-same-time", "a-same-time"],
            ),
            // A pattern tag among the last ones counts as one of them.
            (
                2,
                &["^latest$"],
                &["v1.0", "v1.1", "stable", "b-same-time", "a-same-time"],
            ),
        ];
        for (keep_last, patterns, removed) in table {
            let got = names(tags_to_remove(&tags, *keep_last, &re(patterns)));
            let mut expected: Vec<String> = removed.iter().map(|s| s.to_string()).collect();
            let order = |n: &String| tags.iter().position(|t| &t.tag == n).unwrap();
            expected.sort_by_key(order);
            assert_eq!(got, expected, "keep {keep_last} {patterns:?}");
        }
        assert!(tags_to_remove(&[], 1, &[]).is_empty());
    }

    fn row(path: &str, size: u64, minutes_ago: i64, now: DateTime<Utc>) -> Cached {
        Cached {
            path: path.into(),
            digest: Digest::of_bytes(path.as_bytes()),
            size,
            last_accessed: now - chrono::Duration::minutes(minutes_ago),
        }
    }

    #[test]
    fn plans_least_recently_used_first() {
        let now = Utc::now();
        let page = vec![
            row("a", 4, 60 * 24 * 10, now),
            row("b", 4, 60 * 24 * 2, now),
            row("c", 4, 30, now),
            row("d", 4, 1, now),
        ];
        // (max_bytes, unused_days, stored before) -> (removed paths, done, stored after)
        type Case = (
            Option<u64>,
            Option<u32>,
            u64,
            &'static [(&'static str, Reason)],
            bool,
            u64,
        );
        let table: &[Case] = &[
            (None, None, 16, &[], true, 16),
            (Some(16), None, 16, &[], true, 16),
            (
                Some(10),
                None,
                16,
                &[("a", Reason::MaxBytes), ("b", Reason::MaxBytes)],
                true,
                8,
            ),
            (
                Some(0),
                None,
                16,
                &[
                    ("a", Reason::MaxBytes),
                    ("b", Reason::MaxBytes),
                    ("c", Reason::MaxBytes),
                    ("d", Reason::MaxBytes),
                ],
                false,
                0,
            ),
            (None, Some(7), 16, &[("a", Reason::UnusedDays)], true, 12),
            (
                None,
                Some(1),
                16,
                &[("a", Reason::UnusedDays), ("b", Reason::UnusedDays)],
                true,
                8,
            ),
            // Unused first, then size: after a and b go, 8 > 6 still, so c goes too.
            (
                Some(6),
                Some(7),
                16,
                &[
                    ("a", Reason::UnusedDays),
                    ("b", Reason::MaxBytes),
                    ("c", Reason::MaxBytes),
                ],
                true,
                4,
            ),
            // More stored elsewhere than this page holds: the whole page goes, paging goes on.
            (
                Some(10),
                None,
                100,
                &[
                    ("a", Reason::MaxBytes),
                    ("b", Reason::MaxBytes),
                    ("c", Reason::MaxBytes),
                    ("d", Reason::MaxBytes),
                ],
                false,
                84,
            ),
        ];
        for (max, days, before, removed, done, after) in table {
            let limits = CacheLimits::new(*max, *days, now);
            let mut stored = *before;
            let plan = plan_page(&page, &mut stored, &limits);
            let got: Vec<(&str, Reason)> = plan.remove.iter().map(|(i, r)| (page[*i].path.as_str(), *r)).collect();
            assert_eq!(got, removed.to_vec(), "{max:?} {days:?} {before}");
            assert_eq!((plan.done, stored), (*done, *after), "{max:?} {days:?} {before}");
        }
    }

    #[test]
    fn limits() {
        let now = Utc::now();
        assert!(CacheLimits::new(None, None, now).is_unbounded());
        assert!(!CacheLimits::new(Some(1), None, now).is_unbounded());
        assert_eq!(
            CacheLimits::new(None, Some(2), now).unused_before,
            Some(now - chrono::Duration::days(2))
        );
        assert_eq!(Reason::UnusedDays.as_str(), "unused_days");
        // The largest setting is further back than chrono goes: no overflow, nothing that old.
        assert_eq!(days_before(now, u32::MAX), DateTime::<Utc>::MIN_UTC);
        assert_eq!(days_before(now, 1), now - chrono::Duration::days(1));
    }
}
