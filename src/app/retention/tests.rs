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
    index.expect_evict().returning(move |_, path, seen| {
        let mut all = r.lock().unwrap();
        let before = all.len();
        all.retain(|o| !(o.path == path && o.last_accessed <= seen));
        let gone = all.len() < before;
        if gone {
            count.fetch_add(1, Ordering::SeqCst);
        }
        Ok(gone)
    });
    let r = rows.clone();
    index.expect_stored_bytes().returning(move |_| {
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
        access: Arc::new(AccessRecorder::new(Arc::new(MockArtifactIndex::new()), clock)),
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
    let svc = service(
        vec![remote("r", Some(10), None)],
        index(&rows, &evicted),
        cache(true),
        now,
    );
    let done = svc.repository("r", false).await.unwrap();
    assert_eq!(paths(&done), ["a", "b"]);
    assert_eq!((done.objects, done.bytes, done.stored_bytes), (2, 8, 8));
    assert!(done.removed.iter().all(|r| r.reason == Reason::MaxBytes));
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
        .withf(|_, path, _| path == "a")
        .returning(|_, _, _| Ok(false));
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
    let svc = service(vec![remote("r", Some(4), None)], index(&rows, &evicted), lock, now);
    let done = svc.repository("r", true).await.unwrap();
    assert_eq!(paths(&done), ["a", "b"]);
    assert_eq!(done.stored_bytes, 4, "estimated");
    assert_eq!(evicted.load(Ordering::SeqCst), 0);
    assert_eq!(rows.lock().unwrap().len(), 3);
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

mod tags {
    use super::*;
    use crate::domain::repository::{KindSettings, LocalSettings, PackageType, RepoName};
    use crate::ports::HostedFile;
    use crate::ports::blob_store::MockBlobStore;
    use crate::ports::hosted_files::MockHostedFiles;
    use crate::ports::{BlobMeta, BlobObject};

    type Files = Arc<Mutex<Vec<HostedFile>>>;

    fn docker(keep_last: u32, patterns: &[&str]) -> Repository {
        Repository {
            name: RepoName::new("reg").unwrap(),
            package: PackageType::Docker,
            settings: KindSettings::Local(LocalSettings {
                keep_last_tags: Some(keep_last),
                keep_tag_patterns: patterns.iter().map(|p| p.to_string()).collect(),
                ..LocalSettings::default()
            }),
            managed_by: ManagedBy::Api,
        }
    }

    fn row(path: &str, digest: &Digest, minutes_ago: i64, media: &str, now: DateTime<Utc>) -> HostedFile {
        HostedFile {
            repo: "reg".into(),
            path: path.into(),
            digest: digest.clone(),
            size: 10,
            content_type: Some(media.into()),
            created_at: now - chrono::Duration::minutes(minutes_ago),
        }
    }

    /// Rows in a shared vector: prefix listings, conditional deletes.
    fn files(rows: &Files) -> MockHostedFiles {
        let mut files = MockHostedFiles::new();
        let r = rows.clone();
        files.expect_list().returning(move |_, page| {
            let mut all: Vec<HostedFile> = r
                .lock()
                .unwrap()
                .iter()
                .filter(|f| f.path.starts_with(&page.prefix) && page.after.as_ref().is_none_or(|a| &f.path > a))
                .cloned()
                .collect();
            all.sort_by(|a, b| a.path.cmp(&b.path));
            all.truncate(page.limit as usize);
            Ok(all)
        });
        let r = rows.clone();
        files
            .expect_get()
            .returning(move |_, path| Ok(r.lock().unwrap().iter().find(|f| f.path == path).cloned()));
        let r = rows.clone();
        files.expect_delete_unchanged().returning(move |file| {
            let mut all = r.lock().unwrap();
            let before = all.len();
            all.retain(|f| f != file);
            Ok(all.len() < before)
        });
        let r = rows.clone();
        files.expect_delete().returning(move |_, path| {
            let mut all = r.lock().unwrap();
            let before = all.len();
            all.retain(|f| f.path != path);
            Ok(all.len() < before)
        });
        files.expect_stored_bytes().returning(|_| Ok(0));
        files
    }

    fn service(repo: Repository, files: MockHostedFiles, blobs: MockBlobStore, now: DateTime<Utc>) -> RetentionService {
        let mut catalog = MockRepositoryCatalog::new();
        catalog.expect_get().returning(move |_| Ok(Some(repo.clone())));
        let mut clock = MockClock::new();
        clock.expect_now().returning(move || now);
        let clock: Arc<dyn Clock> = Arc::new(clock);
        let cache: Arc<dyn TtlCache> = Arc::new(super::cache(true));
        RetentionService::new(RetentionPorts {
            catalog: Arc::new(catalog),
            index: Arc::new(MockArtifactIndex::new()),
            files: Arc::new(files),
            blobs: Arc::new(blobs),
            cache: cache.clone(),
            clock: clock.clone(),
            events: Arc::new(EventBus::new(cache, clock.clone())),
            access: Arc::new(AccessRecorder::new(Arc::new(MockArtifactIndex::new()), clock)),
        })
    }

    const IMAGE: &str = "application/vnd.oci.image.manifest.v1+json";
    const INDEX: &str = "application/vnd.oci.image.index.v1+json";

    #[tokio::test]
    async fn old_tags_go_with_their_manifests_unless_kept_or_named_by_an_index() {
        let now = Utc::now();
        let child = Digest::of_bytes(b"child");
        let index_body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[{{"mediaType":"{IMAGE}","digest":"{child}","size":5}}]}}"#
        );
        let index = Digest::of_bytes(index_body.as_bytes());
        let (old, shared) = (Digest::of_bytes(b"old"), Digest::of_bytes(b"shared"));
        let rows: Files = Arc::new(Mutex::new(vec![
            row("_images/app", &index, 0, INDEX, now),
            row(&format!("app/_manifests/{old}"), &old, 50, IMAGE, now),
            row(&format!("app/_manifests/{shared}"), &shared, 40, IMAGE, now),
            row(&format!("app/_manifests/{child}"), &child, 30, IMAGE, now),
            row(&format!("app/_manifests/{index}"), &index, 1, INDEX, now),
            // Oldest first: old (only tag of its manifest), shared-a (its manifest keeps
            // shared-b), amd64 (the child of the kept index), release-1 (a pattern keeps it).
            row("app/_tags/old", &old, 50, IMAGE, now),
            row("app/_tags/shared-a", &shared, 45, IMAGE, now),
            row("app/_tags/release-1", &old, 44, IMAGE, now),
            row("app/_tags/amd64", &child, 30, IMAGE, now),
            row("app/_tags/shared-b", &shared, 2, IMAGE, now),
            row("app/_tags/latest", &index, 1, INDEX, now),
        ]));
        // The stored index; any other manifest reads as one without a subject.
        let blobs = || {
            let mut blobs = MockBlobStore::new();
            let body = index_body.clone();
            let index = index.clone();
            blobs.expect_get().returning(move |key, _| {
                let text = if key.ends_with(index.hex()) {
                    body.clone()
                } else {
                    "{}".to_string()
                };
                let bytes = bytes::Bytes::from(text);
                Ok(BlobObject {
                    meta: BlobMeta {
                        size: bytes.len() as u64,
                        last_modified: None,
                    },
                    body: Box::pin(futures::stream::once(async move { Ok(bytes) })),
                })
            });
            blobs
        };
        let svc = service(docker(2, &["^release-"]), files(&rows), blobs(), now);

        let preview = svc.repository("reg", true).await.unwrap();
        let done = svc.repository("reg", false).await.unwrap();
        assert_eq!(preview.removed, done.removed, "the preview is what the run does");
        // release-1 still names the old manifest, so it stays; the child of the kept index too.
        assert_eq!(paths(&done), ["app:amd64", "app:old", "app:shared-a"]);
        let left: Vec<String> = rows.lock().unwrap().iter().map(|f| f.path.clone()).collect();
        assert!(left.contains(&format!("app/_manifests/{child}")));
        assert!(left.contains(&format!("app/_manifests/{old}")));
        assert!(left.contains(&"app/_tags/release-1".to_string()));
        assert!(!left.contains(&"app/_tags/old".to_string()));

        // Without the pattern, the old manifest loses its last tag and goes too.
        let svc = service(docker(2, &[]), files(&rows), blobs(), now);
        let done = svc.repository("reg", false).await.unwrap();
        assert_eq!(paths(&done), ["app:release-1".to_string(), format!("app@{old}")]);
        assert!(!rows.lock().unwrap().iter().any(|f| f.digest == old));
    }

    #[tokio::test]
    async fn a_tag_pushed_again_since_it_was_read_stays() {
        let now = Utc::now();
        let (a, b) = (Digest::of_bytes(b"a"), Digest::of_bytes(b"b"));
        let rows: Files = Arc::new(Mutex::new(vec![
            row("_images/app", &a, 0, IMAGE, now),
            row(&format!("app/_manifests/{a}"), &a, 10, IMAGE, now),
            row(&format!("app/_manifests/{b}"), &b, 5, IMAGE, now),
            row("app/_tags/v1", &a, 10, IMAGE, now),
            row("app/_tags/v2", &b, 5, IMAGE, now),
        ]));
        let mut moved = MockHostedFiles::new();
        let listed = rows.lock().unwrap().clone();
        moved.expect_list().returning(move |_, page| {
            Ok(listed
                .iter()
                .filter(|f| f.path.starts_with(&page.prefix))
                .cloned()
                .collect())
        });
        // v1 was pushed again meanwhile: the conditional delete finds it changed.
        moved.expect_delete_unchanged().returning(|_| Ok(false));
        moved.expect_stored_bytes().returning(|_| Ok(0));
        let svc = service(docker(1, &[]), moved, MockBlobStore::new(), now);
        let done = svc.repository("reg", false).await.unwrap();
        assert!(done.removed.is_empty(), "{done:?}");
    }
}
