use async_trait::async_trait;
use moka::future::Cache;
use std::sync::Arc;

use crate::domain::repository::Repository;
use crate::ports::{PortError, RepositoryCatalog};

/// `RepositoryCatalog` with found definitions kept for `CATALOG_TTL`. Absent names are not
/// cached, so a repository created on another replica is usable at once.
pub struct HotCatalog {
    inner: Arc<dyn RepositoryCatalog>,
    found: Cache<String, Repository>,
}

impl HotCatalog {
    pub fn new(inner: Arc<dyn RepositoryCatalog>) -> Self {
        Self {
            inner,
            found: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(super::CATALOG_TTL)
                .build(),
        }
    }
}

#[async_trait]
impl RepositoryCatalog for HotCatalog {
    async fn list(&self) -> Result<Vec<Repository>, PortError> {
        self.inner.list().await
    }

    async fn get(&self, name: &str) -> Result<Option<Repository>, PortError> {
        if let Some(repo) = self.found.get(name).await {
            return Ok(Some(repo));
        }
        let found = self.inner.get(name).await?;
        if let Some(repo) = &found {
            self.found.insert(name.to_string(), repo.clone()).await;
        }
        Ok(found)
    }

    async fn create(&self, repo: &Repository) -> Result<(), PortError> {
        self.found.invalidate(repo.name.as_str()).await;
        self.inner.create(repo).await
    }

    async fn update(&self, repo: &Repository) -> Result<(), PortError> {
        let result = self.inner.update(repo).await;
        self.found.invalidate(repo.name.as_str()).await;
        result
    }

    async fn delete(&self, name: &str) -> Result<bool, PortError> {
        let result = self.inner.delete(name).await;
        self.found.invalidate(name).await;
        result
    }
}
