//! Hosted Helm uploads, index and deletes against mocked ports: what is refused before anything
//! is recorded, and what a good upload records.
use super::super::{HostedPorts, HostedService, UploadRequest};
use super::*;
use crate::app::cas::ContentStore;
use crate::app::hosted::test_support::tgz;
use crate::domain::repository::{KindSettings, LocalSettings, ManagedBy, RepoName, Repository};
use crate::ports::blob_records::MockBlobRecords;
use crate::ports::blob_store::MockBlobStore;
use crate::ports::clock::MockClock;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;
use crate::ports::repository_catalog::MockRepositoryCatalog;
use bytes::Bytes;
use std::sync::Arc;

struct Mocks {
    files: MockHostedFiles,
    packages: MockHostedPackages,
    blobs: MockBlobStore,
    records: MockBlobRecords,
    dir: tempfile::TempDir,
    allow_overwrite: bool,
}

fn mocks() -> Mocks {
    Mocks {
        files: MockHostedFiles::new(),
        packages: MockHostedPackages::new(),
        blobs: MockBlobStore::new(),
        records: MockBlobRecords::new(),
        dir: tempfile::tempdir().unwrap(),
        allow_overwrite: false,
    }
}

fn service(m: Mocks) -> (HostedService, tempfile::TempDir) {
    let repo = Repository {
        name: RepoName::new("charts").unwrap(),
        package: PackageType::Helm,
        settings: KindSettings::Local(LocalSettings {
            allow_overwrite: m.allow_overwrite,
            ..LocalSettings::default()
        }),
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

fn chart(name: &str, version: &str) -> Vec<u8> {
    let yaml = format!("apiVersion: v2\nname: {name}\nversion: {version}\ndescription: a demo\n");
    tgz(&[
        (&format!("{name}/Chart.yaml"), yaml.as_bytes()),
        (&format!("{name}/values.yaml"), b"replicas: 1\n"),
    ])
}

fn put(filename: &str, content: Vec<u8>) -> HelmUpload {
    HelmUpload {
        repo: "charts".into(),
        filename: Some(filename.into()),
        body: Box::pin(futures::stream::iter(vec![Ok(Bytes::from(content))])),
        declared_size: None,
        expected: None,
    }
}

fn stored(m: &mut Mocks) {
    m.blobs.expect_stat().returning(|_| Ok(None));
    m.blobs.expect_put_file().times(1).returning(|_, _, _| Ok(()));
    m.records.expect_record().times(1).returning(|_| Ok(()));
}

fn existing(name: &str, version: &str) -> PackageRecord {
    PackageRecord {
        repo: "charts".into(),
        name: name.into(),
        version: version.into(),
        key: format!("{name}/{version}"),
        filename: format!("{name}-{version}.tgz"),
        path: format!("charts/{name}-{version}.tgz"),
        digest: Digest::of_bytes(b"old"),
        size: 3,
        meta: serde_json::json!({"chart": {"apiVersion": "v2", "name": name, "version": version}}),
        created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

#[tokio::test]
async fn a_good_chart_is_recorded_at_its_canonical_path() {
    let mut m = mocks();
    m.packages.expect_by_path().returning(|_, _| Ok(None));
    m.packages.expect_get().returning(|_, _| Ok(None));
    stored(&mut m);
    m.packages
        .expect_create()
        .withf(|r| {
            r.key == "demo/1.0.0-rc.1"
                && r.path == "charts/demo-1.0.0-rc.1.tgz"
                && r.meta["chart"]["description"] == "a demo"
        })
        .times(1)
        .returning(|_| Ok(()));
    m.files
        .expect_upsert()
        .withf(|f| f.path == "charts/demo-1.0.0-rc.1.tgz" && f.content_type.as_deref() == Some(CHART_TYPE))
        .times(1)
        .returning(|_| Ok(()));
    let (svc, _dir) = service(m);
    let content = chart("demo", "1.0.0-rc.1");
    let record = svc
        .helm_upload(put("demo-1.0.0-rc.1.tgz", content.clone()))
        .await
        .unwrap();
    assert_eq!(record.digest, Digest::of_bytes(&content));
    assert_eq!((record.name.as_str(), record.version.as_str()), ("demo", "1.0.0-rc.1"));
}

#[tokio::test]
async fn a_put_of_an_existing_chart_is_refused_before_its_body_is_read() {
    let mut m = mocks();
    m.packages
        .expect_by_path()
        .withf(|_, path| path == "charts/demo-1.0.0.tgz")
        .returning(|_, _| Ok(Some(existing("demo", "1.0.0"))));
    let (svc, _dir) = service(m);
    let mut upload = put("demo-1.0.0.tgz", Vec::new());
    upload.body = Box::pin(futures::stream::once(async { panic!("the body is never read") }));
    assert!(matches!(
        svc.helm_upload(upload).await,
        Err(HostedError::AlreadyExists(_))
    ));
}

#[tokio::test]
async fn a_post_of_an_existing_version_is_a_conflict_and_records_nothing() {
    let mut m = mocks();
    m.packages
        .expect_get()
        .withf(|_, key| key == "demo/1.0.0")
        .returning(|_, _| Ok(Some(existing("demo", "1.0.0"))));
    stored(&mut m);
    // No create, delete or file write expected: any would fail the test.
    let (svc, _dir) = service(m);
    let mut upload = put("x.tgz", chart("demo", "1.0.0"));
    upload.filename = None;
    assert!(matches!(
        svc.helm_upload(upload).await,
        Err(HostedError::AlreadyExists(_))
    ));
}

#[tokio::test]
async fn overwrite_replaces_the_record_when_the_repository_allows_it() {
    let mut m = mocks();
    m.allow_overwrite = true;
    m.packages
        .expect_by_path()
        .returning(|_, _| Ok(Some(existing("demo", "1.0.0"))));
    m.packages
        .expect_get()
        .returning(|_, _| Ok(Some(existing("demo", "1.0.0"))));
    stored(&mut m);
    m.packages
        .expect_delete()
        .withf(|_, key| key == "demo/1.0.0")
        .times(1)
        .returning(|_, _| Ok(true));
    m.packages.expect_create().times(1).returning(|_| Ok(()));
    m.files.expect_upsert().times(1).returning(|_| Ok(()));
    let (svc, _dir) = service(m);
    let content = chart("demo", "1.0.0");
    let record = svc.helm_upload(put("demo-1.0.0.tgz", content.clone())).await.unwrap();
    assert_eq!(record.digest, Digest::of_bytes(&content));
}

#[tokio::test]
async fn bad_archives_are_refused_and_store_nothing() {
    let big = format!(
        "apiVersion: v2\nname: demo\nversion: 1.0.0\ndescription: {}\n",
        "x".repeat(1 << 20)
    );
    let truncated = {
        let full = chart("demo", "1.0.0");
        full[..full.len() / 2].to_vec()
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("demo-2.0.0.tgz", chart("demo", "1.0.0"), "does not match"),
        ("other-1.0.0.tgz", chart("demo", "1.0.0"), "does not match"),
        ("demo-1.0.tgz", chart("demo", "1.0"), "SemVer"),
        (
            "demo-1.0.0.tgz",
            b"not gzip at all".to_vec(),
            "not a valid chart archive",
        ),
        ("demo-1.0.0.tgz", truncated, "not a valid chart archive"),
        (
            "demo-1.0.0.tgz",
            tgz(&[("demo/values.yaml", b"a: 1\n")]),
            "no <chart>/Chart.yaml",
        ),
        (
            "demo-1.0.0.tgz",
            tgz(&[
                ("demo/Chart.yaml", b"apiVersion: v2\nname: demo\nversion: 1.0.0\n"),
                ("demo/../../etc/passwd", b"x"),
            ]),
            "outside",
        ),
        (
            "demo-1.0.0.tgz",
            tgz(&[("demo/Chart.yaml", big.as_bytes())]),
            "larger than",
        ),
    ];
    for (filename, content, why) in cases {
        let mut m = mocks();
        m.packages.expect_by_path().returning(|_, _| Ok(None));
        // No blob, record or file write is expected: any would fail the test.
        let (svc, dir) = service(m);
        let err = svc.helm_upload(put(filename, content)).await.err().unwrap();
        assert!(
            matches!(&err, HostedError::InvalidPackage(msg) if msg.contains(why)),
            "{filename} ({why}): {err}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temp file removed");
    }
    let (svc, _dir) = service(mocks());
    assert!(matches!(
        svc.helm_upload(put("demo-1.0.0.zip", Vec::new())).await,
        Err(HostedError::InvalidPackage(_))
    ));
}

#[tokio::test]
async fn put_through_upload_lands_at_the_canonical_path() {
    let mut m = mocks();
    m.packages.expect_by_path().returning(|_, _| Ok(None));
    m.packages.expect_get().returning(|_, _| Ok(None));
    stored(&mut m);
    m.packages.expect_create().times(1).returning(|_| Ok(()));
    m.files.expect_upsert().times(1).returning(|_| Ok(()));
    let (svc, _dir) = service(m);
    let file = svc
        .upload(UploadRequest {
            repo: "charts".into(),
            path: crate::domain::path::ArtifactPath::parse("anywhere/demo-1.0.0.tgz").unwrap(),
            body: Box::pin(futures::stream::iter(vec![Ok(Bytes::from(chart("demo", "1.0.0")))])),
            declared_size: None,
            checksum: None,
            content_type: None,
        })
        .await
        .unwrap();
    assert_eq!(file.path, "charts/demo-1.0.0.tgz");
}

#[tokio::test]
async fn the_index_lists_every_record() {
    let mut m = mocks();
    m.packages.expect_all().returning(|_| {
        Ok(vec![
            existing("a", "0.1.0"),
            existing("demo", "1.0.0"),
            existing("demo", "2.0.0"),
        ])
    });
    let (svc, _dir) = service(m);
    let path = crate::domain::path::ArtifactPath::parse("index.yaml").unwrap();
    let LocalRead::Page(page) = svc.helm_read("charts", &path, ReadRequest::default()).await.unwrap() else {
        panic!("a page")
    };
    assert_eq!(page.content_type, INDEX_TYPE);
    let doc: serde_yaml::Value = serde_yaml::from_slice(&page.body).unwrap();
    assert_eq!(doc["entries"]["demo"][0]["version"], "2.0.0");
    assert_eq!(doc["entries"]["demo"][1]["urls"][0], "charts/demo-1.0.0.tgz");
    assert_eq!(
        doc["entries"]["a"][0]["digest"].as_str().unwrap(),
        Digest::of_bytes(b"old").hex()
    );
    let again = ReadRequest {
        if_none_match: Some(&format!("\"{}\"", page.digest)),
        ..ReadRequest::default()
    };
    assert!(matches!(
        svc.helm_read("charts", &path, again).await.unwrap(),
        LocalRead::PageNotModified(_)
    ));
}

#[tokio::test]
async fn deleting_a_version_drops_its_record_then_its_file() {
    let mut m = mocks();
    m.packages
        .expect_get()
        .withf(|_, key| key == "demo/1.0.0")
        .returning(|_, _| Ok(Some(existing("demo", "1.0.0"))));
    m.packages.expect_get().returning(|_, _| Ok(None));
    let mut seq = mockall::Sequence::new();
    m.packages
        .expect_delete()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(true));
    m.files
        .expect_delete()
        .withf(|_, path| path == "charts/demo-1.0.0.tgz")
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(true));
    let (svc, _dir) = service(m);
    svc.helm_delete_version("charts", "demo", "1.0.0").await.unwrap();
    assert!(matches!(
        svc.helm_delete_version("charts", "demo", "9.9.9").await,
        Err(HostedError::NotFound(_))
    ));
}
