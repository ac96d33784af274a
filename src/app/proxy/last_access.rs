//! Last-access times of cached copies (what `max_bytes` and `unused_days` evict by), recorded
//! off the request path: a cache hit only notes the path in memory, at most once a minute per
//! copy (a row accessed less than `RECORD_EVERY` ago is not noted again), and a background task
//! writes the notes in batches every `FLUSH_EVERY` (one statement per repository and 500 paths),
//! never moving a time back. So a time is accurate to about a minute and a half, and a replica
//! killed without flushing loses at most its last batch (those copies look older than they are).
//! Memory is bounded: past `MAX_PENDING` paths the flusher is woken at once and further notes
//! wait for it.
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::ports::{ArtifactIndex, CachedObject, Clock, PortError};

/// A copy whose recorded access is younger than this is not noted again.
pub const RECORD_EVERY: chrono::Duration = chrono::Duration::seconds(60);
/// How often noted accesses are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(30);
/// Paths noted between flushes at most.
pub const MAX_PENDING: usize = 100_000;

/// Times noted per `(repository, path)` until a flush takes them: bounded, and grouped by
/// repository when taken. Shared by cache hits here and registry manifest pulls.
pub struct TimeBatch {
    /// `(repository, path)` -> the latest time noted.
    pending: Mutex<HashMap<(String, String), DateTime<Utc>>>,
    full: tokio::sync::Notify,
    max_pending: usize,
}

impl TimeBatch {
    pub fn new(max_pending: usize) -> Self {
        Self {
            pending: Mutex::new(HashMap::new()),
            full: tokio::sync::Notify::new(),
            max_pending,
        }
    }

    /// Notes `at` for the path; past `max_pending` paths a new one is dropped and the flusher
    /// woken.
    pub fn note(&self, repo: &str, path: &str, at: DateTime<Utc>) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (repo.to_string(), path.to_string());
        if pending.len() >= self.max_pending && !pending.contains_key(&key) {
            self.full.notify_one();
            return;
        }
        pending.insert(key, at);
        if pending.len() >= self.max_pending {
            self.full.notify_one();
        }
    }

    pub fn len(&self) -> usize {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Everything noted, per repository: its paths and the latest time among them.
    pub fn take(&self) -> HashMap<String, (Vec<String>, DateTime<Utc>)> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let mut by_repo: HashMap<String, (Vec<String>, DateTime<Utc>)> = HashMap::new();
        for ((repo, path), at) in batch {
            let entry = by_repo.entry(repo).or_insert_with(|| (Vec::new(), at));
            entry.0.push(path);
            entry.1 = entry.1.max(at);
        }
        by_repo
    }

    /// Waits for `every`, or for the batch to fill up.
    pub async fn tick(&self, every: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = self.full.notified() => {}
        }
    }
}

pub struct AccessRecorder {
    index: Arc<dyn ArtifactIndex>,
    clock: Arc<dyn Clock>,
    batch: TimeBatch,
}

impl AccessRecorder {
    pub fn new(index: Arc<dyn ArtifactIndex>, clock: Arc<dyn Clock>) -> Self {
        Self::with_capacity(index, clock, MAX_PENDING)
    }

    pub fn with_capacity(index: Arc<dyn ArtifactIndex>, clock: Arc<dyn Clock>, max_pending: usize) -> Self {
        Self {
            index,
            clock,
            batch: TimeBatch::new(max_pending),
        }
    }

    /// Notes a read of `object` (a cache hit): no IO.
    pub fn record(&self, object: &CachedObject) {
        let now = self.clock.now();
        if now - object.last_accessed < RECORD_EVERY {
            return;
        }
        self.batch.note(&object.repo, &object.path, now);
    }

    /// How many paths wait to be written.
    pub fn pending(&self) -> usize {
        self.batch.len()
    }

    /// Writes what was noted: per repository, its paths at the latest access noted among them
    /// (so within one flush interval of the truth). Returns how many paths were written; paths
    /// of a repository whose write failed are dropped (their copies look older than they are).
    pub async fn flush(&self) -> Result<usize, PortError> {
        let mut written = 0;
        let mut failure = None;
        for (repo, (paths, at)) in self.batch.take() {
            match self.index.touch_many(&repo, &paths, at).await {
                Ok(()) => written += paths.len(),
                Err(e) => failure = Some(e),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(written),
        }
    }

    /// Flushes every `FLUSH_EVERY`, and at once when the notes reach `MAX_PENDING`.
    pub fn spawn_flusher(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                self.batch.tick(FLUSH_EVERY).await;
                if let Err(e) = self.flush().await {
                    tracing::warn!(error = %e, "could not record last accesses");
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::digest::Digest;
    use crate::ports::CacheClass;
    use crate::ports::artifact_index::MockArtifactIndex;
    use crate::ports::clock::MockClock;

    fn object(repo: &str, path: &str, last_accessed: DateTime<Utc>) -> CachedObject {
        CachedObject {
            repo: repo.into(),
            path: path.into(),
            digest: Digest::of_bytes(path.as_bytes()),
            size: 1,
            content_type: None,
            class: CacheClass::Immutable,
            fetched_at: last_accessed,
            upstream_etag: None,
            last_accessed,
        }
    }

    fn clock(now: DateTime<Utc>) -> Arc<MockClock> {
        let mut c = MockClock::new();
        c.expect_now().returning(move || now);
        Arc::new(c)
    }

    #[tokio::test]
    async fn notes_old_accesses_once_and_writes_them_per_repository() {
        let now = Utc::now();
        let old = now - chrono::Duration::minutes(5);
        let mut index = MockArtifactIndex::new();
        index
            .expect_touch_many()
            .withf(move |repo, paths, at| {
                let mut sorted = paths.to_vec();
                sorted.sort();
                repo == "a" && sorted == ["x", "y"] && *at == now
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        index
            .expect_touch_many()
            .withf(move |repo, paths, at| repo == "b" && paths == ["x"] && *at == now)
            .times(1)
            .returning(|_, _, _| Ok(()));
        let recorder = AccessRecorder::new(Arc::new(index), clock(now));
        recorder.record(&object("a", "x", old));
        recorder.record(&object("a", "x", old));
        recorder.record(&object("a", "y", old));
        recorder.record(&object("b", "x", old));
        // Recorded less than a minute ago: not noted.
        recorder.record(&object("a", "fresh", now - chrono::Duration::seconds(30)));
        assert_eq!(recorder.pending(), 3);
        assert_eq!(recorder.flush().await.unwrap(), 3);
        assert_eq!(recorder.pending(), 0);
        assert_eq!(recorder.flush().await.unwrap(), 0, "nothing twice");
    }

    #[tokio::test]
    async fn memory_is_bounded_and_a_failed_write_is_reported() {
        let now = Utc::now();
        let old = now - chrono::Duration::hours(1);
        let mut index = MockArtifactIndex::new();
        index
            .expect_touch_many()
            .returning(|_, _, _| Err(PortError::Backend("down".into())));
        let recorder = AccessRecorder::with_capacity(Arc::new(index), clock(now), 2);
        for path in ["a", "b", "c", "d"] {
            recorder.record(&object("r", path, old));
        }
        assert_eq!(recorder.pending(), 2);
        assert!(recorder.flush().await.is_err());
        assert_eq!(recorder.pending(), 0, "dropped, not retried forever");
    }
}
