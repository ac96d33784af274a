//! Hosted rpm against mocked ports: a bad or misnamed package stores nothing, a good one is
//! recorded with its header, and repomd.xml is answered only after the files it names exist.
use super::super::{HostedPorts, HostedService};
use super::*;
use crate::app::cas::ContentStore;
use crate::domain::repository::{KindSettings, LocalSettings, ManagedBy, RepoName, Repository};
use crate::ports::PortError;
use crate::ports::blob_records::MockBlobRecords;
use crate::ports::blob_store::MockBlobStore;
use crate::ports::clock::MockClock;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;
use crate::ports::repository_catalog::MockRepositoryCatalog;
use std::sync::{Arc, Mutex};

const FIXTURE: &[u8] = include_bytes!("../../domain/formats/rpm/testdata/aafix-1.5-3.noarch.rpm");

struct Mocks {
    files: MockHostedFiles,
    packages: MockHostedPackages,
    blobs: MockBlobStore,
    records: MockBlobRecords,
    dir: tempfile::TempDir,
}

fn mocks() -> Mocks {
    Mocks {
        files: MockHostedFiles::new(),
        packages: MockHostedPackages::new(),
        blobs: MockBlobStore::new(),
        records: MockBlobRecords::new(),
        dir: tempfile::tempdir().unwrap(),
    }
}

fn service(m: Mocks) -> (HostedService, tempfile::TempDir) {
    let repo = Repository {
        name: RepoName::new("el").unwrap(),
        package: PackageType::Rpm,
        settings: KindSettings::Local(LocalSettings::default()),
        managed_by: ManagedBy::Api,
    };
    let mut catalog = MockRepositoryCatalog::new();
    catalog.expect_get().returning(move |_| Ok(Some(repo.clone())));
    let mut clock = MockClock::new();
    clock.expect_now().returning(chrono::Utc::now);
    let clock = Arc::new(clock);
    let cas = ContentStore::new(
        Arc::new(m.blobs),
        Arc::new(m.records),
        clock.clone(),
        m.dir.path().to_path_buf(),
    );
    let ports = HostedPorts {
        catalog: Arc::new(catalog),
        files: Arc::new(m.files),
        packages: Arc::new(m.packages),
        blobs: Arc::new(MockBlobStore::new()),
        cas: Arc::new(cas),
        clock,
    };
    (HostedService::new(ports, 1 << 20), m.dir)
}

fn put(path: &str, content: Vec<u8>) -> UploadRequest {
    UploadRequest {
        repo: "el".into(),
        path: ArtifactPath::parse(path).unwrap(),
        body: Box::pin(futures::stream::iter(vec![Ok(Bytes::from(content))])),
        declared_size: None,
        checksum: None,
        content_type: None,
    }
}

#[tokio::test]
async fn a_package_under_another_name_or_a_broken_one_stores_nothing() {
    let truncated = FIXTURE[..3000].to_vec();
    let table = [
        ("aafix-1.5-4.noarch.rpm", FIXTURE.to_vec(), "aafix-1.5-3.noarch.rpm"),
        ("aafix-1.5-3.noarch.rpm", truncated, "not a complete rpm header"),
        (
            "aafix-1.5-3.noarch.rpm",
            b"garbage".to_vec(),
            "not a complete rpm header",
        ),
    ];
    for (path, content, reason) in table {
        let mut m = mocks();
        m.files.expect_get().returning(|_, _| Ok(None));
        // No blob, record, package or file write is expected: any would fail the test.
        let (svc, dir) = service(m);
        let err = svc.upload(put(path, content)).await.err().unwrap();
        assert!(
            matches!(&err, HostedError::InvalidPackage(m) if m.contains(reason)),
            "{path}: {err}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temp file removed");
    }
}

