//! Readiness: every backend answers, and how fast; and whether the data disk has room.
use std::sync::Arc;
use std::time::Instant;

use crate::app::disk::DiskGuard;
use crate::ports::{BlobRecords, BlobStore, PortError, TtlCache};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendStatus {
    pub name: &'static str,
    pub ok: bool,
    pub latency_ms: u64,
    /// The failure, for operators (backend messages carry no secrets).
    pub error: Option<String>,
    /// What kind of failure: `tls` (a handshake or certificate problem), `timeout`, `error`, or
    /// for the disk `low_space`.
    pub failure: Option<&'static str>,
    /// The data disk only: bytes writes may still use.
    pub free_bytes: Option<u64>,
}

pub struct HealthService {
    database: Arc<dyn BlobRecords>,
    blobs: Arc<dyn BlobStore>,
    cache: Arc<dyn TtlCache>,
    disk: Option<Arc<DiskGuard>>,
}

impl HealthService {
    pub fn new(database: Arc<dyn BlobRecords>, blobs: Arc<dyn BlobStore>, cache: Arc<dyn TtlCache>) -> Self {
        Self {
            database,
            blobs,
            cache,
            disk: None,
        }
    }

    /// Also reports the data disk (`disk`: not ok while writes are refused for lack of space).
    pub fn with_disk(mut self, disk: Arc<DiskGuard>) -> Self {
        self.disk = Some(disk);
        self
    }

    /// Checks the three backends concurrently.
    pub async fn readiness(&self) -> Vec<BackendStatus> {
        let (db, blobs, cache) = tokio::join!(
            timed("database", self.database.check()),
            timed("blob_store", self.blobs.check()),
            timed("cache", self.cache.check()),
        );
        let mut report = vec![db, blobs, cache];
        if let Some(disk) = self.disk.clone() {
            report.push(disk_status(disk).await);
        }
        report
    }
}

/// The disk's entry; `maintain` may write the reserve back, so it runs off the async threads.
async fn disk_status(disk: Arc<DiskGuard>) -> BackendStatus {
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || disk.maintain()).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let (error, failure, free_bytes) = match status {
        Ok(s) if s.low => (
            Some(format!(
                "{} bytes free for writes: uploads and caching are refused (507) until space is freed",
                s.free
            )),
            Some("low_space"),
            Some(s.free),
        ),
        Ok(s) => (None, None, Some(s.free)),
        Err(e) => (Some(format!("disk check failed: {e}")), Some("error"), None),
    };
    BackendStatus {
        name: "disk",
        ok: error.is_none(),
        latency_ms,
        error,
        failure,
        free_bytes,
    }
}

async fn timed<F>(name: &'static str, check: F) -> BackendStatus
where
    F: std::future::Future<Output = Result<(), PortError>>,
{
    let started = Instant::now();
    let result = tokio::time::timeout(std::time::Duration::from_secs(5), check).await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let (error, failure) = match result {
        Ok(Ok(())) => (None, None),
        Ok(Err(e @ PortError::Tls(_))) => (Some(e.to_string()), Some("tls")),
        Ok(Err(e)) => (Some(e.to_string()), Some("error")),
        Err(_) => (Some("timed out after 5 s".to_string()), Some("timeout")),
    };
    BackendStatus {
        name,
        ok: error.is_none(),
        latency_ms,
        error,
        failure,
        free_bytes: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::PortError;
    use crate::ports::blob_records::MockBlobRecords;
    use crate::ports::blob_store::MockBlobStore;
    use crate::ports::ttl_cache::MockTtlCache;

    #[tokio::test]
    async fn reports_each_backend() {
        let mut db = MockBlobRecords::new();
        db.expect_check().returning(|| Ok(()));
        let mut blobs = MockBlobStore::new();
        blobs
            .expect_check()
            .returning(|| Err(PortError::Backend("bucket missing".into())));
        let mut cache = MockTtlCache::new();
        cache
            .expect_check()
            .returning(|| Err(PortError::Tls("invalid peer certificate: UnknownIssuer".into())));
        let report = HealthService::new(Arc::new(db), Arc::new(blobs), Arc::new(cache))
            .readiness()
            .await;
        let summary: Vec<_> = report.iter().map(|s| (s.name, s.ok)).collect();
        assert_eq!(
            summary,
            vec![("database", true), ("blob_store", false), ("cache", false)]
        );
        assert_eq!(report[1].error.as_deref(), Some("backend error: bucket missing"));
        assert_eq!(report[1].failure, Some("error"));
        assert_eq!(
            report[2].error.as_deref(),
            Some("TLS: invalid peer certificate: UnknownIssuer")
        );
        assert_eq!(report[2].failure, Some("tls"));
        assert_eq!(report[0].failure, None);
    }
}
