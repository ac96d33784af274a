use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{PageRequest, PortError, Usage};
use crate::domain::digest::Digest;

/// A file published to a local repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostedFile {
    pub repo: String,
    pub path: String,
    pub digest: Digest,
    pub size: u64,
    pub content_type: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Files of local repositories by `(repo, path)`.
///
/// Contract: `create` is create-only and fails with `Conflict` when the path exists (even under a
/// concurrent create: exactly one wins); `upsert` replaces (mutable paths such as tags);
/// `delete` returns whether a row existed; `list` as in `ArtifactIndex::list`.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait HostedFiles: Send + Sync {
    async fn get(&self, repo: &str, path: &str) -> Result<Option<HostedFile>, PortError>;
    async fn create(&self, file: &HostedFile) -> Result<(), PortError>;
    async fn upsert(&self, file: &HostedFile) -> Result<(), PortError>;
    async fn delete(&self, repo: &str, path: &str) -> Result<bool, PortError>;
    /// Deletes the row only while it is still `file` as read (same digest and `created_at`: not
    /// re-uploaded or re-tagged since), and says whether it did.
    async fn delete_unchanged(&self, file: &HostedFile) -> Result<bool, PortError>;
    async fn list(&self, repo: &str, page: &PageRequest) -> Result<Vec<HostedFile>, PortError>;
    async fn delete_repo(&self, repo: &str) -> Result<u64, PortError>;
    /// Row count and summed sizes of a repository (0 and 0 when it has none).
    async fn usage(&self, repo: &str) -> Result<Usage, PortError>;
    /// Records pulls (registry manifests) of the named rows that exist, never moving a time back;
    /// `last_pulled` is `None` for a row never pulled (or missing). Creates and upserts keep it.
    async fn touch_pulled(&self, repo: &str, paths: &[String], at: DateTime<Utc>) -> Result<(), PortError>;
    async fn last_pulled(&self, repo: &str, path: &str) -> Result<Option<DateTime<Utc>>, PortError>;
    /// Bytes of the distinct contents the repository's rows name: a digest under several paths
    /// (a tag and its manifest, one file uploaded twice) counts once. What a quota limits.
    async fn stored_bytes(&self, repo: &str) -> Result<u64, PortError>;
}
