//! Registry use cases against mocked ports: what is (and is not) written on each path.
use super::*;
use crate::domain::registry::path::Reference;
use crate::domain::registry::upload::UploadState;
use crate::domain::repository::{LocalSettings, ManagedBy, RepoName, VirtualSettings};
use crate::ports::UploadSession;
use crate::ports::blob_records::MockBlobRecords;
use crate::ports::blob_store::MockBlobStore;
use crate::ports::clock::MockClock;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::repository_catalog::MockRepositoryCatalog;
use crate::ports::upload_sessions::MockUploadSessions;
use chrono::{DateTime, Utc};

fn repo(name: &str, settings: KindSettings) -> Repository {
    Repository {
        name: RepoName::new(name).unwrap(),
        package: PackageType::Docker,
        settings,
        managed_by: ManagedBy::Api,
    }
}

fn local(name: &str) -> Repository {
    repo(name, KindSettings::Local(LocalSettings::default()))
}

fn name(full: &str) -> ImageName {
    ImageName::parse(full).unwrap()
}

/// A write target for a caller that may write everything.
async fn target(svc: &RegistryService, full: &str) -> WriteTarget {
    svc.write_target(&name(full), &|_| true).await.unwrap()
}

fn fixed_clock(at: DateTime<Utc>) -> Arc<MockClock> {
    let mut c = MockClock::new();
    c.expect_now().returning(move || at);
    Arc::new(c)
}

