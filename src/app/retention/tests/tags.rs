//! Tag retention over a fake `HostedFiles` (rows in a shared vector) and stored manifests.
use super::*;
use crate::domain::repository::{KindSettings, LocalSettings, PackageType, RepoName};
use crate::ports::HostedFile;
use crate::ports::blob_store::MockBlobStore;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::{BlobMeta, BlobObject};

pub(super) type Files = Arc<Mutex<Vec<HostedFile>>>;

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

pub(super) fn row(path: &str, digest: &Digest, minutes_ago: i64, media: &str, now: DateTime<Utc>) -> HostedFile {
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
pub(super) fn files(rows: &Files) -> MockHostedFiles {
    files_pulled(rows, std::collections::HashMap::new())
}

/// `files`, with the last pull of some paths.
pub(super) fn files_pulled(rows: &Files, pulled: std::collections::HashMap<String, DateTime<Utc>>) -> MockHostedFiles {
    let mut files = MockHostedFiles::new();
    files
        .expect_last_pulled()
        .returning(move |_, path| Ok(pulled.get(path).copied()));
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

pub(super) fn service(
    repo: Repository,
    files: MockHostedFiles,
    blobs: MockBlobStore,
    now: DateTime<Utc>,
) -> RetentionService {
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
        access: Arc::new(AccessRecorder::new(Arc::new(MockArtifactIndex::new()), clock.clone())),
        pulls: Arc::new(PullRecorder::new(
            Arc::new(crate::ports::hosted_files::MockHostedFiles::new()),
            clock,
        )),
        telemetry: Arc::new(super::Told::default()),
    })
}

pub(super) const IMAGE: &str = "application/vnd.oci.image.manifest.v1+json";
pub(super) const INDEX: &str = "application/vnd.oci.image.index.v1+json";

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
