use async_trait::async_trait;

use super::PortError;
use crate::domain::repository::RepositoryDraft;
use crate::domain::repository_plan::Deployed;

/// The repository operations of a running server's management API, as `artifactapi apply`
/// drives it from outside.
///
/// Contract: `list` returns every repository (all pages); `create`, `replace` and `delete`
/// succeed only when the server accepted the change; a refusal is `Backend` with the server's
/// status, code and message (never the token).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait RepositoryAdmin: Send + Sync {
    async fn list(&self) -> Result<Vec<Deployed>, PortError>;
    async fn create(&self, draft: &RepositoryDraft) -> Result<(), PortError>;
    async fn replace(&self, draft: &RepositoryDraft) -> Result<(), PortError>;
    async fn delete(&self, name: &str) -> Result<(), PortError>;
}
