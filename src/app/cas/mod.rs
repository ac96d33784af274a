//! The content-addressable write path (DESIGN §5): stream → temp file while hashing → verify →
//! put under `blobs/sha256/<hex>` if absent → blob row. Memory stays bounded (the spool's queue
//! and write buffer) whatever the size; the temp file is deleted on every exit path (drop guard).
//! The dedupe-and-record step holds the digest's lease (`BlobLocks`), which GC takes around its
//! check-and-delete, so a re-ingest of a blob GC is removing either refreshes the row first or
//! stores the object again after GC is done.
use bytes::Bytes;
use futures::StreamExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::app::disk::DiskGuard;
use crate::domain::digest::Digest;
use crate::ports::{BlobRecord, BlobRecords, BlobStore, ByteStream, Clock, Lease, PortError, TtlCache};
use spool::{HashWhen, Spool};

mod lease;
mod spool;
mod sweep;

pub use lease::{BLOB_LEASE_TTL, BlobLocks, LeaseError};
pub use sweep::Swept;

/// Where `ingest_forwarding` sends chunks as they are stored.
pub type Forward = tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("digest mismatch: expected {expected}, got {actual}")]
    Mismatch { expected: Digest, actual: Digest },
    #[error("sha512 mismatch: expected {expected}, got {actual}")]
    IntegrityMismatch { expected: String, actual: String },
    #[error("body interrupted: {0}")]
    Interrupted(String),
    /// The disk is full, or too full for this body (507).
    #[error("insufficient storage: {0}")]
    InsufficientStorage(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<PortError> for IngestError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::Interrupted(m) => IngestError::Interrupted(m),
            PortError::StorageFull(m) => IngestError::InsufficientStorage(m),
            other => IngestError::Unavailable(other.to_string()),
        }
    }
}

/// Looks at a complete, verified upload in its temp file before it is committed; `false`
/// refuses it (nothing is stored). Runs on a blocking thread.
type Hook = Box<dyn FnOnce(&std::path::Path) -> bool + Send>;

/// Why an inspected ingest did not store its body.
#[derive(Debug)]
pub enum Inspected<E> {
    Ingest(IngestError),
    /// The inspector refused the body.
    Rejected(E),
}

/// A blob safely stored and recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    pub digest: Digest,
    pub size: u64,
}

/// What the caller knows about a body before it arrives.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    pub expected: Option<Digest>,
    /// A sha512 (hex) the source promised, checked in addition to the sha256 (npm integrity).
    pub expected_sha512: Option<String>,
    pub limit: Option<u64>,
    pub content_type: Option<String>,
    /// The size the source declared (Content-Length), checked against the free disk space
    /// before anything is written.
    pub size_hint: Option<u64>,
}

pub struct ContentStore {
    blobs: Arc<dyn BlobStore>,
    records: Arc<dyn BlobRecords>,
    clock: Arc<dyn Clock>,
    scratch: PathBuf,
    disk: Option<Arc<DiskGuard>>,
    locks: Option<BlobLocks>,
}

