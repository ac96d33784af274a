//! Hosted Go modules against mocked ports: refusals store nothing, and the list, latest and
//! generated `.info` come from the records.
use super::super::{HostedPorts, HostedService};
use super::*;
use crate::app::cas::ContentStore;
use crate::domain::repository::{LocalSettings, ManagedBy, RepoName, Repository};
use crate::ports::blob_records::MockBlobRecords;
use crate::ports::blob_store::MockBlobStore;
use crate::ports::clock::MockClock;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;
use crate::ports::repository_catalog::MockRepositoryCatalog;
use bytes::Bytes;
use std::io::Write;
use std::sync::Arc;

const MODULE: &str = "example.test/Demo";

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
        name: RepoName::new("go").unwrap(),
        package: PackageType::Goproxy,
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

fn zip(members: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(data.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn put(path: &str, body: Vec<u8>) -> UploadRequest {
    UploadRequest {
        repo: "go".into(),
        path: ArtifactPath::parse(path).unwrap(),
        body: Box::pin(futures::stream::iter(vec![Ok(Bytes::from(body))])),
        declared_size: None,
        checksum: None,
        content_type: None,
    }
}

fn record(version: &str, kind: &str) -> PackageRecord {
    PackageRecord {
        repo: "go".into(),
        name: MODULE.into(),
        version: version.into(),
        key: format!("{MODULE}@{version}.{kind}"),
        filename: format!("{version}.{kind}"),
        path: format!("example.test/!demo/@v/{version}.{kind}"),
        digest: Digest::of_bytes(b"x"),
        size: 1,
        meta: serde_json::json!({"kind": kind}),
        created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

#[tokio::test]
async fn a_good_zip_is_recorded_at_its_canonical_path() {
    let mut m = mocks();
    m.packages.expect_get().returning(|_, _| Ok(None));
    m.blobs.expect_stat().returning(|_| Ok(None));
    m.blobs.expect_put_file().times(1).returning(|_, _, _| Ok(()));
    m.records.expect_record().times(1).returning(|_| Ok(()));
    m.packages
        .expect_create()
        .withf(|r| r.name == MODULE && r.version == "v1.0.0" && r.meta["kind"] == "zip")
        .times(1)
        .returning(|_| Ok(()));
    m.files
        .expect_upsert()
        .withf(|f| f.path == "example.test/!demo/@v/v1.0.0.zip")
        .times(1)
        .returning(|_| Ok(()));
    let (svc, _dir) = service(m);
    let body = zip(&[
        ("example.test/Demo@v1.0.0/go.mod", "module example.test/Demo\n"),
        ("example.test/Demo@v1.0.0/demo.go", "package demo\n"),
    ]);
    svc.upload(put("example.test/!demo/@v/v1.0.0.zip", body)).await.unwrap();
}

#[tokio::test]
async fn bad_uploads_are_refused_and_store_nothing() {
    let prefix = "example.test/Demo@v1.0.0/";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "example.test/!demo/@v/v1.0.0.zip",
            zip(&[(&format!("{prefix}../../../etc/passwd"), "x")]),
            "outside",
        ),
        (
            "example.test/!demo/@v/v1.0.0.zip",
            zip(&[("example.test/Demo@v1.0.1/demo.go", "package demo\n")]),
            "is not under",
        ),
        (
            "example.test/!demo/@v/v1.0.0.zip",
            zip(&[(&format!("{prefix}a.go"), "a"), (&format!("{prefix}A.go"), "b")]),
            "ignoring case",
        ),
        (
            "example.test/!demo/@v/v1.0.0.zip",
            zip(&[(&format!("{prefix}go.mod"), "module example.test/other\n")]),
            "declares module",
        ),
        (
            "example.test/!demo/@v/v1.0.0.zip",
            b"PK garbage".to_vec(),
            "not a valid module zip",
        ),
        (
            "example.test/!demo/@v/v1.0.0.mod",
            b"module example.test/demo\n".to_vec(),
            "declares module",
        ),
        (
            "example.test/!demo/@v/v1.0.0.info",
            br#"{"Version":"v1.0.1"}"#.to_vec(),
            "Version",
        ),
    ];
    for (path, body, why) in cases {
        let mut m = mocks();
        m.packages.expect_get().returning(|_, _| Ok(None));
        // No blob, record or file write is expected: any would fail the test.
        let (svc, dir) = service(m);
        let err = svc.upload(put(path, body)).await.err().unwrap();
        assert!(
            matches!(&err, HostedError::InvalidPackage(msg) if msg.contains(why)),
            "{path} ({why}): {err}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temp file removed");
    }
    for (path, why) in [
        ("example.test/Demo/@v/v1.0.0.mod", "capital"),
        ("example.test/!demo/@v/1.0.0.mod", "canonical module version"),
        ("example.test/!demo/v1.0.0.mod", "not a module version file"),
    ] {
        let (svc, _dir) = service(mocks());
        let err = svc.upload(put(path, Vec::new())).await.err().unwrap();
        assert!(
            matches!(&err, HostedError::InvalidPackage(msg) if msg.contains(why)),
            "{path}: {err}"
        );
    }
}

#[tokio::test]
async fn a_re_upload_is_refused_before_its_body_is_read() {
    let mut m = mocks();
    m.packages
        .expect_get()
        .withf(|_, key| key == "example.test/Demo@v1.0.0.mod")
        .returning(|_, _| Ok(Some(record("v1.0.0", "mod"))));
    let (svc, _dir) = service(m);
    let mut request = put("example.test/!demo/@v/v1.0.0.mod", Vec::new());
    request.body = Box::pin(futures::stream::once(async { panic!("the body is never read") }));
    assert!(matches!(svc.upload(request).await, Err(HostedError::AlreadyExists(_))));
}

#[tokio::test]
async fn list_latest_and_info_come_from_complete_versions() {
    let mut m = mocks();
    m.packages.expect_files().returning(|_, _| {
        Ok(vec![
            record("v1.0.0", "mod"),
            record("v1.0.0", "zip"),
            record("v1.1.0", "mod"),
            record("v1.1.0", "zip"),
            record("v2.0.0-rc.1", "mod"),
            record("v2.0.0-rc.1", "zip"),
            record("v1.2.0", "mod"),
        ])
    });
    m.packages.expect_get().returning(|_, _| Ok(None));
    let (svc, _dir) = service(m);
    let read = |p: &'static str| {
        let svc = &svc;
        async move {
            match svc
                .goproxy_read("go", &ArtifactPath::parse(p).unwrap(), ReadRequest::default())
                .await
            {
                Ok(LocalRead::Page(page)) => Ok(String::from_utf8(page.body).unwrap()),
                Ok(_) => panic!("a page for {p}"),
                Err(e) => Err(e),
            }
        }
    };
    assert_eq!(
        read("example.test/!demo/@v/list").await.unwrap(),
        "v1.0.0\nv1.1.0\nv2.0.0-rc.1\n",
        "v1.2.0 has no zip yet"
    );
    let latest: serde_json::Value = serde_json::from_str(&read("example.test/!demo/@latest").await.unwrap()).unwrap();
    assert_eq!(latest["Version"], "v1.1.0");
    let info: serde_json::Value =
        serde_json::from_str(&read("example.test/!demo/@v/v1.0.0.info").await.unwrap()).unwrap();
    assert_eq!(info["Version"], "v1.0.0");
    assert_eq!(info["Time"], "2023-11-14T22:13:20Z");
    assert!(matches!(
        read("example.test/!demo/@v/v1.2.0.info").await,
        Err(HostedError::NotFound(_))
    ));
}
