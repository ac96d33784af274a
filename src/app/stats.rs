//! Repository statistics (`/api/v2/stats`): what each repository holds, from the metadata
//! database (so the same on every replica), and its cache counters, from this replica's
//! telemetry since it started (sum `/metrics` over replicas for cluster totals). Stored bytes
//! count each content once: once per repository however many of its paths name it, and once in
//! the total however many repositories hold it (blobs are deduplicated across all of them).
use std::sync::Arc;

use crate::domain::error::RepositoryError;
use crate::domain::repository::{KindSettings, Repository};
use crate::ports::{
    ArtifactIndex, BlobRecords, HostedFiles, PortError, ProxyCounts, ProxyTelemetry, RepositoryCatalog, Usage,
};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepositoryStats {
    /// Cached objects (remote) or hosted files (local); 0 for virtual repositories, whose
    /// members are counted on their own.
    pub usage: Usage,
    /// Bytes of the distinct contents held (in a total: distinct over every repository listed).
    pub stored_bytes: u64,
    pub counts: ProxyCounts,
}

impl RepositoryStats {
    fn add(&mut self, other: &RepositoryStats) {
        self.usage.objects += other.usage.objects;
        self.usage.bytes += other.usage.bytes;
        self.counts.hits += other.counts.hits;
        self.counts.misses += other.counts.misses;
        self.counts.stale_served += other.counts.stale_served;
        self.counts.upstream_errors += other.counts.upstream_errors;
        self.counts.fetched_bytes += other.counts.fetched_bytes;
    }
}

pub struct StatsService {
    catalog: Arc<dyn RepositoryCatalog>,
    index: Arc<dyn ArtifactIndex>,
    files: Arc<dyn HostedFiles>,
    records: Arc<dyn BlobRecords>,
    telemetry: Arc<dyn ProxyTelemetry>,
}

fn unavailable(e: PortError) -> RepositoryError {
    RepositoryError::Unavailable(e.to_string())
}

impl StatsService {
    pub fn new(
        catalog: Arc<dyn RepositoryCatalog>,
        index: Arc<dyn ArtifactIndex>,
        files: Arc<dyn HostedFiles>,
        records: Arc<dyn BlobRecords>,
        telemetry: Arc<dyn ProxyTelemetry>,
    ) -> Self {
        Self {
            catalog,
            index,
            files,
            records,
            telemetry,
        }
    }

    async fn of(&self, repo: &Repository) -> Result<RepositoryStats, RepositoryError> {
        let name = repo.name.as_str();
        let (usage, stored_bytes) = match repo.settings {
            KindSettings::Remote(_) => (
                self.index.usage(name).await.map_err(unavailable)?,
                self.index.stored_bytes(name).await.map_err(unavailable)?,
            ),
            KindSettings::Local(_) => (
                self.files.usage(name).await.map_err(unavailable)?,
                self.files.stored_bytes(name).await.map_err(unavailable)?,
            ),
            KindSettings::Virtual(_) => (Usage::default(), 0),
        };
        Ok(RepositoryStats {
            usage,
            stored_bytes,
            counts: self.telemetry.counts(name),
        })
    }

    pub async fn repository(&self, name: &str) -> Result<RepositoryStats, RepositoryError> {
        let repo = self
            .catalog
            .get(name)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| RepositoryError::NotFound(name.to_string()))?;
        self.of(&repo).await
    }

    /// Every repository `visible` allows, by name, and their total (whose stored bytes count
    /// a content held by several of them once).
    pub async fn all(
        &self,
        visible: &(dyn Fn(&str) -> bool + Send + Sync),
    ) -> Result<(RepositoryStats, Vec<(String, RepositoryStats)>), RepositoryError> {
        let mut total = RepositoryStats::default();
        let mut each = Vec::new();
        let mut hidden = false;
        for repo in self.catalog.list().await.map_err(unavailable)? {
            if !visible(repo.name.as_str()) {
                hidden = true;
                continue;
            }
            let stats = self.of(&repo).await?;
            total.add(&stats);
            each.push((repo.name.to_string(), stats));
        }
        let listed = hidden.then(|| each.iter().map(|(name, _)| name.clone()).collect());
        total.stored_bytes = self.records.referenced_bytes(listed).await.map_err(unavailable)?;
        Ok((total, each))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::repository::{LocalSettings, ManagedBy, PackageType, RepoName, VirtualSettings};
    use crate::ports::artifact_index::MockArtifactIndex;
    use crate::ports::blob_records::MockBlobRecords;
    use crate::ports::hosted_files::MockHostedFiles;
    use crate::ports::repository_catalog::MockRepositoryCatalog;
    use crate::ports::telemetry::MockProxyTelemetry;

    fn repo(name: &str, settings: KindSettings) -> Repository {
        Repository {
            name: RepoName::new(name).unwrap(),
            package: PackageType::Generic,
            settings,
            managed_by: ManagedBy::Api,
        }
    }

    #[tokio::test]
    async fn totals_add_up_and_virtual_repositories_hold_nothing_themselves() {
        let repos = vec![
            repo("a", KindSettings::Local(LocalSettings::default())),
            repo("b", KindSettings::Local(LocalSettings::default())),
            repo("v", KindSettings::Virtual(VirtualSettings::new(vec![]))),
        ];
        let mut catalog = MockRepositoryCatalog::new();
        catalog.expect_list().returning(move || Ok(repos.clone()));
        let mut files = MockHostedFiles::new();
        files.expect_usage().returning(|name| {
            Ok(Usage {
                objects: 2,
                bytes: if name == "a" { 10 } else { 5 },
            })
        });
        files
            .expect_stored_bytes()
            .returning(|name| Ok(if name == "a" { 6 } else { 5 }));
        // b is hidden from this caller: the total counts only what a and v hold, each blob once.
        let mut records = MockBlobRecords::new();
        records
            .expect_referenced_bytes()
            .withf(|repos| repos.as_deref() == Some(&["a".to_string(), "v".to_string()][..]))
            .returning(|_| Ok(4));
        let mut telemetry = MockProxyTelemetry::new();
        telemetry.expect_counts().returning(|_| ProxyCounts {
            hits: 1,
            ..ProxyCounts::default()
        });
        let svc = StatsService::new(
            Arc::new(catalog),
            Arc::new(MockArtifactIndex::new()),
            Arc::new(files),
            Arc::new(records),
            Arc::new(telemetry),
        );
        let (total, each) = svc.all(&|name| name != "b").await.unwrap();
        assert_eq!(each.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), vec!["a", "v"]);
        assert_eq!(total.usage, Usage { objects: 2, bytes: 10 });
        assert_eq!((total.stored_bytes, each[0].1.stored_bytes), (4, 6));
        assert_eq!(total.counts.hits, 2);
        assert_eq!(each[1].1.usage, Usage::default());
    }
}
