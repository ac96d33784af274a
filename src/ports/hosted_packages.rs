use async_trait::async_trait;

use super::PortError;
pub use crate::domain::package::PackageRecord;

/// Package records of hosted repositories by `(repo, key)` (DESIGN §10).
///
/// Contract: `create` is create-only and fails with `Conflict` when the key exists (even under a
/// concurrent create: exactly one wins); `files` lists one package's records in upload order
/// (then by key); `names` lists the distinct package names of a repository in order; `all`
/// lists every record of a repository by name, then as `files` orders them (one query where an
/// index of every package would otherwise ask `files` once per name);
/// `set_meta` and `delete` return whether a row existed.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait HostedPackages: Send + Sync {
    async fn create(&self, record: &PackageRecord) -> Result<(), PortError>;
    async fn get(&self, repo: &str, key: &str) -> Result<Option<PackageRecord>, PortError>;
    /// The record of the file stored at `path`.
    async fn by_path(&self, repo: &str, path: &str) -> Result<Option<PackageRecord>, PortError>;
    async fn files(&self, repo: &str, name: &str) -> Result<Vec<PackageRecord>, PortError>;
    async fn names(&self, repo: &str) -> Result<Vec<String>, PortError>;
    async fn all(&self, repo: &str) -> Result<Vec<PackageRecord>, PortError>;
    async fn set_meta(&self, repo: &str, key: &str, meta: &serde_json::Value) -> Result<bool, PortError>;
    async fn delete(&self, repo: &str, key: &str) -> Result<bool, PortError>;
    async fn delete_repo(&self, repo: &str) -> Result<u64, PortError>;
}
