use async_trait::async_trait;

use super::PortError;
use crate::domain::repository::Repository;

/// Repository definitions.
///
/// Contract: `create` fails with `Conflict` when the name exists; `update` replaces an existing
/// definition (`NotFound` otherwise) and keeps the stored password when the new one is `None`;
/// `delete` returns whether it existed; `list` is ordered by name. The upstream password is stored
/// encrypted and comes back decrypted from `get`/`list`.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait RepositoryCatalog: Send + Sync {
    async fn list(&self) -> Result<Vec<Repository>, PortError>;
    async fn get(&self, name: &str) -> Result<Option<Repository>, PortError>;
    async fn create(&self, repo: &Repository) -> Result<(), PortError>;
    async fn update(&self, repo: &Repository) -> Result<(), PortError>;
    async fn delete(&self, name: &str) -> Result<bool, PortError>;
}
