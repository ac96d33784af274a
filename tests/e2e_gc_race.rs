//! The classic GC race, made deterministic: GC lists an old orphan, a push dedupes onto it, GC
//! goes on to delete. The blob must survive and read back byte-identical, whichever of the two
//! reaches the blob first: GC held between its listing and its delete (the dedupe refreshed the
//! row, so the conditional delete removes nothing), or GC held inside its delete, after the row
//! went and before the object (the writer waits for the blob's lease, then stores it again).
//! Each runs on SQLite + fs + in-process cache, and as two replicas (one collecting, one
//! pushing) on PostgreSQL + S3 + Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::sync::{Arc, Mutex};

use artifactapi::adapters::blob::fs::FsBlobStore;
use artifactapi::adapters::blob::s3::S3BlobStore;
use artifactapi::adapters::cache::memory::MemoryCache;
use artifactapi::adapters::cache::redis::RedisCache;
use artifactapi::adapters::meta::{self, MetaStore};
use artifactapi::app::cas::{ContentStore, IngestOptions};
use artifactapi::app::events::EventBus;
use artifactapi::app::gc::{GcPorts, GcReport, GcService};
use artifactapi::domain::digest::Digest;
use artifactapi::ports::{
    BlobRecord, BlobRecords, BlobStore, ByteStream, Clock, GcTelemetry, HostedFile, HostedFiles, PortError, TtlCache,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::Notify;

const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

/// A clock the test moves.
struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

struct NoTelemetry;

impl GcTelemetry for NoTelemetry {
    fn gc_run(&self, _: u64, _: u64) {}
}

/// Where GC is held.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HoldAt {
    /// After `orphans` has listed, before any delete.
    AfterListing,
    /// After the first row delete, before its object delete.
    InsideDelete,
}

/// `BlobRecords` that stops GC once at `at` until the test lets it go.
struct Held {
    inner: Arc<MetaStore>,
    at: HoldAt,
    reached: Notify,
    go: Notify,
    held_once: std::sync::atomic::AtomicBool,
}

impl Held {
    async fn hold(&self, here: HoldAt) {
        if self.at == here && !self.held_once.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.reached.notify_one();
            self.go.notified().await;
        }
    }
}

#[async_trait]
impl BlobRecords for Held {
    async fn record(&self, blob: &BlobRecord) -> Result<(), PortError> {
        self.inner.record(blob).await
    }
    async fn get(&self, digest: &Digest) -> Result<Option<BlobRecord>, PortError> {
        BlobRecords::get(self.inner.as_ref(), digest).await
    }
    async fn existing(&self, digests: &[Digest]) -> Result<Vec<Digest>, PortError> {
        self.inner.existing(digests).await
    }
    async fn orphans(
        &self,
        older_than: DateTime<Utc>,
        after: Option<Digest>,
        limit: u64,
    ) -> Result<Vec<BlobRecord>, PortError> {
        let listed = self.inner.orphans(older_than, after, limit).await?;
        if !listed.is_empty() {
            self.hold(HoldAt::AfterListing).await;
        }
        Ok(listed)
    }
    async fn delete_orphan(&self, digest: &Digest, older_than: DateTime<Utc>) -> Result<bool, PortError> {
        let deleted = self.inner.delete_orphan(digest, older_than).await?;
        if deleted {
            self.hold(HoldAt::InsideDelete).await;
        }
        Ok(deleted)
    }
    async fn delete(&self, digest: &Digest) -> Result<bool, PortError> {
        BlobRecords::delete(self.inner.as_ref(), digest).await
    }
    async fn referenced_bytes(&self, repos: Option<Vec<String>>) -> Result<u64, PortError> {
        self.inner.referenced_bytes(repos).await
    }
    async fn check(&self) -> Result<(), PortError> {
        self.inner.check().await
    }
}

/// One replica's view of the shared backends.
struct Replica {
    meta: Arc<MetaStore>,
    blobs: Arc<dyn BlobStore>,
    cache: Arc<dyn TtlCache>,
    clock: Arc<TestClock>,
    scratch: tempfile::TempDir,
}