struct Fixture {
    catalog: MockRepositoryCatalog,
    files: MockHostedFiles,
    blobs: MockBlobStore,
    cas_blobs: MockBlobStore,
    records: MockBlobRecords,
    uploads: MockUploadSessions,
    now: DateTime<Utc>,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(repos: Vec<Repository>) -> Self {
        let mut catalog = MockRepositoryCatalog::new();
        catalog
            .expect_get()
            .returning(move |n| Ok(repos.iter().find(|r| r.name.as_str() == n).cloned()));
        Self {
            catalog,
            files: MockHostedFiles::new(),
            blobs: MockBlobStore::new(),
            cas_blobs: MockBlobStore::new(),
            records: MockBlobRecords::new(),
            uploads: MockUploadSessions::new(),
            now: Utc::now(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn service(self) -> (RegistryService, tempfile::TempDir) {
        let cas = ContentStore::new(
            Arc::new(self.cas_blobs),
            Arc::new(self.records),
            fixed_clock(self.now),
            self.dir.path().to_path_buf(),
        );
        let svc = RegistryService::new(
            RegistryPorts {
                catalog: Arc::new(self.catalog),
                files: Arc::new(self.files),
                blobs: Arc::new(self.blobs),
                cas: Arc::new(cas),
                uploads: Arc::new(self.uploads),
                clock: fixed_clock(self.now),
            },
            1 << 30,
        );
        (svc, self.dir)
    }
}

fn session(repo: &str, state: UploadState, parts: Vec<String>, updated_at: DateTime<Utc>) -> UploadSession {
    UploadSession {
        id: "u1".into(),
        repo: repo.into(),
        image: "app".into(),
        state,
        parts,
        version: 3,
        created_at: updated_at,
        updated_at,
    }
}

#[tokio::test]
async fn a_single_chunk_upload_commits_without_reading_the_chunk_again() {
    let digest = Digest::of_bytes(b"layer");
    let mut f = Fixture::new(vec![local("reg")]);
    let s = session(
        "reg",
        UploadState::Receiving { offset: 5 },
        vec![digest.to_string()],
        f.now,
    );
    f.uploads.expect_get().returning(move |_| Ok(Some(s.clone())));
    f.uploads.expect_delete().times(1).returning(|_| Ok(true));
    let want = format!("app/_blobs/{digest}");
    f.files
        .expect_upsert()
        .withf(move |row| row.path == want && row.size == 5 && row.repo == "reg")
        .times(1)
        .returning(|_| Ok(()));
    // No blob store reads or writes at all: the chunk already is the blob.
    f.cas_blobs.expect_get().never();
    f.cas_blobs.expect_put_file().never();
    let (svc, _dir) = f.service();
    assert_eq!(
        svc.finish_upload(&target(&svc, "reg/app").await, "u1", &digest, None)
            .await
            .unwrap(),
        5
    );
}

#[tokio::test]
async fn a_wrong_digest_at_commit_stores_nothing_and_keeps_the_session() {
    let chunk = Digest::of_bytes(b"layer");
    let claimed = Digest::of_bytes(b"other");
    let mut f = Fixture::new(vec![local("reg")]);
    let s = session(
        "reg",
        UploadState::Receiving { offset: 5 },
        vec![chunk.to_string()],
        f.now,
    );
    f.uploads.expect_get().returning(move |_| Ok(Some(s.clone())));
    f.uploads.expect_delete().never();
    f.files.expect_upsert().never();
    let (svc, _dir) = f.service();
    let got = svc
        .finish_upload(&target(&svc, "reg/app").await, "u1", &claimed, None)
        .await;
    assert!(matches!(got, Err(RegistryError::DigestInvalid(_))), "{got:?}");
}

#[tokio::test]
async fn a_chunk_after_a_gap_is_refused_before_anything_is_read() {
    let mut f = Fixture::new(vec![local("reg")]);
    let s = session("reg", UploadState::Receiving { offset: 10 }, vec![], f.now);
    f.uploads.expect_get().returning(move |_| Ok(Some(s.clone())));
    f.uploads.expect_update().never();
    f.cas_blobs.expect_put_file().never();
    let (svc, _dir) = f.service();
    let body = once(b"abc".to_vec());
    let got = svc
        .append_chunk(&target(&svc, "reg/app").await, "u1", body, Some((20, 22)))
        .await;
    assert_eq!(got.err(), Some(RegistryError::RangeInvalid { expected: 10, got: 20 }));
}

#[tokio::test]
async fn an_upload_of_another_repository_is_unknown_here() {
    let mut f = Fixture::new(vec![local("reg"), local("other")]);
    let s = session("other", UploadState::Started, vec![], f.now);
    f.uploads.expect_get().returning(move |_| Ok(Some(s.clone())));
    let (svc, _dir) = f.service();
    let got = svc.upload_status(&target(&svc, "reg/app").await, "u1").await;
    assert_eq!(got.err(), Some(RegistryError::BlobUploadUnknown));
}

#[tokio::test]
async fn uploads_idle_for_a_day_are_reaped() {
    let mut f = Fixture::new(vec![]);
    let now = f.now;
    let stale = session("reg", UploadState::Started, vec![], now - chrono::Duration::hours(25));
    f.uploads
        .expect_older_than()
        .withf(move |cutoff| *cutoff == now - chrono::Duration::hours(24))
        .returning(move |_| Ok(vec![stale.clone()]));
    f.uploads.expect_delete().times(1).returning(|_| Ok(true));
    let (svc, _dir) = f.service();
    assert_eq!(svc.reap_uploads().await.unwrap(), 1);
}

#[tokio::test]
async fn a_manifest_naming_a_missing_blob_writes_nothing() {
    let config = Digest::of_bytes(b"{}");
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"x","digest":"{config}","size":2}},"layers":[]}}"#
    );
    let mut f = Fixture::new(vec![local("reg")]);
    f.files.expect_get().returning(|_, _| Ok(None));
    f.files.expect_upsert().never();
    f.cas_blobs.expect_put_file().never();
    let (svc, _dir) = f.service();
    let got = svc
        .put_manifest(
            &target(&svc, "reg/app").await,
            &Reference::Tag("v1".into()),
            once(body.into_bytes()),
            None,
        )
        .await;
    assert_eq!(got.err(), Some(RegistryError::ManifestBlobUnknown(config.to_string())));
}

