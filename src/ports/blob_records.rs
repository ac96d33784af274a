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
}

/// One row per stored blob, so GC can find blobs nothing references.
///
/// Contract: `record` inserts if absent and keeps the existing row otherwise (idempotent under
/// concurrency); `orphans` lists blobs created before `older_than` that no artifact or hosted
/// file references, at most `limit`; `delete` returns whether a row existed.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait BlobRecords: Send + Sync {
    async fn record(&self, blob: &BlobRecord) -> Result<(), PortError>;
    async fn get(&self, digest: &Digest) -> Result<Option<BlobRecord>, PortError>;
    async fn orphans(&self, older_than: DateTime<Utc>, limit: u64) -> Result<Vec<BlobRecord>, PortError>;
    async fn delete(&self, digest: &Digest) -> Result<bool, PortError>;
    /// Readiness: the metadata database answers.
    async fn check(&self) -> Result<(), PortError>;
}
