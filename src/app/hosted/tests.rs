use super::*;
use crate::domain::repository::{LocalSettings, ManagedBy, RemoteSettings, RepoName};
use crate::ports::blob_records::MockBlobRecords;
use crate::ports::blob_store::MockBlobStore;
use crate::ports::clock::MockClock;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::repository_catalog::MockRepositoryCatalog;
use crate::ports::{BlobMeta, BlobObject};
use bytes::Bytes;

fn local(name: &str, allow_overwrite: bool) -> Repository {
    Repository {
        name: RepoName::new(name).unwrap(),
        package: PackageType::Generic,
        settings: KindSettings::Local(LocalSettings {
            allow_overwrite,
            ..LocalSettings::default()
        }),
        managed_by: ManagedBy::Api,
    }
}

fn remote(name: &str) -> Repository {
    Repository {
        name: RepoName::new(name).unwrap(),
        package: PackageType::Generic,
        settings: KindSettings::Remote(RemoteSettings {
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
        managed_by: ManagedBy::Api,
    }
}

fn catalog_with(repo: Option<Repository>) -> MockRepositoryCatalog {
    let mut c = MockRepositoryCatalog::new();
    c.expect_get().returning(move |_| Ok(repo.clone()));
    c
}

fn clock() -> Arc<MockClock> {
    let mut c = MockClock::new();
    c.expect_now().returning(chrono::Utc::now);
    Arc::new(c)
}

struct Fixture {
    catalog: MockRepositoryCatalog,
    files: MockHostedFiles,
    blobs: MockBlobStore,
    cas_blobs: MockBlobStore,
    records: MockBlobRecords,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new(repo: Option<Repository>) -> Self {
        Self {
            catalog: catalog_with(repo),
            files: MockHostedFiles::new(),
            blobs: MockBlobStore::new(),
            cas_blobs: MockBlobStore::new(),
            records: MockBlobRecords::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn service(self, max_upload: u64) -> (HostedService, tempfile::TempDir) {
        let cas = ContentStore::new(
            Arc::new(self.cas_blobs),
            Arc::new(self.records),
            clock(),
            self.dir.path().to_path_buf(),
        );
        let svc = HostedService::new(
            HostedPorts {
                catalog: Arc::new(self.catalog),
                files: Arc::new(self.files),
                packages: Arc::new(crate::ports::hosted_packages::MockHostedPackages::new()),
                blobs: Arc::new(self.blobs),
                cas: Arc::new(cas),
                clock: clock(),
            },
            max_upload,
        );
        (svc, self.dir)
    }
}

fn body(data: &'static [u8]) -> ByteStream {
    Box::pin(futures::stream::iter(vec![Ok::<_, std::io::Error>(
        Bytes::from_static(data),
    )]))
}

fn upload(repo: &str, path: &str, data: &'static [u8]) -> UploadRequest {
    UploadRequest {
        repo: repo.into(),
        path: ArtifactPath::parse(path).unwrap(),
        body: body(data),
        declared_size: Some(data.len() as u64),
        checksum: None,
        content_type: None,
    }
}

fn file(path: &str, data: &[u8]) -> HostedFile {
    HostedFile {
        repo: "files".into(),
        path: path.into(),
        digest: Digest::of_bytes(data),
        size: data.len() as u64,
        content_type: None,
        created_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn upload_stores_content_and_creates_the_file_row() {
    let mut f = Fixture::new(Some(local("files", false)));
    f.files.expect_get().returning(|_, _| Ok(None));
    f.files
        .expect_create()
        .withf(|file| file.path == "a/b.txt" && file.size == 5 && file.digest == Digest::of_bytes(b"hello"))
        .times(1)
        .returning(|_| Ok(()));
    f.cas_blobs.expect_stat().returning(|_| Ok(None));
    f.cas_blobs.expect_put_file().times(1).returning(|_, _, _| Ok(()));
    f.records.expect_record().returning(|_| Ok(()));
    let (svc, _dir) = f.service(1024);
    let mut req = upload("files", "a/b.txt", b"hello");
    req.checksum = Some(Digest::of_bytes(b"hello").hex().to_uppercase());
    let stored = svc.upload(req).await.unwrap();
    assert_eq!(stored.size, 5);
}

#[tokio::test]
async fn existing_path_is_a_conflict_without_reading_the_body() {
    let mut f = Fixture::new(Some(local("files", false)));
    f.files.expect_get().returning(|_, p| Ok(Some(file(p, b"old"))));
    f.files.expect_create().times(0);
    f.cas_blobs.expect_put_file().times(0);
    let (svc, _dir) = f.service(1024);
    let err = svc.upload(upload("files", "a.txt", b"new")).await.unwrap_err();
    assert!(matches!(err, HostedError::AlreadyExists(p) if p == "a.txt"));
}

#[tokio::test]
async fn a_lost_create_race_is_a_conflict() {
    let mut f = Fixture::new(Some(local("files", false)));
    f.files.expect_get().returning(|_, _| Ok(None));
    f.files.expect_create().returning(|_| Err(PortError::Conflict));
    f.cas_blobs.expect_stat().returning(|_| Ok(None));
    f.cas_blobs.expect_put_file().returning(|_, _, _| Ok(()));
    f.records.expect_record().returning(|_| Ok(()));
    let (svc, _dir) = f.service(1024);
    assert!(matches!(
        svc.upload(upload("files", "a.txt", b"x")).await,
        Err(HostedError::AlreadyExists(_))
    ));
}

#[tokio::test]
async fn overwrite_allowed_upserts() {
    let mut f = Fixture::new(Some(local("files", true)));
    f.files.expect_upsert().times(1).returning(|_| Ok(()));
    f.files.expect_get().times(0);
    f.cas_blobs.expect_stat().returning(|_| Ok(None));
    f.cas_blobs.expect_put_file().returning(|_, _, _| Ok(()));
    f.records.expect_record().returning(|_| Ok(()));
    let (svc, _dir) = f.service(1024);
    svc.upload(upload("files", "a.txt", b"x")).await.unwrap();
}

#[tokio::test]
async fn rejections_before_any_write() {
    type Check = fn(&HostedError) -> bool;
    let table: Vec<(Option<Repository>, UploadRequest, Check)> = vec![
        (None, upload("nope", "a", b"x"), |e| {
            matches!(e, HostedError::RepositoryNotFound(_))
        }),
        (Some(remote("files")), upload("files", "a", b"x"), |e| {
            matches!(e, HostedError::WrongKind { expected: "local", .. })
        }),
        (
            Some(local("files", false)),
            UploadRequest {
                declared_size: Some(2048),
                ..upload("files", "a", b"x")
            },
            |e| matches!(e, HostedError::TooLarge { limit: 1024 }),
        ),
        (
            Some(local("files", false)),
            UploadRequest {
                checksum: Some("zz".into()),
                ..upload("files", "a", b"x")
            },
            |e| matches!(e, HostedError::InvalidChecksum(_)),
        ),
    ];
    for (repo, request, check) in table {
        let mut f = Fixture::new(repo);
        f.files.expect_create().times(0);
        f.cas_blobs.expect_put_file().times(0);
        let (svc, _dir) = f.service(1024);
        let err = svc.upload(request).await.unwrap_err();
        assert!(check(&err), "{err:?}");
    }
}

fn with_quota(name: &str, quota: u64) -> Repository {
    Repository {
        settings: KindSettings::Local(LocalSettings {
            quota_bytes: Some(quota),
            ..LocalSettings::default()
        }),
        ..local(name, false)
    }
}

#[tokio::test]
async fn quota_refuses_what_cannot_fit_and_stores_nothing() {
    // (stored bytes, upload, refused)
    let table: Vec<(u64, UploadRequest, bool)> = vec![
        // Declared too big for the 4 bytes left: refused before reading.
        (
            96,
            UploadRequest {
                declared_size: Some(5),
                ..upload("files", "a", b"12345")
            },
            true,
        ),
        // Undeclared: cut off by the CAS limit at the quota.
        (96, upload("files", "a", b"12345"), true),
        // Full: refused whatever the size.
        (100, upload("files", "a", b""), true),
        // Fits exactly.
        (96, upload("files", "a", b"1234"), false),
    ];
    for (used, request, refused) in table {
        let mut f = Fixture::new(Some(with_quota("files", 100)));
        f.files
            .expect_stored_bytes()
            .withf(|repo| repo == "files")
            .returning(move |_| Ok(used));
        f.files.expect_get().returning(|_, _| Ok(None));
        f.cas_blobs.expect_stat().returning(|_| Ok(None));
        f.cas_blobs
            .expect_put_file()
            .times(usize::from(!refused))
            .returning(|_, _, _| Ok(()));
        f.records.expect_record().returning(|_| Ok(()));
        f.files
            .expect_create()
            .times(usize::from(!refused))
            .returning(|_| Ok(()));
        let (svc, dir) = f.service(1024);
        match svc.upload(request).await {
            Err(HostedError::QuotaExceeded(e)) if refused => {
                assert_eq!((e.quota, e.used), (100, used));
                assert!(e.to_string().starts_with("quota exceeded"), "{e}");
            }
            Ok(stored) if !refused => assert_eq!(stored.size, 4),
            other => panic!("used {used}: {other:?}"),
        }
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "no temp file left"
        );
    }
}

#[tokio::test]
async fn max_upload_stays_too_large_under_a_roomier_quota() {
    let mut f = Fixture::new(Some(with_quota("files", 1 << 30)));
    f.files.expect_stored_bytes().returning(|_| Ok(0));
    f.files.expect_get().returning(|_, _| Ok(None));
    f.files.expect_create().times(0);
    let (svc, _dir) = f.service(4);
    assert!(matches!(
        svc.upload(upload("files", "a", b"12345")).await,
        Err(HostedError::TooLarge { limit: 4 })
    ));
}

#[tokio::test]
async fn checksum_mismatch_creates_no_row() {
    let mut f = Fixture::new(Some(local("files", false)));
    f.files.expect_get().returning(|_, _| Ok(None));
    f.files.expect_create().times(0);
    f.cas_blobs.expect_put_file().times(0);
    let (svc, dir) = f.service(1024);
    let req = UploadRequest {
        checksum: Some(Digest::of_bytes(b"other").hex().to_string()),
        ..upload("files", "a", b"x")
    };
    assert!(matches!(
        svc.upload(req).await,
        Err(HostedError::ChecksumMismatch { .. })
    ));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[tokio::test]
async fn reads_honour_etag_and_ranges() {
    let stored = file("a.txt", b"0123456789");
    let mut f = Fixture::new(Some(local("files", false)));
    let s = stored.clone();
    f.files.expect_get().returning(move |_, _| Ok(Some(s.clone())));
    let key = stored.digest.blob_key();
    f.blobs
        .expect_get()
        .withf(move |k, span| k == key && *span == Some(ByteSpan { start: 2, end: 4 }))
        .times(1)
        .returning(|_, _| {
            Ok(BlobObject {
                meta: BlobMeta {
                    size: 10,
                    last_modified: None,
                },
                body: body(b"234"),
            })
        });
    let (svc, _dir) = f.service(1024);
    let path = ArtifactPath::parse("a.txt").unwrap();

    let etag = etag_of(&stored.digest);
    let not_modified = svc
        .read(
            "files",
            &path,
            ReadRequest {
                if_none_match: Some(&etag),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(not_modified, ReadOutcome::NotModified(_)));

    let partial = svc
        .read(
            "files",
            &path,
            ReadRequest {
                range: Some("bytes=2-4"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        partial,
        ReadOutcome::Content {
            span: Some(ByteSpan { start: 2, end: 4 }),
            body: Some(_),
            ..
        }
    ));

    let changed_since = svc
        .read(
            "files",
            &path,
            ReadRequest {
                range: Some("bytes=2-4"),
                if_range: Some("\"sha256:0000\""),
                head_only: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        matches!(changed_since, ReadOutcome::Content { span: None, .. }),
        "a stale If-Range gets the whole body"
    );

    let head = svc
        .read(
            "files",
            &path,
            ReadRequest {
                head_only: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        head,
        ReadOutcome::Content {
            span: None,
            body: None,
            ..
        }
    ));

    let unsatisfiable = svc
        .read(
            "files",
            &path,
            ReadRequest {
                range: Some("bytes=10-"),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(
        unsatisfiable,
        Err(HostedError::RangeNotSatisfiable { size: 10 })
    ));
}

#[tokio::test]
async fn delete_of_a_missing_file_is_not_found() {
    let mut f = Fixture::new(Some(local("files", false)));
    f.files.expect_delete().returning(|_, _| Ok(false));
    let (svc, _dir) = f.service(1024);
    let err = svc
        .delete("files", &ArtifactPath::parse("a").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, HostedError::NotFound(_)));
}

#[test]
fn etag_matching() {
    let d = Digest::of_bytes(b"x");
    let tag = etag_of(&d);
    assert!(etag_matches(&tag, &d));
    assert!(etag_matches(&format!("W/{tag}"), &d));
    assert!(etag_matches(&format!("\"other\", {tag}"), &d));
    assert!(etag_matches("*", &d));
    assert!(!etag_matches("\"sha256:00\"", &d));
}

fn terraform(name: &str) -> Repository {
    Repository {
        package: PackageType::Terraform,
        ..local(name, false)
    }
}

fn owned(data: Vec<u8>) -> ByteStream {
    // Several chunks, as a client sends them.
    let chunks: Vec<Result<Bytes, std::io::Error>> = data.chunks(7).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    Box::pin(futures::stream::iter(chunks))
}

const ARCHIVE: &str = "random/terraform-provider-random_1.0.0_linux_amd64.zip";

#[tokio::test]
async fn terraform_uploads_are_provider_archives() {
    use crate::domain::formats::terraform::hosted::tests::zip;
    let good = zip(&[("terraform-provider-random_v1.0.0", b"#!/bin/sh\n")], b"");
    let mut f = Fixture::new(Some(terraform("tf")));
    f.files.expect_get().returning(|_, _| Ok(None));
    f.files
        .expect_create()
        .withf(|file| file.path == ARCHIVE)
        .times(1)
        .returning(|_| Ok(()));
    f.cas_blobs.expect_stat().returning(|_| Ok(None));
    f.cas_blobs.expect_put_file().times(1).returning(|_, _, _| Ok(()));
    f.records.expect_record().returning(|_| Ok(()));
    let (svc, _dir) = f.service(1 << 20);
    let mut req = upload("tf", ARCHIVE, b"");
    req.declared_size = Some(good.len() as u64);
    req.body = owned(good);
    svc.upload(req).await.unwrap();
}

#[tokio::test]
async fn bad_terraform_uploads_store_nothing() {
    use crate::domain::formats::terraform::hosted::tests::zip;
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        (
            "tf",
            "random/provider.zip",
            zip(&[("terraform-provider-random", b"x")], b""),
            "expected",
        ),
        ("tf", ARCHIVE, b"plain text, not a zip".to_vec(), "not a zip"),
        ("tf", ARCHIVE, zip(&[("README.md", b"x")], b""), "provider executable"),
        (
            "my.tf",
            ARCHIVE,
            zip(&[("terraform-provider-random", b"x")], b""),
            "Terraform namespace",
        ),
    ];
    for (repo, path, data, message) in cases {
        let mut f = Fixture::new(Some(terraform(repo)));
        f.files.expect_get().returning(|_, _| Ok(None));
        f.files.expect_create().never();
        f.cas_blobs.expect_stat().never();
        f.cas_blobs.expect_put_file().never();
        f.records.expect_record().never();
        let (svc, dir) = f.service(1 << 20);
        let mut req = upload(repo, path, b"");
        req.body = owned(data);
        let err = svc.upload(req).await.unwrap_err();
        assert!(
            matches!(&err, HostedError::InvalidPackage(m) if m.contains(message)),
            "{path}: {err}"
        );
        let left = std::fs::read_dir(dir.path()).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "no temp file left behind");
    }
}