#[tokio::test]
async fn virtual_reads_try_members_in_order_and_pushes_go_to_the_first_local() {
    let members = vec![RepoName::new("first").unwrap(), RepoName::new("second").unwrap()];
    let virt = repo("all", KindSettings::Virtual(VirtualSettings::new(members)));
    let digest = Digest::of_bytes(b"blob");
    let mut f = Fixture::new(vec![virt, local("first"), local("second")]);
    let wanted = digest.clone();
    f.files.expect_get().returning(move |repo, path| {
        Ok((repo == "second").then(|| HostedFile {
            repo: repo.into(),
            path: path.into(),
            digest: wanted.clone(),
            size: 4,
            content_type: None,
            created_at: Utc::now(),
        }))
    });
    f.blobs.expect_stat().never();
    f.uploads
        .expect_create()
        .withf(|s| s.repo == "first")
        .times(1)
        .returning(|_| Ok(()));
    let (svc, _dir) = f.service();
    let read = svc.read_blob(&name("all/app"), &digest, None, true).await.unwrap();
    assert_eq!(read.row.repo, "second");
    assert!(read.body.is_none());
    let pushed = target(&svc, "all/app").await;
    assert_eq!(pushed.repo(), "first");
    svc.start_upload(&pushed).await.unwrap();
}

#[tokio::test]
async fn a_write_through_a_virtual_needs_the_write_scope_on_the_member() {
    let members = vec![RepoName::new("first").unwrap()];
    let virt = repo("all", KindSettings::Virtual(VirtualSettings::new(members)));
    let f = Fixture::new(vec![virt, local("first")]);
    let (svc, _dir) = f.service();
    let only_the_virtual = |repo: &str| repo == "all";
    assert!(matches!(
        svc.write_target(&name("all/app"), &only_the_virtual).await,
        Err(RegistryError::Denied(m)) if m.contains("'first'")
    ));
    let both = |repo: &str| repo == "all" || repo == "first";
    assert_eq!(svc.write_target(&name("all/app"), &both).await.unwrap().repo(), "first");
}

#[tokio::test]
async fn remote_repositories_take_no_pushes() {
    let remote = repo(
        "hub",
        KindSettings::Remote(crate::domain::repository::RemoteSettings {
            base_url: "http://127.0.0.1:1".into(),
            username: None,
            password: None,
            mutable_ttl: 300,
            immutable_ttl: 0,
            patterns: vec![],
            blocklist: vec![],
            mutable_patterns: vec![],
            immutable_patterns: vec![],
            ban_tags: vec![],
            offline: false,
            tls: Default::default(),
            max_bytes: None,
            unused_days: None,
        }),
    );
    let f = Fixture::new(vec![remote]);
    let (svc, _dir) = f.service();
    assert!(matches!(
        svc.write_target(&name("hub/app"), &|_| true).await,
        Err(RegistryError::Unsupported(_))
    ));
}

fn with_quota(name: &str, quota: u64) -> Repository {
    repo(
        name,
        KindSettings::Local(LocalSettings {
            quota_bytes: Some(quota),
            ..LocalSettings::default()
        }),
    )
}

fn row(repo: &str, path: &str, digest: &Digest) -> HostedFile {
    HostedFile {
        repo: repo.into(),
        path: path.into(),
        digest: digest.clone(),
        size: 10,
        content_type: None,
        created_at: Utc::now(),
    }
}

