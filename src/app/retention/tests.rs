//! Retention over mocked ports. The index mock keeps its rows in a shared vector, so evictions
//! change what the next page and the next count see, as the database would.
use super::*;
use crate::domain::digest::Digest;
use crate::domain::repository::{ManagedBy, RepositoryDraft};
use crate::ports::artifact_index::MockArtifactIndex;
use crate::ports::clock::MockClock;
use crate::ports::repository_catalog::MockRepositoryCatalog;
use crate::ports::ttl_cache::MockTtlCache;
use crate::ports::{CacheClass, CachedObject, Lease};
use std::sync::atomic::{AtomicUsize, Ordering};

type Rows = Arc<Mutex<Vec<CachedObject>>>;

fn object(path: &str, content: &str, size: u64, minutes_ago: i64, now: DateTime<Utc>) -> CachedObject {
    let at = now - chrono::Duration::minutes(minutes_ago);
    CachedObject {
        repo: "r".into(),
        path: path.into(),
        digest: Digest::of_bytes(content.as_bytes()),
        size,
        content_type: None,
        class: CacheClass::Immutable,
        fetched_at: at,
        upstream_etag: None,
        last_accessed: at,
    }
}

fn remote(name: &str, max_bytes: Option<u64>, unused_days: Option<u32>) -> Repository {
    RepositoryDraft {
        name: name.into(),
        kind: "remote".into(),
        package: "generic".into(),
        base_url: Some("http://127.0.0.1:1".into()),
        max_bytes,
        unused_days,
        ..RepositoryDraft::default()
    }
    .validate(ManagedBy::Api)
    .unwrap()
}

/// An index over `rows`: pages by (last_accessed, path), conditional evicts, distinct sizes.
fn index(rows: &Rows, evicted: &Arc<AtomicUsize>) -> MockArtifactIndex {
    let mut index = MockArtifactIndex::new();
    let r = rows.clone();
    index.expect_least_recent().returning(move |_, after, limit| {
        let mut all = r.lock().unwrap().clone();
        all.sort_by(|a, b| (a.last_accessed, &a.path).cmp(&(b.last_accessed, &b.path)));
        Ok(all
            .into_iter()
            .filter(|o| after.as_ref().is_none_or(|(t, p)| (o.last_accessed, &o.path) > (*t, p)))
            .take(limit as usize)
            .collect())
    });
    let r = rows.clone();
    let count = evicted.clone();
    index.expect_evict().returning(move |_, candidates| {
        let mut all = r.lock().unwrap();
        let mut gone = Vec::new();
        for (path, seen) in candidates {
            let before = all.len();
            all.retain(|o| !(&o.path == path && o.last_accessed <= *seen));
            gone.push(all.len() < before);
        }
        count.fetch_add(gone.iter().filter(|g| **g).count(), Ordering::SeqCst);
        Ok(gone)
    });
    let r = rows.clone();
    index.expect_stored_bytes().returning(move |repo| {
        // A repository whose rows cannot be read (the backend fails for it).
        if repo == "broken" {
            return Err(PortError::Backend("down".into()));
        }
        let mut seen = std::collections::HashMap::new();
        for o in r.lock().unwrap().iter() {
            seen.insert(o.digest.clone(), o.size);
        }
        Ok(seen.values().sum())
    });
    index
}

fn cache(free: bool) -> MockTtlCache {
    let mut cache = MockTtlCache::new();
    cache.expect_try_lock().returning(move |key, _| {
        Ok(free.then(|| Lease {
            key: key.to_string(),
            owner: "me".into(),
        }))
    });
    cache.expect_release().returning(|_| Ok(true));
    cache.expect_publish().returning(|_, _| Ok(()));
    cache
}

fn service(
    repos: Vec<Repository>,
    index: MockArtifactIndex,
    cache: MockTtlCache,
    now: DateTime<Utc>,
) -> RetentionService {
    service_telling(repos, index, cache, now, Arc::default())
}

/// What retention told `/metrics`: (repository, policy, objects, bytes) per call.
#[derive(Default)]
struct Told(Mutex<Vec<(String, Reason, u64, u64)>>);

impl RetentionTelemetry for Told {
    fn retention_removed(&self, repository: &str, policy: Reason, objects: u64, bytes: u64) {
        self.0
            .lock()
            .unwrap()
            .push((repository.to_string(), policy, objects, bytes));
    }
}

