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

/// Cached remote objects by `(repo, path)`.
///
/// Contract: `upsert` replaces the row for `(repo, path)`; `get` of a missing row is `Ok(None)`;
/// `touch` of a missing row is a no-op; `delete` returns whether a row existed; `list` is ordered
/// by path, only paths starting with `prefix` and greater than `after`, at most `limit` rows.
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
}
