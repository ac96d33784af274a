//! Retention (issue #15): what each repository's policies remove, previewed (dry run) or done.
//!
//! Local docker repositories: `keep_last_tags` and `keep_tag_patterns` delete old tags and the
//! manifests they leave untagged (`tags`).
//!
//! Remotes: `unused_days` evicts cached copies not downloaded for that long; `max_bytes` evicts
//! the least recently used copies until the cache (its distinct contents, counted by the
//! database) is under the limit. Copies are paged by last access (`ArtifactIndex::least_recent`)
//! and each goes by a conditional delete that keeps a copy read since it was listed. Evicting
//! drops the reference; the bytes go at the next garbage collection after `gc_grace_period`, like
//! any other delete.
//!
//! It runs in `serve` every `retention_interval` under the `retention:run` lease, on demand
//! (`POST /api/v2/retention`, one repository: `POST /api/v2/repositories/{name}/retention`), and
//! after a fetch stores a new copy in a remote with a `max_bytes` (at most once per
//! `AFTER_FETCH_PAUSE` per repository and replica). Every enforcement of a repository holds its
//! own lease, so two replicas never evict from one repository at once.
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::app::events::EventBus;
use crate::app::proxy::last_access::AccessRecorder;
use crate::app::registry::pulls::PullRecorder;
use crate::domain::repository::PackageType;
use crate::domain::repository::{KindSettings, Repository};
use crate::domain::retention::{CacheLimits, Cached, Reason, plan_page};
use crate::ports::{
    ArtifactIndex, BlobStore, Clock, HostedFiles, PortError, RepositoryCatalog, RetentionTelemetry, TtlCache,
};

mod tags;
mod untagged;

const RUN_LOCK: &str = "retention:run";
const RUN_LEASE_TTL: Duration = Duration::from_secs(30 * 60);
const REPO_LEASE_TTL: Duration = Duration::from_secs(10 * 60);
/// Rows read per page.
pub const PAGE: u64 = 500;
/// Removals listed per repository in a report; all are counted.
pub const LISTED: usize = 1000;
/// The least time between two enforcements of one repository triggered by fetches.
pub const AFTER_FETCH_PAUSE: Duration = Duration::from_secs(2);
/// Re-counts of a remote's size per enforcement at most (each follows a pass that evicted).
const MAX_ROUNDS: usize = 16;

fn repo_lock(name: &str) -> String {
    format!("retention:repo:{name}")
}

pub struct RetentionPorts {
    pub catalog: Arc<dyn RepositoryCatalog>,
    pub index: Arc<dyn ArtifactIndex>,
    /// Local docker repositories' rows (tags, manifests) and the stored manifests.
    pub files: Arc<dyn HostedFiles>,
    pub blobs: Arc<dyn BlobStore>,
    pub cache: Arc<dyn TtlCache>,
    pub clock: Arc<dyn Clock>,
    pub events: Arc<EventBus>,
    /// Cache hits noted but not yet written: flushed before copies are judged by last access.
    pub access: Arc<AccessRecorder>,
    /// Manifest pulls noted but not yet written: flushed before untagged manifests are judged.
    pub pulls: Arc<PullRecorder>,
    /// Told what each enforcement removed, per policy.
    pub telemetry: Arc<dyn RetentionTelemetry>,
}

/// One thing a policy removes (a dry run: would remove).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removal {
    pub path: String,
    pub size: u64,
    pub reason: Reason,
    pub last_accessed: Option<DateTime<Utc>>,
}

/// What retention did to one repository.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepositoryRetention {
    pub name: String,
    /// The first `LISTED` removals, in the order they were decided.
    pub removed: Vec<Removal>,
    /// All removals, and the bytes their rows named.
    pub objects: u64,
    pub bytes: u64,
    /// The repository's distinct stored bytes afterwards (a dry run: estimated).
    pub stored_bytes: u64,
    /// Another replica was enforcing this repository; nothing was done here.
    pub busy: bool,
    /// A run over every repository: this one failed (the cause is logged) and the run went on.
    pub failed: bool,
    /// All removals by the policy that removed them.
    pub by_policy: Vec<PolicyTotal>,
}