fn service_telling(
    repos: Vec<Repository>,
    index: MockArtifactIndex,
    cache: MockTtlCache,
    now: DateTime<Utc>,
    told: Arc<Told>,
) -> RetentionService {
    let mut catalog = MockRepositoryCatalog::new();
    let listed = repos.clone();
    catalog.expect_list().returning(move || Ok(listed.clone()));
    catalog
        .expect_get()
        .returning(move |name| Ok(repos.iter().find(|r| r.name.as_str() == name).cloned()));
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || now);
    let clock: Arc<dyn Clock> = Arc::new(clock);
    let cache: Arc<dyn TtlCache> = Arc::new(cache);
    RetentionService::new(RetentionPorts {
        catalog: Arc::new(catalog),
        index: Arc::new(index),
        files: Arc::new(crate::ports::hosted_files::MockHostedFiles::new()),
        blobs: Arc::new(crate::ports::blob_store::MockBlobStore::new()),
        cache: cache.clone(),
        clock: clock.clone(),
        events: Arc::new(EventBus::new(cache, clock.clone())),
        access: Arc::new(AccessRecorder::new(Arc::new(MockArtifactIndex::new()), clock.clone())),
        pulls: Arc::new(PullRecorder::new(
            Arc::new(crate::ports::hosted_files::MockHostedFiles::new()),
            clock,
        )),
        telemetry: told,
    })
}

fn paths(done: &RepositoryRetention) -> Vec<&str> {
    done.removed.iter().map(|r| r.path.as_str()).collect()
}

#[tokio::test]
async fn max_bytes_evicts_least_recently_used_first_until_under() {
    let now = Utc::now();
    let rows: Rows = Arc::new(Mutex::new(vec![
        object("d", "d", 4, 1, now),
        object("a", "a", 4, 40, now),
        object("c", "c", 4, 10, now),
        object("b", "b", 4, 20, now),
    ]));
    let evicted = Arc::new(AtomicUsize::new(0));
    let told = Arc::new(Told::default());
    let svc = service_telling(
        vec![remote("r", Some(10), None)],
        index(&rows, &evicted),
        cache(true),
        now,
        told.clone(),
    );
    let done = svc.repository("r", false).await.unwrap();
    assert_eq!(paths(&done), ["a", "b"]);
    assert_eq!((done.objects, done.bytes, done.stored_bytes), (2, 8, 8));
    assert!(done.removed.iter().all(|r| r.reason == Reason::MaxBytes));
    let total = PolicyTotal {
        policy: Reason::MaxBytes,
        objects: 2,
        bytes: 8,
    };
    assert_eq!(done.by_policy, [total]);
    assert_eq!(*told.0.lock().unwrap(), [("r".to_string(), Reason::MaxBytes, 2, 8)]);
    let left: Vec<String> = rows.lock().unwrap().iter().map(|o| o.path.clone()).collect();
    assert_eq!(left, ["d", "c"]);
}

#[tokio::test]
async fn shared_contents_are_counted_once_and_the_count_is_taken_again() {
    let now = Utc::now();
    // a and b are one content: evicting a frees nothing until b goes too.
    let rows: Rows = Arc::new(Mutex::new(vec![
        object("a", "same", 4, 40, now),
        object("b", "same", 4, 30, now),
        object("c", "c", 4, 20, now),
        object("d", "d", 4, 10, now),
    ]));
    let evicted = Arc::new(AtomicUsize::new(0));
    let svc = service(
        vec![remote("r", Some(5), None)],
        index(&rows, &evicted),
        cache(true),
        now,
    );
    // Stored 12 (distinct); the estimate thinks a and b free 8, so the first pass stops there,
    // the recount says 8 > 5, and the second pass evicts c.
    let done = svc.repository("r", false).await.unwrap();
    assert_eq!(paths(&done), ["a", "b", "c"]);
    assert_eq!(done.stored_bytes, 4);
}

#[tokio::test]
async fn a_copy_read_since_it_was_listed_stays() {
    let now = Utc::now();
    let rows: Rows = Arc::new(Mutex::new(vec![
        object("a", "a", 4, 40, now),
        object("b", "b", 4, 20, now),
    ]));
    // The page shows a as it was listed; a hit recorded for it since makes the evict a no-op.
    let listed = rows.lock().unwrap().clone();
    let mut idx = MockArtifactIndex::new();
    idx.expect_least_recent()
        .returning(move |_, after, _| Ok(if after.is_none() { listed.clone() } else { vec![] }));
    idx.expect_evict()
        .withf(|_, candidates| candidates.len() == 1 && candidates[0].0 == "a")
        .returning(|_, _| Ok(vec![false]));
    let mut counts = vec![8u64, 8].into_iter();
    idx.expect_stored_bytes()
        .returning(move |_| Ok(counts.next().unwrap_or(8)));
    let svc = service(vec![remote("r", Some(4), None)], idx, cache(true), now);
    let done = svc.repository("r", false).await.unwrap();
    assert!(done.removed.is_empty(), "{done:?}");
    assert_eq!(done.stored_bytes, 8, "no progress: the run stops instead of spinning");
}

