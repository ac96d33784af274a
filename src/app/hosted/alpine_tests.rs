//! Hosted alpine against mocked ports: a bad or misplaced package stores nothing, a good one is
//! recorded with its control data, and APKINDEX.tar.gz lists a directory's records, signed with
//! the signer's key.
use super::super::test_support::{mocks, service};
use super::*;
use crate::domain::digest::Digest;
use crate::domain::formats::alpine::index::read_index;
use crate::ports::PortError;
use crate::ports::apk_signer::MockApkSigner;
use bytes::Bytes;
use std::sync::{Arc, Mutex};

use crate::test_apk as apk;

fn put(path: &str, content: Vec<u8>) -> UploadRequest {
    UploadRequest {
        repo: "alp".into(),
        path: ArtifactPath::parse(path).unwrap(),
        body: Box::pin(futures::stream::iter(vec![Ok(Bytes::from(content))])),
        declared_size: None,
        checksum: None,
        content_type: None,
    }
}

#[tokio::test]
async fn bad_or_misplaced_packages_store_nothing() {
    let good = apk::simple("hello", "1.0-r0", "x86_64").bytes;
    let table = [
        ("x86_64/hello-1.0-r1.apk", good.clone(), "hello-1.0-r0.apk"),
        ("aarch64/hello-1.0-r0.apk", good.clone(), "x86_64"),
        ("x86_64/hello-1.0-r0.apk", good[..good.len() / 2].to_vec(), "not"),
        ("x86_64/hello-1.0-r0.apk", b"garbage".to_vec(), "gzip"),
    ];
    for (path, content, reason) in table {
        let mut m = mocks();
        m.files.expect_get().returning(|_, _| Ok(None));
        // No blob, record, package or file write is expected: any would fail the test.
        let (svc, dir) = service(m, PackageType::Alpine, "alp");
        let err = svc.upload(put(path, content)).await.err().unwrap();
        assert!(
            matches!(&err, HostedError::InvalidPackage(m) if m.contains(reason)),
            "{path}: {err}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temp file removed");
    }
}