impl Replica {
    fn cas(&self) -> ContentStore {
        ContentStore::new(
            self.blobs.clone(),
            self.meta.clone(),
            self.clock.clone(),
            self.scratch.path().to_path_buf(),
        )
        .with_locks(self.cache.clone())
    }

    fn gc(&self, records: Arc<dyn BlobRecords>) -> GcService {
        let clock: Arc<dyn Clock> = self.clock.clone();
        GcService::new(
            GcPorts {
                records,
                catalog: self.meta.clone(),
                files: self.meta.clone(),
                blobs: self.blobs.clone(),
                cache: self.cache.clone(),
                events: Arc::new(EventBus::new(self.cache.clone(), clock.clone())),
                clock,
                telemetry: Arc::new(NoTelemetry),
            },
            HOUR,
        )
    }
}

fn body(content: &'static [u8]) -> ByteStream {
    Box::pin(futures::stream::iter(
        content
            .chunks(7)
            .map(|c| Ok(bytes::Bytes::from_static(c)))
            .collect::<Vec<_>>(),
    ))
}

async fn read(blobs: &dyn BlobStore, digest: &Digest) -> Vec<u8> {
    let mut object = blobs.get(&digest.blob_key(), None).await.expect("blob readable");
    let mut out = Vec::new();
    while let Some(chunk) = object.body.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    out
}

const SHARED: &[u8] = b"a layer that two images share, pushed again while GC runs";
const ALONE: &[u8] = b"an orphan nothing pushes again";

/// `collector` runs GC, `pusher` pushes; on one backend they are the same replica.
async fn race(collector: &Replica, pusher: &Replica, at: HoldAt) {
    let start = Utc::now();
    // Both blobs were stored three hours ago and nothing references them.
    for r in [collector, pusher] {
        r.clock.set(start - chrono::Duration::hours(3));
    }
    let shared = pusher
        .cas()
        .ingest(body(SHARED), IngestOptions::default())
        .await
        .unwrap();
    let alone = pusher
        .cas()
        .ingest(body(ALONE), IngestOptions::default())
        .await
        .unwrap();
    for r in [collector, pusher] {
        r.clock.set(start);
    }

    let held = Arc::new(Held {
        inner: collector.meta.clone(),
        at,
        reached: Notify::new(),
        go: Notify::new(),
        held_once: false.into(),
    });
    let gc = collector.gc(held.clone());
    let mut run = tokio::spawn(async move { gc.run(false).await });
    tokio::select! {
        () = held.reached.notified() => {}
        finished = &mut run => panic!("GC ended before reaching its hold: {finished:?}"),
    }

    // The push: the same bytes dedupe onto the listed orphan (when GC is inside a delete, on
    // the blob it is deleting: the listing is ordered by digest, so that is the smaller one).
    let pushed: &'static [u8] = if at == HoldAt::InsideDelete && alone.digest < shared.digest {
        ALONE
    } else {
        SHARED
    };
    let cas = pusher.cas();
    let push = tokio::spawn(async move { cas.ingest(body(pushed), IngestOptions::default()).await });
    if at == HoldAt::AfterListing {
        // GC is not holding the lease here: the dedupe completes while GC waits.
        let stored = push.await.unwrap().unwrap();
        held.go.notify_one();
        finish(run.await.unwrap().unwrap(), at);
        check_survivor(collector, pusher, &stored.digest, pushed).await;
    } else {
        // GC holds the blob's lease: the push waits for it, then stores the object again.
        held.go.notify_one();
        let report = run.await.unwrap().unwrap();
        let stored = push.await.unwrap().unwrap();
        finish(report, at);
        check_survivor(collector, pusher, &stored.digest, pushed).await;
    }
    // The control: the blob nobody pushed again is gone, row and object (when it was not the one pushed).
    let gone = if pushed == SHARED {
        &alone.digest
    } else {
        &shared.digest
    };
    assert_eq!(BlobRecords::get(collector.meta.as_ref(), gone).await.unwrap(), None);
    assert!(collector.blobs.stat(&gone.blob_key()).await.unwrap().is_none());
}

