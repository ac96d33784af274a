use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PortError;
use crate::domain::digest::Digest;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobRecord {
    pub digest: Digest,
    pub size: u64,
    pub content_type: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When a writer last stored or re-ingested (deduplicated onto) this blob; GC's grace
    /// period counts from here.
    pub last_referenced: DateTime<Utc>,
}

/// One row per stored blob, so GC can find blobs nothing references.
///
/// Contract:
/// - `record` inserts if absent; when the row exists it keeps its size, type and `created_at`
///   and only takes the new `last_referenced` (a dedupe hit), under concurrency too.
/// - An *orphan* at `older_than` is a row created and last referenced before `older_than` that
///   no artifact, hosted file or open upload session (its `parts`) references.
/// - `orphans` lists them ordered by digest, after `after`, at most `limit`.
/// - `delete_orphan` deletes the row only if it is such an orphan at the moment of the delete
///   (one atomic statement) and says whether it did; `delete` deletes unconditionally.
/// - `existing` returns which of the given digests have a row (any order).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait BlobRecords: Send + Sync {
    async fn record(&self, blob: &BlobRecord) -> Result<(), PortError>;
    async fn get(&self, digest: &Digest) -> Result<Option<BlobRecord>, PortError>;
    async fn existing(&self, digests: &[Digest]) -> Result<Vec<Digest>, PortError>;
    async fn orphans(
        &self,
        older_than: DateTime<Utc>,
        after: Option<Digest>,
        limit: u64,
    ) -> Result<Vec<BlobRecord>, PortError>;
    async fn delete_orphan(&self, digest: &Digest, older_than: DateTime<Utc>) -> Result<bool, PortError>;
    async fn delete(&self, digest: &Digest) -> Result<bool, PortError>;
    /// Summed size of the blobs that cached copies or hosted files reference, each blob once
    /// however many rows name it; only rows of `repos` when given (an empty list is 0).
    async fn referenced_bytes(&self, repos: Option<Vec<String>>) -> Result<u64, PortError>;
    /// Readiness: the metadata database answers.
    async fn check(&self) -> Result<(), PortError>;
}