impl ContentStore {
    /// `scratch` is a local directory for temp files; on the same filesystem as an fs blob
    /// store, the final put is a link rather than a copy.
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        records: Arc<dyn BlobRecords>,
        clock: Arc<dyn Clock>,
        scratch: PathBuf,
    ) -> Self {
        Self {
            blobs,
            records,
            clock,
            scratch,
            disk: None,
            locks: None,
        }
    }

    /// Takes each digest's lease in `cache` around the dedupe-and-record, as GC does around its
    /// delete. Without it (tests of the write path alone) nothing is leased.
    pub fn with_locks(mut self, cache: Arc<dyn TtlCache>) -> Self {
        self.locks = Some(BlobLocks::new(cache));
        self
    }

    /// The directory temp files of uploads go to (protocol adapters that must decode a body
    /// before it can be ingested spool it there, on the disk the content store watches).
    pub fn scratch_dir(&self) -> &std::path::Path {
        &self.scratch
    }

    /// Refuses writes (`InsufficientStorage`) that the disk holding `scratch` has no room for.
    pub fn with_disk(mut self, disk: Arc<DiskGuard>) -> Self {
        self.disk = Some(disk);
        self
    }

    pub async fn ingest(&self, body: ByteStream, options: IngestOptions) -> Result<Ingested, IngestError> {
        self.ingest_forwarding(body, options, None).await
    }

    /// Like `ingest`, and before the blob is committed `inspect` reads the temp file (on a
    /// blocking thread: package archives are read with std IO) once the body is complete and its
    /// digest verified. Its error refuses the body, which is then not stored (DESIGN §10: a
    /// package upload is validated against its own metadata without buffering it in memory).
    pub async fn ingest_inspected<T, E, F>(
        &self,
        body: ByteStream,
        options: IngestOptions,
        inspect: F,
    ) -> Result<(Ingested, T), Inspected<E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        F: FnOnce(&std::path::Path) -> Result<T, E> + Send + 'static,
    {
        let slot: Arc<std::sync::Mutex<Option<Result<T, E>>>> = Arc::new(std::sync::Mutex::new(None));
        let filled = Arc::clone(&slot);
        let hook: Hook = Box::new(move |path| {
            let outcome = inspect(path);
            let accepted = outcome.is_ok();
            if let Ok(mut slot) = filled.lock() {
                *slot = Some(outcome);
            }
            accepted
        });
        let stored = self.ingest_inner(body, options, &mut None, Some(hook)).await;
        let outcome = slot.lock().ok().and_then(|mut s| s.take());
        match (stored, outcome) {
            (_, Some(Err(e))) => Err(Inspected::Rejected(e)),
            (Ok(ingested), Some(Ok(value))) => Ok((ingested, value)),
            (Err(e), _) => Err(Inspected::Ingest(e)),
            (Ok(_), None) => Err(Inspected::Ingest(IngestError::Unavailable(
                "the upload inspector did not run".into(),
            ))),
        }
    }

    /// Like `ingest`, and also forwards every chunk to `forward` as it arrives, so a client
    /// receives the body while it is being stored (pull-through); with a promised digest the
    /// last chunk follows only once the digest matches. The channel is bounded, so a slow
    /// client paces the transfer; a client that goes away stops receiving while the ingest
    /// goes on to completion for everyone else. Any failure is forwarded as an error item, so
    /// the client never mistakes a cut body for a complete one, with one exception: a body
    /// nothing verifies that does not fit on the disk is passed through to the client whole
    /// and not stored (`InsufficientStorage` tells the caller).
    pub async fn ingest_forwarding(
        &self,
        body: ByteStream,
        options: IngestOptions,
        forward: Option<Forward>,
    ) -> Result<Ingested, IngestError> {
        let mut forward = forward;
        let result = self.ingest_inner(body, options, &mut forward, None).await;
        if let (Err(e), Some(tx)) = (&result, forward) {
            let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
        }
        result
    }

    async fn ingest_inner(
        &self,
        mut body: ByteStream,
        options: IngestOptions,
        forward: &mut Option<Forward>,
        inspect: Option<Hook>,
    ) -> Result<Ingested, IngestError> {
        let verifying = options.expected.is_some() || options.expected_sha512.is_some();
        if let Some(disk) = &self.disk
            && let Err(status) = disk.admits(options.size_hint)
        {
            let reason = format!("{} bytes free on the data disk", status.free);
            return match forward.take() {
                Some(tx) if !verifying => pass_through(body, tx, reason, 0).await,
                _ => Err(IngestError::InsufficientStorage(reason)),
            };
        }
        tokio::fs::create_dir_all(&self.scratch)
            .await
            .map_err(|e| IngestError::Unavailable(format!("scratch dir: {e}")))?;
        let temp = tempfile::Builder::new()
            .prefix(sweep::TEMP_PREFIX)
            .tempfile_in(&self.scratch)
            .map_err(|e| IngestError::Unavailable(format!("temp file: {e}")))?;
        // `temp_path` deletes the file when dropped, on every exit path; `held` tells a sweep
        // (of this or a restarted process) the file is in use until then.
        let (file, temp_path) = temp.into_parts();
        let held = sweep::hold(&temp_path);
        // A body with a promised digest keeps its last chunk back until the digest matches,
        // so a client never receives a complete body that failed verification.
        let when = if forward.is_some() && !verifying {
            HashWhen::AfterEnd
        } else {
            HashWhen::Inline
        };
        let mut spool = Spool::start(file, when, options.expected_sha512.is_some());
        let mut received = 0u64;
        let mut held_back: Option<Bytes> = None;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| IngestError::Interrupted(e.to_string()))?;
            received += chunk.len() as u64;
            if let Some(limit) = options.limit
                && received > limit
            {
                return Err(IngestError::TooLarge { limit });
            }
            let ready = if verifying {
                held_back.replace(chunk.clone())
            } else {
                Some(chunk.clone())
            };
            if let Some(ready) = ready {
                send(forward, ready).await;
            }
            if let Err(e) = spool.push(chunk).await {
                // Every handle on the temp file goes, so its blocks are free again at once.
                drop((spool, held));
                return self
                    .out_of_space(e, body, forward, verifying, temp_path, received)
                    .await;
            }
        }
        let hashes = match spool.finish().await {
            Ok(hashes) => hashes,
            Err(e) => {
                drop(held);
                return self
                    .out_of_space(e, body, forward, verifying, temp_path, received)
                    .await;
            }
        };
        if let (Some(expected), Some(actual)) = (options.expected_sha512, hashes.sha512)
            && actual != expected
        {
            return Err(IngestError::IntegrityMismatch { expected, actual });
        }
        let (digest, size) = (hashes.digest, hashes.size);
        if let Some(expected) = options.expected
            && expected != digest
        {
            return Err(IngestError::Mismatch {
                expected,
                actual: digest,
            });
        }
        if let Some(inspect) = inspect {
            let path = temp_path.to_path_buf();
            let accepted = tokio::task::spawn_blocking(move || inspect(&path))
                .await
                .map_err(|e| IngestError::Unavailable(format!("upload inspector: {e}")))?;
            if !accepted {
                return Err(IngestError::Unavailable("refused by the upload inspector".into()));
            }
        }
        if let Some(last) = held_back {
            send(forward, last).await;
        }
        let lease = self.lease(&digest).await?;
        let stored = self
            .store_and_record(&digest, size, options.content_type, &temp_path)
            .await;
        if let (Some(locks), Some(lease)) = (&self.locks, &lease) {
            locks.release(&digest, lease).await;
        }
        stored?;
        drop((held, temp_path));
        Ok(Ingested { digest, size })
    }

    /// The digest's lease, waiting for GC if it holds it. With the TTL cache down the write
    /// goes on without one (GC cannot take leases then either, so it deletes nothing).
    async fn lease(&self, digest: &Digest) -> Result<Option<Lease>, IngestError> {
        let Some(locks) = &self.locks else {
            return Ok(None);
        };
        match locks.acquire(digest).await {
            Ok(lease) => Ok(Some(lease)),
            Err(LeaseError::Busy) => Err(IngestError::Unavailable(format!(
                "blob {digest} is locked by a long-running writer or GC"
            ))),
            Err(LeaseError::Cache(e)) => {
                tracing::warn!(error = %e, %digest, "TTL cache unavailable: storing the blob without its lease");
                Ok(None)
            }
        }
    }

    /// Puts the object unless it is there (a dedupe hit), then records the row, which on a hit
    /// refreshes its last-reference time.
    async fn store_and_record(
        &self,
        digest: &Digest,
        size: u64,
        content_type: Option<String>,
        temp: &std::path::Path,
    ) -> Result<(), IngestError> {
        let key = digest.blob_key();
        if self.blobs.stat(&key).await?.is_none() {
            self.blobs.put_file(&key, temp, size).await?;
        }
        let now = self.clock.now();
        let record = BlobRecord {
            digest: digest.clone(),
            size,
            content_type,
            created_at: now,
            last_referenced: now,
        };
        self.records.record(&record).await?;
        Ok(())
    }
}

