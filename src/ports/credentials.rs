use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PortError;
use crate::domain::token::Scope;

/// A stored API token. Only the sha256 of its secret is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: Vec<Scope>,
    pub repositories: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// API tokens.
///
/// Contract: `create` fails with `Conflict` on a duplicate id or name; `find_by_hash` returns the
/// token whose `secret_hash` matches; `list` is ordered by creation; `revoke` deletes and
/// returns whether it existed; `replace_named` atomically swaps the token of a given name
/// (used for the bootstrap admin token).
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Credentials: Send + Sync {
    async fn create(&self, token: &TokenRecord) -> Result<(), PortError>;
    async fn find_by_hash(&self, secret_hash: &str) -> Result<Option<TokenRecord>, PortError>;
    async fn find_by_name(&self, name: &str) -> Result<Option<TokenRecord>, PortError>;
    async fn list(&self) -> Result<Vec<TokenRecord>, PortError>;
    async fn revoke(&self, id: &str) -> Result<bool, PortError>;
    async fn replace_named(&self, token: &TokenRecord) -> Result<(), PortError>;
}

/// Key material the service signs with (registry bearer tokens, Terraform SHA256SUMS).
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub name: String,
    pub algorithm: String,
    pub material: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// Contract: `get_or_create` returns the existing key of that name, or stores `candidate` and
/// returns it; under a race every caller gets the same stored key.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait SigningKeys: Send + Sync {
    async fn get(&self, name: &str) -> Result<Option<SigningKey>, PortError>;
    async fn get_or_create(&self, candidate: &SigningKey) -> Result<SigningKey, PortError>;
}