#[tokio::test]
async fn unused_days_evicts_what_was_not_downloaded_for_that_long() {
    let now = Utc::now();
    let day = 60 * 24;
    let rows: Rows = Arc::new(Mutex::new(vec![
        object("old", "old", 100, 10 * day, now),
        object("week", "week", 100, 6 * day, now),
        object("new", "new", 100, 1, now),
    ]));
    let evicted = Arc::new(AtomicUsize::new(0));
    let svc = service(
        vec![remote("r", None, Some(7))],
        index(&rows, &evicted),
        cache(true),
        now,
    );
    let done = svc.repository("r", false).await.unwrap();
    assert_eq!(paths(&done), ["old"]);
    assert_eq!(done.removed[0].reason, Reason::UnusedDays);
    assert_eq!(done.stored_bytes, 200);
}

#[tokio::test]
async fn a_dry_run_lists_and_evicts_nothing() {
    let now = Utc::now();
    let rows: Rows = Arc::new(Mutex::new(vec![
        object("a", "a", 4, 40, now),
        object("b", "b", 4, 20, now),
        object("c", "c", 4, 10, now),
    ]));
    let evicted = Arc::new(AtomicUsize::new(0));
    let mut lock = MockTtlCache::new();
    lock.expect_try_lock().never();
    let told = Arc::new(Told::default());
    let svc = service_telling(
        vec![remote("r", Some(4), None)],
        index(&rows, &evicted),
        lock,
        now,
        told.clone(),
    );
    let done = svc.repository("r", true).await.unwrap();
    assert_eq!(paths(&done), ["a", "b"]);
    assert_eq!(done.stored_bytes, 4, "estimated");
    assert_eq!(evicted.load(Ordering::SeqCst), 0);
    assert_eq!(rows.lock().unwrap().len(), 3);
    assert!(
        told.0.lock().unwrap().is_empty(),
        "a dry run removes nothing, so it counts nothing"
    );
}

#[tokio::test]
async fn runs_take_the_lease_and_skip_repositories_another_replica_holds() {
    let now = Utc::now();
    let rows: Rows = Arc::new(Mutex::new(vec![object("a", "a", 4, 40, now)]));
    let evicted = Arc::new(AtomicUsize::new(0));
    let repos = vec![remote("r", Some(1), None), remote("plain", None, None)];
    let svc = service(repos.clone(), index(&rows, &evicted), cache(false), now);
    assert!(matches!(svc.run(false).await, Err(RetentionError::AlreadyRunning)));

    let mut busy_repo = MockTtlCache::new();
    busy_repo.expect_try_lock().returning(|key, _| {
        Ok((key == RUN_LOCK).then(|| Lease {
            key: key.into(),
            owner: "me".into(),
        }))
    });
    busy_repo.expect_release().returning(|_| Ok(true));
    let svc = service(repos, index(&rows, &evicted), busy_repo, now);
    let report = svc.run(false).await.unwrap();
    assert_eq!(report.repositories.len(), 1, "only repositories with a policy");
    assert!(report.repositories[0].busy);
    assert_eq!(evicted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn fetches_trigger_one_enforcement_at_a_time() {
    let now = Utc::now();
    let enforcements = Arc::new(AtomicUsize::new(0));
    let mut idx = MockArtifactIndex::new();
    idx.expect_stored_bytes().returning(|_| Ok(0));
    let counter = enforcements.clone();
    idx.expect_least_recent().returning(move |_, _, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        Ok(vec![])
    });
    let svc = Arc::new(
        service(vec![remote("r", Some(10), None)], idx, cache(true), now)
            .with_after_fetch_pause(Duration::from_millis(200)),
    );
    for _ in 0..5 {
        svc.after_fetch("r");
    }
    // Wait for the background task to finish.
    while !svc.triggered.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The first, and one more for the four that came while it ran.
    assert_eq!(enforcements.load(Ordering::SeqCst), 2);
}

pub(super) mod tags;

mod untagged;

#[tokio::test]
async fn a_repository_that_fails_does_not_stop_the_others() {
    let now = Utc::now();
    let rows: Rows = Arc::new(Mutex::new(vec![
        object("a", "a", 4, 40, now),
        object("b", "b", 4, 30, now),
    ]));
    let evicted = Arc::new(AtomicUsize::new(0));
    let repos = vec![remote("broken", Some(1), None), remote("r", Some(4), None)];
    let svc = service(repos, index(&rows, &evicted), cache(true), now);
    let report = svc.run(false).await.unwrap();
    let outcome: Vec<(&str, bool)> = report
        .repositories
        .iter()
        .map(|r| (r.name.as_str(), r.failed))
        .collect();
    assert_eq!(outcome, [("broken", true), ("r", false)]);
    assert_eq!(report.objects, 1, "r went under its limit all the same: {report:?}");
}