fn finish(report: GcReport, at: HoldAt) {
    let expected = if at == HoldAt::AfterListing { 1 } else { 2 };
    assert_eq!(report.blobs_deleted, expected, "{report:?}");
}

/// The push then records its reference (as a manifest push or upload would), and the blob
/// reads back whole on both replicas.
async fn check_survivor(collector: &Replica, pusher: &Replica, digest: &Digest, content: &[u8]) {
    let row = BlobRecords::get(pusher.meta.as_ref(), digest)
        .await
        .unwrap()
        .expect("blob row kept or recorded again");
    assert_eq!(row.size, content.len() as u64);
    HostedFiles::create(
        pusher.meta.as_ref(),
        &HostedFile {
            repo: "images".into(),
            path: format!("app/_blobs/{digest}"),
            digest: digest.clone(),
            size: row.size,
            content_type: None,
            created_at: Utc::now(),
        },
    )
    .await
    .unwrap();
    assert_eq!(read(pusher.blobs.as_ref(), digest).await, content);
    assert_eq!(read(collector.blobs.as_ref(), digest).await, content);
    // A later run keeps it: it is referenced now.
    let again = collector.gc(collector.meta.clone()).run(false).await.unwrap();
    assert_eq!(again.blobs_deleted + again.stray_objects_deleted, 0, "{again:?}");
    assert_eq!(read(collector.blobs.as_ref(), digest).await, content);
}

async fn embedded() -> (Replica, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let meta = meta::connect(&format!("sqlite://{}/meta.db", dir.path().display()), [7; 32])
        .await
        .unwrap();
    meta.migrate().await.unwrap();
    let replica = Replica {
        meta: Arc::new(meta),
        blobs: Arc::new(FsBlobStore::open(dir.path().join("blobs")).unwrap()),
        cache: Arc::new(MemoryCache::new()),
        clock: Arc::new(TestClock(Mutex::new(Utc::now()))),
        scratch: tempfile::tempdir_in(dir.path()).unwrap(),
    };
    (replica, dir)
}

/// Two replicas on one PostgreSQL database, one S3 bucket and one Redis.
async fn scale_out(bucket: &str) -> Option<(Replica, Replica, String, support::s3::TestS3)> {
    let url = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)?;
    let redis_url = support::test_redis_url();
    support::backend_or_skip("Redis", RedisCache::connect(&redis_url).await.ok())?;
    let s3 = support::s3::TestS3::start().await;
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let meta = meta::connect(&url, [7; 32]).await.unwrap();
        meta.migrate().await.unwrap();
        replicas.push(Replica {
            meta: Arc::new(meta),
            blobs: Arc::new(S3BlobStore::connect(s3.config(bucket)).await.unwrap()),
            cache: Arc::new(RedisCache::connect(&redis_url).await.unwrap()),
            clock: Arc::new(TestClock(Mutex::new(Utc::now()))),
            scratch: tempfile::tempdir().unwrap(),
        });
    }
    let pusher = replicas.pop().unwrap();
    let collector = replicas.pop().unwrap();
    Some((collector, pusher, url, s3))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_push_during_gc_listing_keeps_the_blob() {
    let (replica, _dir) = embedded().await;
    race(&replica, &replica, HoldAt::AfterListing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_push_during_gc_delete_keeps_the_blob() {
    let (replica, _dir) = embedded().await;
    race(&replica, &replica, HoldAt::InsideDelete).await;
}

/// Both holds in one test: the replicas share one Redis, and so one `gc:run` lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_push_during_gc_keeps_the_blob() {
    for (bucket, at) in [
        ("gc-listing", HoldAt::AfterListing),
        ("gc-delete", HoldAt::InsideDelete),
    ] {
        let Some((collector, pusher, url, _s3)) = scale_out(bucket).await else {
            return;
        };
        // A run of an earlier, killed test process may still hold the lease.
        collector.cache.forget("gc:run").await.unwrap();
        race(&collector, &pusher, at).await;
        support::postgres::drop_postgres_database(&url).await;
    }
}
