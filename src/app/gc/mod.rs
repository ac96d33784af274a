//! Garbage collection (DESIGN §5): online, and safe across replicas.
//!
//! A blob goes only when no cached artifact, hosted file or open upload session references it
//! and both its creation and its last reference (refreshed by every dedupe hit) are older than
//! the grace period. For each candidate GC takes the blob's lease (`BlobLocks`, shared with the
//! CAS), deletes the row with one conditional statement that re-checks all of that, and only
//! then the object. A push that dedupes onto a listed orphan either ran first (the row was
//! refreshed and the statement deletes nothing) or waits for the lease and stores the object
//! again. A second pass removes objects that have no row (a run killed between the two deletes,
//! or a put whose row was never written), once they are as old as the grace period.
//!
//! Before that, `links` drops the `_blobs` links of local docker images that no manifest of
//! the image names any more, so deleted images free their layers.
//!
//! Everything is paged (rows by digest, objects by key), so memory does not grow with the store,
//! and a run killed at any point leaves nothing a rerun cannot finish. One replica runs at a
//! time, under the `gc:run` lease.
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use crate::app::cas::BlobLocks;
use crate::app::events::EventBus;
use crate::domain::digest::Digest;
use crate::ports::{
    BlobRecord, BlobRecords, BlobStore, Clock, GcTelemetry, HostedFiles, PortError, RepositoryCatalog, TtlCache,
};

/// The lease one replica's run holds. A run that outlives it only lets a second replica start
/// a (harmless) concurrent run: every delete is checked under its own blob lease.
const RUN_LOCK: &str = "gc:run";
const RUN_LEASE_TTL: Duration = Duration::from_secs(30 * 60);
/// Rows or keys handled per page.
pub const GC_PAGE: u64 = 500;
/// Where content-addressed objects live in the blob store.
const BLOB_PREFIX: &str = "blobs/sha256/";

pub struct GcPorts {
    pub records: Arc<dyn BlobRecords>,
    /// Local docker repositories and their `_blobs` links (the first pass, `links`).
    pub catalog: Arc<dyn RepositoryCatalog>,
    pub files: Arc<dyn HostedFiles>,
    pub blobs: Arc<dyn BlobStore>,
    pub cache: Arc<dyn TtlCache>,
    pub clock: Arc<dyn Clock>,
    pub events: Arc<EventBus>,
    pub telemetry: Arc<dyn GcTelemetry>,
}

/// What a run removed (in a dry run: would remove).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    pub dry_run: bool,
    /// `_blobs` links of local docker images that no manifest of the image names.
    pub links_deleted: u64,
    /// Blobs (row and object) nothing referenced.
    pub blobs_deleted: u64,
    /// Objects with no row (left by a killed run or write).
    pub stray_objects_deleted: u64,
    /// Bytes of both.
    pub bytes_freed: u64,
    /// Candidates a writer held at that moment; the next run looks at them again.
    pub busy: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error("a garbage collection is already running")]
    AlreadyRunning,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

fn unavailable(e: PortError) -> GcError {
    GcError::Unavailable(e.to_string())
}

pub struct GcService {
    records: Arc<dyn BlobRecords>,
    catalog: Arc<dyn RepositoryCatalog>,
    files: Arc<dyn HostedFiles>,
    blobs: Arc<dyn BlobStore>,
    cache: Arc<dyn TtlCache>,
    clock: Arc<dyn Clock>,
    events: Arc<EventBus>,
    telemetry: Arc<dyn GcTelemetry>,
    locks: BlobLocks,
    grace: chrono::Duration,
}

