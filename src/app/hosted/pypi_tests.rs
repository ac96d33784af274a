//! Hosted PyPI uploads against mocked ports: what is checked before any byte is stored, and
//! what a good upload records.
use super::super::test_support::{self, Mocks, mocks};
use super::*;
use std::io::Write;

fn service(m: Mocks) -> (HostedService, tempfile::TempDir) {
    test_support::service(m, PackageType::Pypi, "py")
}

/// A wheel whose METADATA names `metadata_name`.
fn wheel(metadata_name: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("demo/__init__.py", options).unwrap();
    zip.write_all(b"x = 1\n").unwrap();
    zip.start_file("demo-1.0.dist-info/METADATA", options).unwrap();
    write!(
        zip,
        "Metadata-Version: 2.1\nName: {metadata_name}\nVersion: 1.0\nRequires-Python: >=3.9\n"
    )
    .unwrap();
    zip.finish().unwrap().into_inner()
}

fn upload(content: Vec<u8>) -> PypiUpload {
    let mut form = UploadForm::default();
    for (k, v) in [(":action", "file_upload"), ("name", "demo"), ("version", "1.0")] {
        form.set(k, v.into());
    }
    PypiUpload {
        repo: "py".into(),
        form,
        filename: "demo-1.0-py3-none-any.whl".into(),
        content: Box::pin(futures::stream::iter(vec![Ok(Bytes::from(content))])),
        declared_size: None,
    }
}

#[tokio::test]
async fn a_re_upload_is_refused_before_its_body_is_read() {
    let mut m = mocks();
    let existing = PackageRecord {
        repo: "py".into(),
        name: "demo".into(),
        version: "1.0".into(),
        key: "demo-1.0--py3-none-any.whl".into(),
        filename: "demo-1.0-py3-none-any.whl".into(),
        path: "packages/demo/demo-1.0-py3-none-any.whl".into(),
        digest: Digest::of_bytes(b"x"),
        size: 1,
        meta: serde_json::Value::Null,
        created_at: chrono::Utc::now(),
    };
    m.packages
        .expect_get()
        .withf(|repo, key| repo == "py" && key == "demo-1.0--py3-none-any.whl")
        .returning(move |_, _| Ok(Some(existing.clone())));
    let (svc, _dir) = service(m);
    let mut request = upload(Vec::new());
    request.content = Box::pin(futures::stream::once(async { panic!("the body is never read") }));
    assert!(matches!(
        svc.pypi_upload(request).await,
        Err(HostedError::AlreadyExists(_))
    ));
}

#[tokio::test]
async fn a_wheel_whose_metadata_names_another_project_stores_nothing() {
    let mut m = mocks();
    m.packages.expect_get().returning(|_, _| Ok(None));
    // No blob store, blob record, file or package write is expected: any would fail the test.
    let (svc, dir) = service(m);
    let err = svc.pypi_upload(upload(wheel("someone-else"))).await.err().unwrap();
    assert!(
        matches!(&err, HostedError::InvalidPackage(m) if m.contains("someone-else")),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temp file removed");
}

#[tokio::test]
async fn a_good_wheel_is_recorded_with_its_metadata_file() {
    let mut m = mocks();
    m.packages.expect_get().returning(|_, _| Ok(None));
    m.blobs.expect_stat().returning(|_| Ok(None));
    m.blobs.expect_put_file().times(2).returning(|_, _, _| Ok(()));
    m.records.expect_record().times(2).returning(|_| Ok(()));
    m.packages
        .expect_create()
        .withf(|r| r.name == "demo" && r.version == "1.0" && r.meta["requires_python"] == ">=3.9")
        .times(1)
        .returning(|_| Ok(()));
    m.files
        .expect_upsert()
        .withf(|f| f.path == "packages/demo/demo-1.0-py3-none-any.whl")
        .times(1)
        .returning(|_| Ok(()));
    m.files
        .expect_upsert()
        .withf(|f| f.path == "packages/demo/demo-1.0-py3-none-any.whl.metadata")
        .times(1)
        .returning(|_| Ok(()));
    let (svc, _dir) = service(m);
    let content = wheel("Demo");
    let record = svc.pypi_upload(upload(content.clone())).await.unwrap();
    assert_eq!(record.digest, Digest::of_bytes(&content));
    assert_eq!(record.meta["filetype"], "bdist_wheel");
    assert!(record.meta["core_metadata"].as_str().is_some_and(|s| s.len() == 64));
}
