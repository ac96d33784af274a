use async_trait::async_trait;
use moka::sync::Cache;
use std::sync::Arc;

use super::invalidation::{Entries, Invalidations};
use crate::domain::repository::Repository;
use crate::ports::{PortError, RepositoryCatalog};

const NAME: &str = "catalog";

/// `RepositoryCatalog` with found definitions kept in memory (see the module doc for how long).
/// Absent names are not cached, so a repository created on another replica is usable at once.
pub struct HotCatalog {
    inner: Arc<dyn RepositoryCatalog>,
    found: Cache<String, Repository>,
    invalidations: Arc<Invalidations>,
}

impl HotCatalog {
    pub fn new(inner: Arc<dyn RepositoryCatalog>, invalidations: Arc<Invalidations>) -> Self {
        let found = Cache::builder()
            .max_capacity(10_000)
            .time_to_live(super::catalog_ttl(&invalidations))
            .build();
        invalidations.register(Arc::new(Entries::new(NAME, found.clone())));
        Self {
            inner,
            found,
            invalidations,
        }
    }

    async fn changed(&self, name: &str) {
        self.invalidations.announce(NAME, name).await;
    }
}

#[async_trait]
impl RepositoryCatalog for HotCatalog {
    async fn list(&self) -> Result<Vec<Repository>, PortError> {
        self.inner.list().await
    }

    async fn get(&self, name: &str) -> Result<Option<Repository>, PortError> {
        if self.invalidations.usable()
            && let Some(repo) = self.found.get(name)
        {
            return Ok(Some(repo));
        }
        let seen = self.invalidations.epoch(name);
        let found = self.inner.get(name).await?;
        if let Some(repo) = &found
            && self.invalidations.unchanged_since(name, seen)
        {
            self.found.insert(name.to_string(), repo.clone());
        }
        Ok(found)
    }

    async fn create(&self, repo: &Repository) -> Result<(), PortError> {
        let result = self.inner.create(repo).await;
        self.changed(repo.name.as_str()).await;
        result
    }

    async fn update(&self, repo: &Repository) -> Result<(), PortError> {
        let result = self.inner.update(repo).await;
        self.changed(repo.name.as_str()).await;
        result
    }

    async fn delete(&self, name: &str) -> Result<bool, PortError> {
        let result = self.inner.delete(name).await;
        self.changed(name).await;
        result
    }
}
