use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{PageRequest, PortError, Usage};
use crate::domain::digest::Digest;

pub use crate::domain::cache_policy::CacheClass;

/// A remote repository's cached copy of one upstream path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedObject {
    pub repo: String,
    pub path: String,
    pub digest: Digest,
    pub size: u64,
    pub content_type: Option<String>,
    pub class: CacheClass,
    pub fetched_at: DateTime<Utc>,
    pub upstream_etag: Option<String>,
    pub last_accessed: DateTime<Utc>,
}

/// Where a page of `least_recent` starts: after this row's `(last_accessed, path)`.
pub type AccessCursor = (DateTime<Utc>, String);

/// Cached remote objects by `(repo, path)`.
///
/// Contract: `upsert` replaces the row for `(repo, path)`; `get` of a missing row is `Ok(None)`;
/// `touch` of a missing row is a no-op; `delete` returns whether a row existed; `list` is ordered
/// by path, only paths starting with `prefix` and greater than `after`, at most `limit` rows.
/// Retention: `touch_many` sets the access time of the named rows that exist, and never moves it
/// back; `least_recent` pages a repository by `(last_accessed, path)` ascending, strictly after
/// the cursor; `evict` deletes each `(path, seen)` row only if it was not accessed after `seen`
/// (its `last_accessed <= seen`), all in one transaction, and says for each whether it did;
/// `stored_bytes` sums the distinct digests
/// of a repository's rows, each once.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ArtifactIndex: Send + Sync {
    async fn get(&self, repo: &str, path: &str) -> Result<Option<CachedObject>, PortError>;
    async fn upsert(&self, object: &CachedObject) -> Result<(), PortError>;
    async fn touch(&self, repo: &str, path: &str, at: DateTime<Utc>) -> Result<(), PortError>;
    async fn delete(&self, repo: &str, path: &str) -> Result<bool, PortError>;
    async fn list(&self, repo: &str, page: &PageRequest) -> Result<Vec<CachedObject>, PortError>;
    /// Drops every row of a repository (repository deletion); returns how many.
    async fn delete_repo(&self, repo: &str) -> Result<u64, PortError>;
    /// Row count and summed sizes of a repository (0 and 0 when it has none).
    async fn usage(&self, repo: &str) -> Result<Usage, PortError>;
    async fn touch_many(&self, repo: &str, paths: &[String], at: DateTime<Utc>) -> Result<(), PortError>;
    async fn least_recent(
        &self,
        repo: &str,
        after: Option<AccessCursor>,
        limit: u64,
    ) -> Result<Vec<CachedObject>, PortError>;
    async fn evict(&self, repo: &str, candidates: &[(String, DateTime<Utc>)]) -> Result<Vec<bool>, PortError>;
    async fn stored_bytes(&self, repo: &str) -> Result<u64, PortError>;
}
