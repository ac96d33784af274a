use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moka::future::Cache;
use std::sync::Arc;

use crate::ports::{ArtifactIndex, CachedObject, PageRequest, PortError, Usage};

/// `ArtifactIndex` with found rows kept for `INDEX_TTL`. A row only points at a blob that GC
/// keeps for at least its grace period, so a second-old copy of it is always servable.
pub struct HotIndex {
    inner: Arc<dyn ArtifactIndex>,
    found: Cache<(String, String), CachedObject>,
}

impl HotIndex {
    pub fn new(inner: Arc<dyn ArtifactIndex>) -> Self {
        Self {
            inner,
            found: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(super::INDEX_TTL)
                .build(),
        }
    }

    async fn forget(&self, repo: &str, path: &str) {
        self.found.invalidate(&(repo.to_string(), path.to_string())).await;
    }
}

#[async_trait]
impl ArtifactIndex for HotIndex {
    async fn get(&self, repo: &str, path: &str) -> Result<Option<CachedObject>, PortError> {
        let key = (repo.to_string(), path.to_string());
        if let Some(object) = self.found.get(&key).await {
            return Ok(Some(object));
        }
        let found = self.inner.get(repo, path).await?;
        if let Some(object) = &found {
            self.found.insert(key, object.clone()).await;
        }
        Ok(found)
    }

    async fn upsert(&self, object: &CachedObject) -> Result<(), PortError> {
        let result = self.inner.upsert(object).await;
        self.forget(&object.repo, &object.path).await;
        result
    }

    async fn touch(&self, repo: &str, path: &str, at: DateTime<Utc>) -> Result<(), PortError> {
        let result = self.inner.touch(repo, path, at).await;
        self.forget(repo, path).await;
        result
    }

    async fn delete(&self, repo: &str, path: &str) -> Result<bool, PortError> {
        let result = self.inner.delete(repo, path).await;
        self.forget(repo, path).await;
        result
    }

    async fn list(&self, repo: &str, page: &PageRequest) -> Result<Vec<CachedObject>, PortError> {
        self.inner.list(repo, page).await
    }

    async fn usage(&self, repo: &str) -> Result<Usage, PortError> {
        self.inner.usage(repo).await
    }

    async fn delete_repo(&self, repo: &str) -> Result<u64, PortError> {
        let result = self.inner.delete_repo(repo).await;
        self.found.invalidate_all();
        result
    }
}