impl ContentStore {
    /// A temp file write failed. When it is the disk filling up under a body nothing verifies
    /// and a client is receiving it, the temp file goes at once and the rest of the body is
    /// passed through unstored; otherwise the error stands (and the client hears of it).
    async fn out_of_space(
        &self,
        error: IngestError,
        body: ByteStream,
        forward: &mut Option<Forward>,
        verifying: bool,
        temp: tempfile::TempPath,
        sent: u64,
    ) -> Result<Ingested, IngestError> {
        let IngestError::InsufficientStorage(reason) = error else {
            return Err(error);
        };
        drop(temp);
        if let Some(disk) = &self.disk {
            disk.check();
        }
        match forward.take() {
            Some(tx) if !verifying => pass_through(body, tx, reason, sent).await,
            other => {
                *forward = other;
                Err(IngestError::InsufficientStorage(reason))
            }
        }
    }

    /// Removes temp files that no live ingest holds and that were last written `min_age` ago or
    /// more (`Duration::ZERO` at start: whatever a killed process left behind).
    pub async fn sweep_temp_files(&self, min_age: std::time::Duration) -> std::io::Result<Swept> {
        let scratch = self.scratch.clone();
        tokio::task::spawn_blocking(move || sweep::sweep(&scratch, min_age))
            .await
            .map_err(std::io::Error::other)?
    }
}

/// Sends the rest of `body` to the client without storing it, then reports why it was not
/// stored. A source failure mid-way still reaches the client as an error item.
async fn pass_through(mut body: ByteStream, tx: Forward, reason: String, sent: u64) -> Result<Ingested, IngestError> {
    tracing::warn!(
        reason,
        already_sent = sent,
        "disk full: passing the body through uncached"
    );
    while let Some(chunk) = body.next().await {
        let failed = chunk.is_err();
        if tx.send(chunk).await.is_err() || failed {
            break;
        }
    }
    Err(IngestError::InsufficientStorage(format!(
        "{reason}: passed through uncached"
    )))
}

/// Forwards one chunk; a client that went away stops receiving, the ingest goes on.
async fn send(forward: &mut Option<Forward>, chunk: Bytes) {
    if let Some(tx) = forward.as_ref()
        && tx.send(Ok(chunk)).await.is_err()
    {
        *forward = None;
    }
}

#[cfg(test)]
mod tests;
