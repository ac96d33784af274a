use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PortError;
use crate::domain::registry::upload::UploadState;

/// An OCI blob upload in progress, shared by every replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadSession {
    pub id: String,
    pub repo: String,
    pub image: String,
    pub state: UploadState,
    /// Blob store keys of the staged chunks, in order.
    pub parts: Vec<String>,
    /// Optimistic-concurrency version, bumped by every successful `update`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Contract: `create` fails with `Conflict` on a duplicate id; `update` succeeds only when the
/// stored `version` equals `session.version` (then stores `version + 1`), else `Conflict`;
/// `get`/`delete` of a missing id are `Ok(None)`/`Ok(false)`; `older_than` lists sessions last
/// updated before the instant (for reaping).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait UploadSessions: Send + Sync {
    async fn create(&self, session: &UploadSession) -> Result<(), PortError>;
    async fn get(&self, id: &str) -> Result<Option<UploadSession>, PortError>;
    async fn update(&self, session: &UploadSession) -> Result<(), PortError>;
    async fn delete(&self, id: &str) -> Result<bool, PortError>;
    async fn older_than(&self, at: DateTime<Utc>) -> Result<Vec<UploadSession>, PortError>;
}