#[tokio::test]
async fn paths_without_an_arch_directory_are_refused_before_reading() {
    for path in ["hello-1.0-r0.apk", "x86_64/APKINDEX.tar.gz", "keys/x/a-1-r0.apk"] {
        let (svc, _dir) = service(mocks(), PackageType::Alpine, "alp");
        let mut request = put(path, Vec::new());
        request.body = Box::pin(futures::stream::once(async { panic!("the body is never read") }));
        assert!(
            matches!(svc.upload(request).await, Err(HostedError::InvalidPackage(_))),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_good_package_is_recorded_with_its_control_data() {
    let built = apk::simple("hello", "1.0-r0", "x86_64");
    let mut m = mocks();
    m.files.expect_get().returning(|_, _| Ok(None));
    m.blobs.expect_stat().returning(|_| Ok(None));
    m.blobs.expect_put_file().times(1).returning(|_, _, _| Ok(()));
    m.records.expect_record().times(1).returning(|_| Ok(()));
    let size = built.bytes.len() as u64;
    m.packages
        .expect_create()
        .withf(move |r| {
            r.name == "hello"
                && r.version == "1.0-r0"
                && r.key == "main/x86_64/hello-1.0-r0.apk"
                && r.meta["size"] == size
                && r.meta["checksum"].as_str().is_some_and(|c| c.starts_with("Q1"))
        })
        .times(1)
        .returning(|_| Ok(()));
    m.files
        .expect_create()
        .withf(|f| f.content_type.as_deref() == Some(APK_CONTENT_TYPE))
        .times(1)
        .returning(|_| Ok(()));
    let (svc, _dir) = service(m, PackageType::Alpine, "alp");
    let file = svc
        .upload(put("main/x86_64/hello-1.0-r0.apk", built.bytes.clone()))
        .await
        .unwrap();
    assert_eq!(file.digest, Digest::of_bytes(&built.bytes));
}

#[tokio::test]
async fn a_failed_file_write_takes_the_record_back() {
    let mut m = mocks();
    m.files.expect_get().returning(|_, _| Ok(None));
    m.blobs.expect_stat().returning(|_| Ok(None));
    m.blobs.expect_put_file().returning(|_, _, _| Ok(()));
    m.records.expect_record().returning(|_| Ok(()));
    m.packages.expect_create().returning(|_| Ok(()));
    m.files.expect_create().returning(|_| Err(PortError::Conflict));
    m.packages
        .expect_delete()
        .withf(|_, key| key == "x86_64/hello-1.0-r0.apk")
        .times(1)
        .returning(|_, _| Ok(true));
    let (svc, _dir) = service(m, PackageType::Alpine, "alp");
    let upload = put(
        "x86_64/hello-1.0-r0.apk",
        apk::simple("hello", "1.0-r0", "x86_64").bytes,
    );
    assert!(matches!(svc.upload(upload).await, Err(HostedError::AlreadyExists(_))));
}

fn record(path: &str, name: &str) -> PackageRecord {
    let built = apk::simple(name, "1.0-r0", "x86_64");
    let package = read_package(&mut std::io::Cursor::new(&built.bytes)).unwrap();
    PackageRecord {
        repo: "alp".into(),
        name: package.name.clone(),
        version: package.version.clone(),
        key: path.into(),
        filename: package.file_name(),
        path: path.into(),
        digest: Digest::of_bytes(&built.bytes),
        size: built.bytes.len() as u64,
        meta: serde_json::to_value(&package).unwrap(),
        created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

fn signer(signed: Arc<Mutex<Vec<u8>>>) -> MockApkSigner {
    let mut signer = MockApkSigner::new();
    signer
        .expect_key_file()
        .returning(|| Ok("artifactapi-0123abcd.rsa.pub".into()));
    signer
        .expect_public_key_pem()
        .returning(|| Ok("-----BEGIN PUBLIC KEY-----\n".into()));
    signer.expect_sign_sha1().returning(move |data| {
        *signed.lock().unwrap() = data.to_vec();
        Ok(vec![1u8; 256])
    });
    signer
}

async fn page_of(svc: &HostedService, path: &str) -> crate::app::hosted::pypi::Page {
    let path = ArtifactPath::parse(path).unwrap();
    match svc.read_local("alp", &path, ReadRequest::default()).await {
        Ok(LocalRead::Page(page)) => page,
        _ => panic!("{path} is a rendered page"),
    }
}

#[tokio::test]
async fn the_index_lists_the_directory_and_signs_its_second_stream() {
    let mut m = mocks();
    m.packages.expect_all().returning(|_| {
        Ok(vec![
            record("main/x86_64/hello-1.0-r0.apk", "hello"),
            record("main/aarch64/other-1.0-r0.apk", "other"),
        ])
    });
    let signed: Arc<Mutex<Vec<u8>>> = Arc::default();
    let (svc, _dir) = service(m, PackageType::Alpine, "alp");
    let svc = svc.with_apk_signer(Arc::new(signer(signed.clone())));
    let page = page_of(&svc, "main/x86_64/APKINDEX.tar.gz").await;
    assert_eq!(page.content_type, INDEX_CONTENT_TYPE);
    let text = read_index(&page.body, 1 << 20).unwrap();
    assert!(text.contains("P:hello\n") && !text.contains("P:other"), "{text}");
    let signed = signed.lock().unwrap().clone();
    assert!(
        !signed.is_empty() && page.body.ends_with(&signed),
        "the signed bytes end the archive"
    );
    assert_eq!(
        page.body,
        page_of(&svc, "main/x86_64/APKINDEX.tar.gz").await.body,
        "stable bytes"
    );

    let key = page_of(&svc, "keys/artifactapi-0123abcd.rsa.pub").await;
    assert_eq!(key.content_type, "application/x-pem-file");
    assert_eq!(page_of(&svc, "keys/").await.body, b"artifactapi-0123abcd.rsa.pub\n");
    let other = ArtifactPath::parse("keys/other.rsa.pub").unwrap();
    assert!(matches!(
        svc.read_local("alp", &other, ReadRequest::default()).await,
        Err(HostedError::NotFound(_))
    ));
}

#[tokio::test]
async fn an_empty_directory_has_an_empty_index_and_304_follows_the_etag() {
    let mut m = mocks();
    m.packages.expect_all().returning(|_| Ok(vec![]));
    let (svc, _dir) = service(m, PackageType::Alpine, "alp");
    let page = page_of(&svc, "x86_64/APKINDEX.tar.gz").await;
    assert_eq!(read_index(&page.body, 1 << 20).unwrap(), "");
    let etag = format!("\"{}\"", page.digest);
    let path = ArtifactPath::parse("x86_64/APKINDEX.tar.gz").unwrap();
    let request = ReadRequest {
        if_none_match: Some(&etag),
        ..ReadRequest::default()
    };
    assert!(matches!(
        svc.read_local("alp", &path, request).await,
        Ok(LocalRead::PageNotModified(_))
    ));
}