#[tokio::test]
async fn repodata_paths_and_other_files_are_refused_before_reading() {
    for path in ["repodata/repomd.xml", "aafix.deb", "repodata/aafix-1.5-3.noarch.rpm"] {
        let (svc, _dir) = service(mocks());
        let mut request = put(path, Vec::new());
        request.body = Box::pin(futures::stream::once(async { panic!("the body is never read") }));
        assert!(
            matches!(svc.upload(request).await, Err(HostedError::InvalidPackage(_))),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_good_package_is_recorded_with_its_header() {
    let mut m = mocks();
    m.files.expect_get().returning(|_, _| Ok(None));
    m.blobs.expect_stat().returning(|_| Ok(None));
    m.blobs.expect_put_file().times(1).returning(|_, _, _| Ok(()));
    m.records.expect_record().times(1).returning(|_| Ok(()));
    m.packages
        .expect_create()
        .withf(|r| {
            r.name == "aafix"
                && r.version == "2:1.5-3"
                && r.key == "aafix-2:1.5-3.noarch"
                && r.path == "Packages/aafix-1.5-3.noarch.rpm"
                && r.meta["header_end"] == 6553
        })
        .times(1)
        .returning(|_| Ok(()));
    m.files
        .expect_create()
        .withf(|f| f.path == "Packages/aafix-1.5-3.noarch.rpm" && f.content_type.as_deref() == Some(RPM_CONTENT_TYPE))
        .times(1)
        .returning(|_| Ok(()));
    let (svc, _dir) = service(m);
    let file = svc
        .upload(put("Packages/aafix-1.5-3.noarch.rpm", FIXTURE.to_vec()))
        .await
        .unwrap();
    assert_eq!(file.digest, Digest::of_bytes(FIXTURE));
}

#[tokio::test]
async fn the_same_package_at_another_path_is_a_conflict_and_leaves_no_file() {
    let mut m = mocks();
    m.files.expect_get().returning(|_, _| Ok(None));
    m.blobs.expect_stat().returning(|_| Ok(None));
    m.blobs.expect_put_file().returning(|_, _, _| Ok(()));
    m.records.expect_record().returning(|_| Ok(()));
    m.packages.expect_create().returning(|_| Err(PortError::Conflict));
    let (svc, _dir) = service(m);
    let err = svc
        .upload(put("x/aafix-1.5-3.noarch.rpm", FIXTURE.to_vec()))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, HostedError::AlreadyExists(m) if m.contains("aafix-2:1.5-3.noarch")),
        "{err}"
    );
}

fn record() -> PackageRecord {
    let package = read_package(&mut std::io::Cursor::new(FIXTURE)).unwrap();
    PackageRecord {
        repo: "el".into(),
        name: package.name.clone(),
        version: package.evr(),
        key: package.nevra(),
        filename: package.file_name(),
        path: package.file_name(),
        digest: Digest::of_bytes(FIXTURE),
        size: FIXTURE.len() as u64,
        meta: serde_json::to_value(&package).unwrap(),
        created_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn repomd_is_answered_after_the_files_it_names_are_stored() {
    let mut m = mocks();
    m.packages.expect_all().returning(|_| Ok(vec![record()]));
    let stored: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&stored);
    m.files.expect_get().returning(|_, _| Ok(None));
    m.files.expect_list().returning(|_, _| Ok(vec![]));
    m.files.expect_upsert().times(3).returning(move |f| {
        seen.lock().unwrap().push(f.path.clone());
        Ok(())
    });
    m.blobs.expect_stat().returning(|_| Ok(None));
    m.blobs.expect_put_file().times(3).returning(|_, _, _| Ok(()));
    m.records.expect_record().times(3).returning(|_| Ok(()));
    let (svc, _dir) = service(m);
    let path = ArtifactPath::parse(REPOMD).unwrap();
    let Ok(LocalRead::Page(page)) = svc.read_local("el", &path, ReadRequest::default()).await else {
        panic!("repomd.xml is a rendered page");
    };
    let repomd = String::from_utf8(page.body).unwrap();
    let stored = stored.lock().unwrap();
    assert_eq!(stored.len(), 3);
    for path in stored.iter() {
        assert!(repomd.contains(&format!("href=\"{path}\"")), "{path} in {repomd}");
    }
    assert_eq!(page.content_type, REPOMD_CONTENT_TYPE);
}

#[tokio::test]
async fn a_data_file_already_stored_is_not_written_again() {
    let mut m = mocks();
    m.packages.expect_all().returning(|_| Ok(vec![]));
    m.files.expect_list().returning(|_, _| Ok(vec![]));
    m.files.expect_get().returning(|repo, path| {
        Ok(Some(HostedFile {
            repo: repo.into(),
            path: path.into(),
            digest: Digest::of_bytes(b"x"),
            size: 1,
            content_type: None,
            created_at: chrono::Utc::now(),
        }))
    });
    // No upsert, blob or record expectation: a write would fail the test.
    let (svc, _dir) = service(m);
    let path = ArtifactPath::parse(REPOMD).unwrap();
    assert!(matches!(
        svc.read_local("el", &path, ReadRequest::default()).await,
        Ok(LocalRead::Page(_))
    ));
}

#[tokio::test]
async fn data_files_superseded_long_enough_are_deleted_and_the_current_ones_kept() {
    let mut m = mocks();
    m.packages.expect_all().returning(|_| Ok(vec![]));
    let now = chrono::Utc::now();
    let file = |path: String, age_minutes: i64| HostedFile {
        repo: "el".into(),
        path,
        digest: Digest::of_bytes(b"x"),
        size: 1,
        content_type: None,
        created_at: now - chrono::TimeDelta::minutes(age_minutes),
    };
    let current: Vec<String> = render_data(&[]).unwrap().iter().map(DataFile::path).collect();
    let old = format!("repodata/{}-primary.xml.gz", "0".repeat(64));
    let listing: Vec<HostedFile> = vec![
        file(old.clone(), 60),
        file(current[0].clone(), 30),
        file(current[1].clone(), 30),
        file(current[2].clone(), 30),
    ];
    let present = listing.clone();
    m.files
        .expect_get()
        .returning(move |_, path| Ok(present.iter().find(|f| f.path == path).cloned()));
    m.files
        .expect_list()
        .withf(|repo, page| repo == "el" && page.prefix == "repodata/")
        .returning(move |_, _| Ok(listing.clone()));
    m.files
        .expect_delete()
        .withf(move |repo, path| repo == "el" && path == old)
        .times(1)
        .returning(|_, _| Ok(true));
    let (svc, _dir) = service(m);
    let path = ArtifactPath::parse(REPOMD).unwrap();
    assert!(matches!(
        svc.read_local("el", &path, ReadRequest::default()).await,
        Ok(LocalRead::Page(_))
    ));
}

#[tokio::test]
async fn repomd_asc_signs_the_repomd_served_for_the_same_records() {
    let mut m = mocks();
    let fixed = record();
    m.packages.expect_all().returning(move |_| Ok(vec![fixed.clone()]));
    m.files.expect_list().returning(|_, _| Ok(vec![]));
    m.files.expect_get().returning(|repo, path| {
        Ok(Some(HostedFile {
            repo: repo.into(),
            path: path.into(),
            digest: Digest::of_bytes(b"x"),
            size: 1,
            content_type: None,
            created_at: chrono::Utc::now(),
        }))
    });
    let signed: Arc<Mutex<Vec<u8>>> = Arc::default();
    let seen = Arc::clone(&signed);
    let mut signer = crate::ports::release_signer::MockReleaseSigner::new();
    signer.expect_sign_detached().returning(move |data| {
        *seen.lock().unwrap() = data.to_vec();
        Ok(vec![1, 2, 3])
    });
    let (svc, _dir) = service(m);
    let svc = svc.with_signer(Arc::new(signer));
    let read = |p: &'static str| {
        let path = ArtifactPath::parse(p).unwrap();
        let svc = &svc;
        async move {
            match svc.read_local("el", &path, ReadRequest::default()).await {
                Ok(LocalRead::Page(page)) => page,
                _ => panic!("{p} is a rendered page"),
            }
        }
    };
    let asc = read(REPOMD_ASC).await;
    let repomd = read(REPOMD).await;
    assert_eq!(
        *signed.lock().unwrap(),
        repomd.body,
        "the signature covers the served repomd"
    );
    assert_eq!(String::from_utf8(asc.body).unwrap(), armor_signature(&[1, 2, 3]));
    assert_eq!(asc.content_type, SIGNATURE_CONTENT_TYPE);
}

#[tokio::test]
async fn without_a_signer_there_is_no_signature() {
    let (svc, _dir) = service(mocks());
    for p in [REPOMD_ASC, REPOMD_KEY] {
        let path = ArtifactPath::parse(p).unwrap();
        assert!(matches!(
            svc.read_local("el", &path, ReadRequest::default()).await,
            Err(HostedError::NotFound(_))
        ));
    }
}