#[tokio::test]
async fn pushes_past_the_quota_write_nothing() {
    let digest = Digest::of_bytes(b"0123456789");
    let mut f = Fixture::new(vec![with_quota("reg", 100)]);
    f.files.expect_stored_bytes().returning(|_| Ok(95));
    f.files.expect_upsert().never();
    f.cas_blobs.expect_put_file().never();
    let open = session("reg", UploadState::Receiving { offset: 0 }, vec![], f.now);
    f.uploads.expect_get().returning(move |_| Ok(Some(open.clone())));
    f.uploads.expect_update().never();
    let source = digest.clone();
    f.files
        .expect_get()
        .returning(move |repo, path| Ok((repo == "reg" && path.contains("other")).then(|| row(repo, path, &source))));
    let (svc, dir) = f.service();
    let t = target(&svc, "reg/app").await;
    let quota = |r: Result<u64, RegistryError>| matches!(r, Err(RegistryError::QuotaExceeded(e)) if e.quota == 100 && e.used == 95);
    // Monolithic: cut off after the 5 bytes left.
    assert!(quota(svc.upload_whole(&t, &digest, once(b"0123456789".to_vec())).await));
    // A chunk: the same.
    let chunk = svc.append_chunk(&t, "u1", once(b"0123456789".to_vec()), None).await;
    assert!(quota(chunk.map(|(_, n)| n)));
    // A mount names a 10-byte blob another image of the repository holds.
    let mounted = svc.mount(&t, &digest, &name("reg/other")).await;
    assert!(quota(mounted.map(u64::from)));
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "no temp file left"
    );
}

#[tokio::test]
async fn a_full_repository_still_takes_a_new_tag_on_a_stored_manifest() {
    let config = Digest::of_bytes(b"{}");
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"x","digest":"{config}","size":2}},"layers":[]}}"#
    );
    let manifest = Digest::of_bytes(body.as_bytes());
    let mut f = Fixture::new(vec![with_quota("reg", 100)]);
    f.files.expect_stored_bytes().returning(|_| Ok(100));
    let stored = manifest.clone();
    f.files
        .expect_get()
        .returning(move |repo, path| Ok(Some(row(repo, path, &stored))));
    f.cas_blobs.expect_stat().returning(|_| {
        Ok(Some(crate::ports::BlobMeta {
            size: 1,
            last_modified: None,
        }))
    });
    f.records.expect_record().returning(|_| Ok(()));
    f.files.expect_upsert().times(3).returning(|_| Ok(()));
    let (svc, _dir) = f.service();
    let pushed = svc
        .put_manifest(
            &target(&svc, "reg/app").await,
            &Reference::Tag("v2".into()),
            once(body.into_bytes()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(pushed.digest, manifest);
}

#[tokio::test]
async fn gets_by_digest_are_noted_as_pulls_and_written_in_a_batch() {
    let digest = Digest::of_bytes(b"manifest");
    let mut f = Fixture::new(vec![local("reg")]);
    let found = digest.clone();
    f.files
        .expect_get()
        .returning(move |repo, path| Ok(Some(row(repo, path, &found))));
    f.blobs.expect_get().returning(|_, _| {
        Ok(crate::ports::BlobObject {
            meta: crate::ports::BlobMeta {
                size: 8,
                last_modified: None,
            },
            body: once(b"manifest".to_vec()),
        })
    });
    let path = crate::domain::registry::keys::manifest_row("app", &digest);
    f.files
        .expect_touch_pulled()
        .withf(move |repo, paths, _| repo == "reg" && paths == [path.clone()])
        .times(1)
        .returning(|_, _, _| Ok(()));
    let (svc, _dir) = f.service();
    let by_digest = Reference::Digest(digest.clone());
    svc.read_manifest(&name("reg/app"), &by_digest, true, None)
        .await
        .unwrap();
    svc.read_manifest(&name("reg/app"), &Reference::Tag("v1".into()), false, None)
        .await
        .unwrap();
    assert_eq!(
        svc.pulls().flush().await.unwrap(),
        0,
        "neither a HEAD nor a tag is a pull by digest"
    );
    svc.read_manifest(&name("reg/app"), &by_digest, false, None)
        .await
        .unwrap();
    svc.read_manifest(&name("reg/app"), &by_digest, false, None)
        .await
        .unwrap();
    assert_eq!(svc.pulls().flush().await.unwrap(), 1, "one path, written once");
}
