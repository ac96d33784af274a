//! The per-digest lease that serialises GC's check-and-delete of a blob with the CAS's
//! dedupe-and-record of the same digest, on every replica sharing the `TtlCache` (memory in
//! one process, Redis across replicas). GC never waits for it (a busy blob is skipped and
//! looked at again on the next run); a writer waits for GC's few milliseconds.
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::digest::Digest;
use crate::ports::{Lease, PortError, TtlCache};

/// Held across a stat, maybe a put, and one statement: a holder that dies frees it this late.
/// A writer whose put outlives it is still safe: GC only removes rows older than the grace
/// period and objects last written before it.
pub const BLOB_LEASE_TTL: Duration = Duration::from_secs(60);
/// How many times a writer waits out a holder before giving up with an error.
const WAIT_ROUNDS: usize = 3;

fn key(digest: &Digest) -> String {
    format!("blob-lease:{digest}")
}

fn released(digest: &Digest) -> String {
    format!("blob-released:{digest}")
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Someone held the blob through every wait.
    #[error("the blob stayed locked")]
    Busy,
    /// The TTL cache cannot be reached; the caller decides whether to go on without a lease.
    #[error(transparent)]
    Cache(#[from] PortError),
}

#[derive(Clone)]
pub struct BlobLocks {
    cache: Arc<dyn TtlCache>,
    ttl: Duration,
}

impl BlobLocks {
    pub fn new(cache: Arc<dyn TtlCache>) -> Self {
        Self {
            cache,
            ttl: BLOB_LEASE_TTL,
        }
    }

    /// GC's side: the lease if nobody holds it, `None` when busy.
    pub async fn try_acquire(&self, digest: &Digest) -> Result<Option<Lease>, PortError> {
        self.cache.try_lock(&key(digest), self.ttl).await
    }

    /// A writer's side: waits until the lease is free (a release message, or the holder's TTL
    /// running out), at most `WAIT_ROUNDS` holders in a row.
    pub async fn acquire(&self, digest: &Digest) -> Result<Lease, LeaseError> {
        if let Some(lease) = self.try_acquire(digest).await? {
            return Ok(lease);
        }
        for _ in 0..WAIT_ROUNDS {
            // Subscribed before trying again, so a release in between is not missed.
            let mut done = self.cache.subscribe(&released(digest)).await?;
            if let Some(lease) = self.try_acquire(digest).await? {
                return Ok(lease);
            }
            let _ = tokio::time::timeout(self.ttl, done.next()).await;
            if let Some(lease) = self.try_acquire(digest).await? {
                return Ok(lease);
            }
        }
        Err(LeaseError::Busy)
    }

    /// Frees the lease and wakes whoever waits for it. Best effort: an unreleased lease
    /// expires on its own.
    pub async fn release(&self, digest: &Digest, lease: &Lease) {
        match self.cache.release(lease).await {
            Ok(_) => {
                if let Err(e) = self.cache.publish(&released(digest), "released").await {
                    tracing::debug!(error = %e, %digest, "blob lease release not announced");
                }
            }
            Err(e) => tracing::warn!(error = %e, %digest, "blob lease not released; it expires on its own"),
        }
    }
}
