//! What a repository holds: browse its hosted files (local) or cached copies (remote), evict one,
//! or flush a remote's cache.
use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::domain::cache_policy::CacheClass;
use crate::domain::digest::Digest;
use crate::domain::error::{FieldError, ObjectsError};
use crate::domain::repository::{Kind, Repository};
use crate::ports::{ArtifactIndex, HostedFiles, PageRequest, PortError, RepositoryCatalog};

/// One stored object, hosted or cached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    pub path: String,
    pub size: u64,
    pub digest: Digest,
    /// Cached copies only.
    pub class: Option<CacheClass>,
    /// Upload time (hosted) or fetch time (cached).
    pub stored_at: DateTime<Utc>,
    /// Cached copies only.
    pub last_accessed: Option<DateTime<Utc>>,
}

/// Which cached copies a flush removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushScope {
    Mutable,
    All,
}

pub struct ObjectsService {
    catalog: Arc<dyn RepositoryCatalog>,
    files: Arc<dyn HostedFiles>,
    index: Arc<dyn ArtifactIndex>,
}

fn unavailable(e: PortError) -> ObjectsError {
    ObjectsError::Unavailable(e.to_string())
}

const FLUSH_PAGE: u64 = 500;

impl ObjectsService {
    pub fn new(
        catalog: Arc<dyn RepositoryCatalog>,
        files: Arc<dyn HostedFiles>,
        index: Arc<dyn ArtifactIndex>,
    ) -> Self {
        Self { catalog, files, index }
    }

    async fn repository(&self, name: &str) -> Result<Repository, ObjectsError> {
        self.catalog
            .get(name)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| ObjectsError::RepositoryNotFound(name.to_string()))
    }

    /// A page ordered by path; the second value is the next page's cursor.
    pub async fn browse(
        &self,
        name: &str,
        page: PageRequest,
    ) -> Result<(Vec<ObjectInfo>, Option<String>), ObjectsError> {
        if page.limit == 0 || page.limit > 1000 {
            return Err(ObjectsError::Invalid(FieldError::new(
                "limit",
                "must be between 1 and 1000",
            )));
        }
        let repo = self.repository(name).await?;
        let objects: Vec<ObjectInfo> = match repo.kind() {
            Kind::Local => self
                .files
                .list(name, &page)
                .await
                .map_err(unavailable)?
                .into_iter()
                .map(|f| ObjectInfo {
                    path: f.path,
                    size: f.size,
                    digest: f.digest,
                    class: None,
                    stored_at: f.created_at,
                    last_accessed: None,
                })
                .collect(),
            Kind::Remote => self
                .index
                .list(name, &page)
                .await
                .map_err(unavailable)?
                .into_iter()
                .map(|o| ObjectInfo {
                    path: o.path,
                    size: o.size,
                    digest: o.digest,
                    class: Some(o.class),
                    stored_at: o.fetched_at,
                    last_accessed: Some(o.last_accessed),
                })
                .collect(),
            Kind::Virtual => Vec::new(),
        };
        let next = (objects.len() as u64 == page.limit)
            .then(|| objects.last().map(|o| o.path.clone()))
            .flatten();
        Ok((objects, next))
    }

    /// Removes one object: a hosted file, or a cached copy (refetched on next request). The blob
    /// stays until GC finds it unreferenced.
    pub async fn evict(&self, name: &str, path: &str) -> Result<(), ObjectsError> {
        let repo = self.repository(name).await?;
        let removed = match repo.kind() {
            Kind::Local => self.files.delete(name, path).await.map_err(unavailable)?,
            Kind::Remote => self.index.delete(name, path).await.map_err(unavailable)?,
            Kind::Virtual => {
                return Err(ObjectsError::Unsupported(
                    "virtual repositories hold no objects of their own",
                ));
            }
        };
        if removed {
            Ok(())
        } else {
            Err(ObjectsError::NotFound(path.to_string()))
        }
    }

    /// Drops a remote's cached copies of the given scope; returns how many.
    pub async fn flush(&self, name: &str, scope: FlushScope) -> Result<u64, ObjectsError> {
        let repo = self.repository(name).await?;
        if repo.kind() != Kind::Remote {
            return Err(ObjectsError::Unsupported(
                "only remote repositories have a cache to flush",
            ));
        }
        let mut removed = 0;
        let mut after = None;
        loop {
            let page = PageRequest {
                prefix: String::new(),
                after: after.clone(),
                limit: FLUSH_PAGE,
            };
            let objects = self.index.list(name, &page).await.map_err(unavailable)?;
            for object in &objects {
                if (scope == FlushScope::All || object.class == CacheClass::Mutable)
                    && self.index.delete(name, &object.path).await.map_err(unavailable)?
                {
                    removed += 1;
                }
            }
            if (objects.len() as u64) < FLUSH_PAGE {
                return Ok(removed);
            }
            after = objects.last().map(|o| o.path.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::repository::{ManagedBy, RepositoryDraft};
    use crate::ports::CachedObject;
    use crate::ports::artifact_index::MockArtifactIndex;
    use crate::ports::hosted_files::MockHostedFiles;
    use crate::ports::repository_catalog::MockRepositoryCatalog;
    use mockall::predicate::eq;

    fn remote() -> MockRepositoryCatalog {
        let repo = RepositoryDraft {
            name: "r".into(),
            kind: "remote".into(),
            package: "generic".into(),
            base_url: Some("http://127.0.0.1:1".into()),
            ..Default::default()
        }
        .validate(ManagedBy::Api)
        .unwrap();
        let mut c = MockRepositoryCatalog::new();
        c.expect_get().returning(move |_| Ok(Some(repo.clone())));
        c
    }

    fn cached(path: &str, class: CacheClass) -> CachedObject {
        CachedObject {
            repo: "r".into(),
            path: path.into(),
            digest: Digest::of_bytes(path.as_bytes()),
            size: 1,
            content_type: None,
            class,
            fetched_at: Utc::now(),
            upstream_etag: None,
            last_accessed: Utc::now(),
        }
    }

    #[tokio::test]
    async fn flush_mutable_keeps_immutable_copies() {
        let mut index = MockArtifactIndex::new();
        index.expect_list().returning(|_, _| {
            Ok(vec![
                cached("index.txt", CacheClass::Mutable),
                cached("a.bin", CacheClass::Immutable),
            ])
        });
        index
            .expect_delete()
            .with(eq("r"), eq("index.txt"))
            .times(1)
            .returning(|_, _| Ok(true));
        let svc = ObjectsService::new(Arc::new(remote()), Arc::new(MockHostedFiles::new()), Arc::new(index));
        assert_eq!(svc.flush("r", FlushScope::Mutable).await.unwrap(), 1);
    }

    #[tokio::test]
    async fn browse_pages_and_validates_the_limit() {
        let mut index = MockArtifactIndex::new();
        index.expect_list().returning(|_, p| {
            Ok((0..p.limit)
                .map(|i| cached(&format!("f{i}"), CacheClass::Immutable))
                .collect())
        });
        let svc = ObjectsService::new(Arc::new(remote()), Arc::new(MockHostedFiles::new()), Arc::new(index));
        let (objects, next) = svc
            .browse(
                "r",
                PageRequest {
                    prefix: String::new(),
                    after: None,
                    limit: 2,
                },
            )
            .await
            .unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(next.as_deref(), Some("f1"));
        let err = svc
            .browse(
                "r",
                PageRequest {
                    prefix: String::new(),
                    after: None,
                    limit: 0,
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, ObjectsError::Invalid(f) if f.field == "limit"));
    }
}
