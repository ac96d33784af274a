use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moka::sync::Cache;
use std::sync::Arc;

use super::invalidation::{Entries, Invalidations};
use crate::ports::{AccessCursor, ArtifactIndex, CachedObject, PageRequest, PortError, Usage};

const NAME: &str = "index";

/// `ArtifactIndex` with found rows kept in memory (see the module doc for how long). A row only
/// points at a blob that GC keeps for at least its grace period, so a copy of it that is
/// seconds old is always servable.
pub struct HotIndex {
    inner: Arc<dyn ArtifactIndex>,
    found: Cache<String, CachedObject>,
    invalidations: Arc<Invalidations>,
}

/// One string per row: repository names never hold the separator.
fn key(repo: &str, path: &str) -> String {
    let mut key = String::with_capacity(repo.len() + path.len() + 1);
    key.push_str(repo);
    key.push('\u{1f}');
    key.push_str(path);
    key
}

impl HotIndex {
    pub fn new(inner: Arc<dyn ArtifactIndex>, invalidations: Arc<Invalidations>) -> Self {
        let found = Cache::builder()
            .max_capacity(100_000)
            .time_to_live(super::index_ttl(&invalidations))
            .build();
        invalidations.register(Arc::new(Entries::new(NAME, found.clone())));
        Self {
            inner,
            found,
            invalidations,
        }
    }
}

#[async_trait]
impl ArtifactIndex for HotIndex {
    async fn get(&self, repo: &str, path: &str) -> Result<Option<CachedObject>, PortError> {
        let key = key(repo, path);
        if self.invalidations.usable()
            && let Some(object) = self.found.get(&key)
        {
            return Ok(Some(object));
        }
        let seen = self.invalidations.epoch(&key);
        let found = self.inner.get(repo, path).await?;
        if let Some(object) = &found
            && self.invalidations.unchanged_since(&key, seen)
        {
            self.found.insert(key, object.clone());
        }
        Ok(found)
    }

    async fn upsert(&self, object: &CachedObject) -> Result<(), PortError> {
        let result = self.inner.upsert(object).await;
        self.invalidations
            .announce(NAME, &key(&object.repo, &object.path))
            .await;
        result
    }

    /// Only the access time changes, which no other replica needs at once: dropped here only.
    async fn touch(&self, repo: &str, path: &str, at: DateTime<Utc>) -> Result<(), PortError> {
        let result = self.inner.touch(repo, path, at).await;
        self.found.invalidate(&key(repo, path));
        result
    }

    async fn delete(&self, repo: &str, path: &str) -> Result<bool, PortError> {
        let result = self.inner.delete(repo, path).await;
        self.invalidations.announce(NAME, &key(repo, path)).await;
        result
    }

    async fn list(&self, repo: &str, page: &PageRequest) -> Result<Vec<CachedObject>, PortError> {
        self.inner.list(repo, page).await
    }

    async fn usage(&self, repo: &str) -> Result<Usage, PortError> {
        self.inner.usage(repo).await
    }

    /// Access times only, as `touch`: dropped here only.
    async fn touch_many(&self, repo: &str, paths: &[String], at: DateTime<Utc>) -> Result<(), PortError> {
        let result = self.inner.touch_many(repo, paths, at).await;
        for path in paths {
            self.found.invalidate(&key(repo, path));
        }
        result
    }

    async fn least_recent(
        &self,
        repo: &str,
        after: Option<AccessCursor>,
        limit: u64,
    ) -> Result<Vec<CachedObject>, PortError> {
        self.inner.least_recent(repo, after, limit).await
    }

    /// An eviction is a delete: every replica drops its copy.
    async fn evict(&self, repo: &str, candidates: &[(String, DateTime<Utc>)]) -> Result<Vec<bool>, PortError> {
        let result = self.inner.evict(repo, candidates).await;
        for (path, _) in candidates {
            self.invalidations.announce(NAME, &key(repo, path)).await;
        }
        result
    }

    async fn stored_bytes(&self, repo: &str) -> Result<u64, PortError> {
        self.inner.stored_bytes(repo).await
    }

    async fn delete_repo(&self, repo: &str) -> Result<u64, PortError> {
        let result = self.inner.delete_repo(repo).await;
        self.invalidations.announce(NAME, "*").await;
        result
    }
}