impl GcService {
    /// `grace`: how long an unreferenced blob is kept after it was last written or referenced.
    pub fn new(ports: GcPorts, grace: Duration) -> Self {
        Self {
            locks: BlobLocks::new(ports.cache.clone()),
            records: ports.records,
            catalog: ports.catalog,
            files: ports.files,
            blobs: ports.blobs,
            cache: ports.cache,
            clock: ports.clock,
            events: ports.events,
            telemetry: ports.telemetry,
            grace: chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX),
        }
    }

    /// One run, unless another replica is running one (`AlreadyRunning`).
    pub async fn run(&self, dry_run: bool) -> Result<GcReport, GcError> {
        let lease = self
            .cache
            .try_lock(RUN_LOCK, RUN_LEASE_TTL)
            .await
            .map_err(unavailable)?
            .ok_or(GcError::AlreadyRunning)?;
        let result = self.collect(dry_run).await;
        if let Err(e) = self.cache.release(&lease).await {
            tracing::warn!(error = %e, "GC lease not released; it expires on its own");
        }
        let report = result?;
        if !dry_run {
            self.telemetry
                .gc_run(report.blobs_deleted + report.stray_objects_deleted, report.bytes_freed);
        }
        self.events.publish_gc(&report).await;
        tracing::info!(
            dry_run,
            links_deleted = report.links_deleted,
            blobs_deleted = report.blobs_deleted,
            stray_objects_deleted = report.stray_objects_deleted,
            bytes_freed = report.bytes_freed,
            busy = report.busy,
            "garbage collection finished"
        );
        Ok(report)
    }

    async fn collect(&self, dry_run: bool) -> Result<GcReport, GcError> {
        let cutoff = self.clock.now() - self.grace;
        let mut report = GcReport {
            dry_run,
            ..GcReport::default()
        };
        self.unreferenced_links(cutoff, &mut report).await?;
        self.orphan_rows(cutoff, &mut report).await?;
        self.stray_objects(cutoff, &mut report).await?;
        Ok(report)
    }

    async fn orphan_rows(&self, cutoff: DateTime<Utc>, report: &mut GcReport) -> Result<(), GcError> {
        let mut after: Option<Digest> = None;
        loop {
            let page = self
                .records
                .orphans(cutoff, after.clone(), GC_PAGE)
                .await
                .map_err(unavailable)?;
            let last_page = (page.len() as u64) < GC_PAGE;
            after = page.last().map(|b| b.digest.clone());
            for blob in page {
                self.delete_orphan(&blob, cutoff, report).await?;
            }
            if last_page {
                return Ok(());
            }
        }
    }

    async fn delete_orphan(
        &self,
        blob: &BlobRecord,
        cutoff: DateTime<Utc>,
        report: &mut GcReport,
    ) -> Result<(), GcError> {
        if report.dry_run {
            report.blobs_deleted += 1;
            report.bytes_freed += blob.size;
            return Ok(());
        }
        let Some(lease) = self.locks.try_acquire(&blob.digest).await.map_err(unavailable)? else {
            report.busy += 1;
            return Ok(());
        };
        let deleted = self.delete_locked(&blob.digest, cutoff).await;
        self.locks.release(&blob.digest, &lease).await;
        if deleted? {
            report.blobs_deleted += 1;
            report.bytes_freed += blob.size;
        }
        Ok(())
    }

    /// Under the blob's lease: the row first, in one statement that re-checks the references and
    /// the grace period, then the object. A failed object delete leaves a stray object that the
    /// stray pass (of this run or the next) removes.
    async fn delete_locked(&self, digest: &Digest, cutoff: DateTime<Utc>) -> Result<bool, GcError> {
        if !self.records.delete_orphan(digest, cutoff).await.map_err(unavailable)? {
            return Ok(false);
        }
        self.blobs.delete(&digest.blob_key()).await.map_err(unavailable)?;
        Ok(true)
    }

    async fn stray_objects(&self, cutoff: DateTime<Utc>, report: &mut GcReport) -> Result<(), GcError> {
        let limit = usize::try_from(GC_PAGE).unwrap_or(usize::MAX);
        let mut after: Option<String> = None;
        loop {
            let page = self
                .blobs
                .list(BLOB_PREFIX, after.clone(), limit)
                .await
                .map_err(unavailable)?;
            let last_page = page.len() < limit;
            after = page.last().map(|k| k.key.clone());
            let old: Vec<(Digest, String, u64)> = page
                .into_iter()
                .filter(|k| k.meta.last_modified.is_some_and(|t| t < cutoff))
                .filter_map(|k| digest_of(&k.key).map(|d| (d, k.key, k.meta.size)))
                .collect();
            let digests: Vec<Digest> = old.iter().map(|(d, _, _)| d.clone()).collect();
            let recorded: HashSet<Digest> = if digests.is_empty() {
                HashSet::new()
            } else {
                self.records
                    .existing(&digests)
                    .await
                    .map_err(unavailable)?
                    .into_iter()
                    .collect()
            };
            for (digest, key, size) in old {
                if recorded.contains(&digest) {
                    continue;
                }
                if self.delete_stray(&digest, &key, report).await? {
                    report.stray_objects_deleted += 1;
                    report.bytes_freed += size;
                }
            }
            if last_page {
                return Ok(());
            }
        }
    }

    /// Under the blob's lease, the object goes only if it still has no row: a writer that
    /// recorded it meanwhile keeps it.
    async fn delete_stray(&self, digest: &Digest, key: &str, report: &mut GcReport) -> Result<bool, GcError> {
        if report.dry_run {
            return Ok(true);
        }
        let Some(lease) = self.locks.try_acquire(digest).await.map_err(unavailable)? else {
            report.busy += 1;
            return Ok(false);
        };
        let deleted = async {
            if self.records.get(digest).await?.is_some() {
                return Ok(false);
            }
            self.blobs.delete(key).await.map(|()| true)
        }
        .await;
        self.locks.release(digest, &lease).await;
        deleted.map_err(unavailable)
    }
}

/// The digest a content-addressed key names; other keys are not GC's.
fn digest_of(key: &str) -> Option<Digest> {
    let hex = key.strip_prefix(BLOB_PREFIX)?;
    Digest::from_sha256_hex(hex).ok().filter(|d| d.blob_key() == key)
}

mod links;

#[cfg(test)]
mod tests;