/// What one policy removed from one repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyTotal {
    pub policy: Reason,
    pub objects: u64,
    pub bytes: u64,
}

impl RepositoryRetention {
    fn push(&mut self, removal: Removal) {
        self.objects += 1;
        self.bytes += removal.size;
        match self.by_policy.iter_mut().find(|t| t.policy == removal.reason) {
            Some(total) => {
                total.objects += 1;
                total.bytes += removal.size;
            }
            None => self.by_policy.push(PolicyTotal {
                policy: removal.reason,
                objects: 1,
                bytes: removal.size,
            }),
        }
        if self.removed.len() < LISTED {
            self.removed.push(removal);
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub dry_run: bool,
    /// Repositories with a retention policy, by name.
    pub repositories: Vec<RepositoryRetention>,
    pub objects: u64,
    pub bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("a retention run is already in progress")]
    AlreadyRunning,
    #[error("repository '{0}' not found")]
    NotFound(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

fn unavailable(e: PortError) -> RetentionError {
    RetentionError::Unavailable(e.to_string())
}

pub struct RetentionService {
    catalog: Arc<dyn RepositoryCatalog>,
    index: Arc<dyn ArtifactIndex>,
    files: Arc<dyn HostedFiles>,
    blobs: Arc<dyn BlobStore>,
    cache: Arc<dyn TtlCache>,
    clock: Arc<dyn Clock>,
    events: Arc<EventBus>,
    access: Arc<AccessRecorder>,
    pulls: Arc<PullRecorder>,
    telemetry: Arc<dyn RetentionTelemetry>,
    /// Repositories with a fetch-triggered enforcement under way, and whether another fetch
    /// asked for one meanwhile.
    triggered: Mutex<HashMap<String, bool>>,
    pause: Duration,
}

impl RetentionService {
    pub fn new(ports: RetentionPorts) -> Self {
        Self {
            catalog: ports.catalog,
            index: ports.index,
            files: ports.files,
            blobs: ports.blobs,
            cache: ports.cache,
            clock: ports.clock,
            events: ports.events,
            access: ports.access,
            pulls: ports.pulls,
            telemetry: ports.telemetry,
            triggered: Mutex::new(HashMap::new()),
            pause: AFTER_FETCH_PAUSE,
        }
    }

    /// Sets the least time between two fetch-triggered enforcements of a repository.
    pub fn with_after_fetch_pause(mut self, pause: Duration) -> Self {
        self.pause = pause;
        self
    }

    /// Every repository's policies, unless another replica is running them (`AlreadyRunning`).
    pub async fn run(&self, dry_run: bool) -> Result<RetentionReport, RetentionError> {
        let lease = self
            .cache
            .try_lock(RUN_LOCK, RUN_LEASE_TTL)
            .await
            .map_err(unavailable)?
            .ok_or(RetentionError::AlreadyRunning)?;
        let result = self.run_all(dry_run).await;
        if let Err(e) = self.cache.release(&lease).await {
            tracing::warn!(error = %e, "retention lease not released; it expires on its own");
        }
        let report = result?;
        tracing::info!(
            dry_run,
            objects = report.objects,
            bytes = report.bytes,
            "retention finished"
        );
        Ok(report)
    }

    async fn run_all(&self, dry_run: bool) -> Result<RetentionReport, RetentionError> {
        self.flush_accesses().await;
        let mut report = RetentionReport {
            dry_run,
            ..RetentionReport::default()
        };
        for repo in self.catalog.list().await.map_err(unavailable)? {
            if !has_policy(&repo) {
                continue;
            }
            // One repository that cannot be read (an unreadable stored manifest, say) must not
            // keep the others, a full cache among them, from their policies.
            let done = match self.enforce(&repo, dry_run).await {
                Ok(done) => done,
                Err(e) => {
                    tracing::warn!(repository = %repo.name, error = %e, "retention failed for this repository");
                    RepositoryRetention {
                        name: repo.name.to_string(),
                        failed: true,
                        ..RepositoryRetention::default()
                    }
                }
            };
            report.objects += done.objects;
            report.bytes += done.bytes;
            report.repositories.push(done);
        }
        Ok(report)
    }

    /// One repository's policies: a preview (`dry_run`) or done now.
    pub async fn repository(&self, name: &str, dry_run: bool) -> Result<RepositoryRetention, RetentionError> {
        let repo = self
            .catalog
            .get(name)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| RetentionError::NotFound(name.to_string()))?;
        self.flush_accesses().await;
        self.enforce(&repo, dry_run).await
    }

    /// After a fetch stored a copy in `repo` (a remote with a `max_bytes`): enforces its
    /// policies in the background, one enforcement per repository at a time and at most one
    /// every `AFTER_FETCH_PAUSE`; fetches meanwhile ask for one more after it.
    pub fn after_fetch(self: &Arc<Self>, repo: &str) {
        {
            let mut triggered = self.triggered.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(again) = triggered.get_mut(repo) {
                *again = true;
                return;
            }
            triggered.insert(repo.to_string(), false);
        }
        let service = Arc::clone(self);
        let repo = repo.to_string();
        tokio::spawn(async move {
            loop {
                match service.repository(&repo, false).await {
                    Ok(done) if done.objects > 0 => {
                        tracing::info!(repository = %repo, objects = done.objects, bytes = done.bytes, "cache over max_bytes: evicted");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(repository = %repo, error = %e, "retention after a fetch failed"),
                }
                tokio::time::sleep(service.pause).await;
                let mut triggered = service.triggered.lock().unwrap_or_else(PoisonError::into_inner);
                if triggered.get(&repo) == Some(&true) {
                    triggered.insert(repo.clone(), false);
                } else {
                    triggered.remove(&repo);
                    return;
                }
            }
        });
    }

    async fn flush_accesses(&self) {
        if let Err(e) = self.access.flush().await {
            tracing::warn!(error = %e, "last accesses not written before retention");
        }
    }

    /// Under the repository's lease (none for a dry run, which changes nothing).
    async fn enforce(&self, repo: &Repository, dry_run: bool) -> Result<RepositoryRetention, RetentionError> {
        let name = repo.name.as_str();
        let lease = if dry_run {
            None
        } else {
            match self
                .cache
                .try_lock(&repo_lock(name), REPO_LEASE_TTL)
                .await
                .map_err(unavailable)?
            {
                Some(lease) => Some(lease),
                None => {
                    return Ok(RepositoryRetention {
                        name: name.to_string(),
                        busy: true,
                        ..RepositoryRetention::default()
                    });
                }
            }
        };
        let result = match &repo.settings {
            KindSettings::Remote(s) => {
                let limits = CacheLimits::new(s.max_bytes, s.unused_days, self.clock.now());
                self.evict_cached(name, &limits, dry_run).await
            }
            KindSettings::Local(s) if repo.package == PackageType::Docker => self.retain_docker(name, s, dry_run).await,
            KindSettings::Local(_) | KindSettings::Virtual(_) => Ok(RepositoryRetention {
                name: name.to_string(),
                ..RepositoryRetention::default()
            }),
        };
        if let Some(lease) = lease
            && let Err(e) = self.cache.release(&lease).await
        {
            tracing::warn!(error = %e, repository = name, "retention lease not released; it expires on its own");
        }
        let done = result?;
        if !dry_run && done.objects > 0 {
            for total in &done.by_policy {
                self.telemetry
                    .retention_removed(name, total.policy, total.objects, total.bytes);
            }
            self.events.publish("retention", name, None).await;
        }
        Ok(done)
    }

    /// Pages the remote's copies least recently used first and evicts what `limits` remove;
    /// then counts its size again and goes on while it is still over `max_bytes` (the per-row
    /// estimate stops early when paths share contents).
    async fn evict_cached(
        &self,
        repo: &str,
        limits: &CacheLimits,
        dry_run: bool,
    ) -> Result<RepositoryRetention, RetentionError> {
        let mut done = RepositoryRetention {
            name: repo.to_string(),
            ..RepositoryRetention::default()
        };
        let mut stored = self.index.stored_bytes(repo).await.map_err(unavailable)?;
        done.stored_bytes = stored;
        if limits.is_unbounded() {
            return Ok(done);
        }
        for _ in 0..MAX_ROUNDS {
            let before = done.objects;
            let mut estimate = stored;
            let mut after = None;
            loop {
                let page = self
                    .index
                    .least_recent(repo, after.clone(), PAGE)
                    .await
                    .map_err(unavailable)?;
                let rows: Vec<Cached> = page
                    .iter()
                    .map(|o| Cached {
                        path: o.path.clone(),
                        digest: o.digest.clone(),
                        size: o.size,
                        last_accessed: o.last_accessed,
                    })
                    .collect();
                let plan = plan_page(&rows, &mut estimate, limits);
                let candidates: Vec<(String, DateTime<Utc>)> = plan
                    .remove
                    .iter()
                    .map(|&(i, _)| (page[i].path.clone(), page[i].last_accessed))
                    .collect();
                // The page's evictions in one call (one transaction); a dry run evicts nothing.
                let evicted = if dry_run || candidates.is_empty() {
                    vec![true; candidates.len()]
                } else {
                    self.index.evict(repo, &candidates).await.map_err(unavailable)?
                };
                for (&(i, reason), evicted) in plan.remove.iter().zip(evicted) {
                    let object = &page[i];
                    if evicted {
                        done.push(Removal {
                            path: object.path.clone(),
                            size: object.size,
                            reason,
                            last_accessed: Some(object.last_accessed),
                        });
                    }
                }
                if plan.done || (page.len() as u64) < PAGE {
                    break;
                }
                after = page.last().map(|o| (o.last_accessed, o.path.clone()));
            }
            if dry_run {
                done.stored_bytes = estimate;
                return Ok(done);
            }
            stored = self.index.stored_bytes(repo).await.map_err(unavailable)?;
            done.stored_bytes = stored;
            let over = limits.max_bytes.is_some_and(|max| stored > max);
            if !over || done.objects == before {
                break;
            }
        }
        Ok(done)
    }
}

impl RetentionService {
    /// Tags first (the manifests they leave untagged go with them), then manifests that were
    /// untagged already.
    async fn retain_docker(
        &self,
        name: &str,
        settings: &crate::domain::repository::LocalSettings,
        dry_run: bool,
    ) -> Result<RepositoryRetention, RetentionError> {
        let mut done = match settings.keep_last_tags {
            Some(keep_last) => {
                self.retain_tags(name, keep_last, &settings.keep_tag_patterns, dry_run)
                    .await?
            }
            None => RepositoryRetention {
                name: name.to_string(),
                ..RepositoryRetention::default()
            },
        };
        if let Some(days) = settings.untagged_manifest_days {
            self.pulls.flush_logged().await;
            self.retain_untagged(name, days, dry_run, &mut done).await?;
        }
        done.stored_bytes = self.files.stored_bytes(name).await.map_err(unavailable)?;
        Ok(done)
    }
}

/// Whether any retention policy applies to `repo`.
pub fn has_policy(repo: &Repository) -> bool {
    match &repo.settings {
        KindSettings::Remote(s) => s.max_bytes.is_some() || s.unused_days.is_some(),
        KindSettings::Local(s) => {
            repo.package == PackageType::Docker && (s.keep_last_tags.is_some() || s.untagged_manifest_days.is_some())
        }
        KindSettings::Virtual(_) => false,
    }
}

#[cfg(test)]
mod tests;
