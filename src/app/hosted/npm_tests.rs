//! Hosted npm use cases against mocked ports: what is refused before anything is stored, what a
//! good publish records, and what unpublish and dist-tag changes remove or keep.
use super::super::test_support::{self, Mocks, mocks};
use super::*;
use base64::Engine;
use bytes::Bytes;
use sha2::Digest as _;

fn service(m: Mocks) -> (HostedService, tempfile::TempDir) {
    test_support::service(m, PackageType::Npm, "npml")
}

/// An npm tarball whose `package/package.json` names `name@version`.
fn tarball(name: &str, version: &str) -> Vec<u8> {
    let manifest = json!({"name": name, "version": version}).to_string();
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "package/package.json", manifest.as_bytes())
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

fn publish(name: &str, version: &str, content: Vec<u8>) -> NpmPublish {
    let sha512 = hex::encode(sha2::Sha512::digest(&content));
    let sha1 = hex::encode(sha1::Sha1::digest(&content));
    let integrity = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(&content))
    );
    let doc = json!({
        "_id": name, "name": name, "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version,
            "dist": {"integrity": integrity, "shasum": sha1}}},
    });
    NpmPublish {
        repo: "npml".into(),
        name: name.into(),
        doc,
        tarball: NpmTarball {
            filename: format!("{name}-{version}.tgz"),
            size: content.len() as u64,
            body: Box::pin(futures::stream::iter(vec![Ok(Bytes::from(content))])),
            sha512,
            sha1,
        },
    }
}

fn record(version: &str, key: &str, meta: Value) -> PackageRecord {
    PackageRecord {
        repo: "npml".into(),
        name: "left".into(),
        version: version.into(),
        key: key.into(),
        filename: format!("left-{version}.tgz"),
        path: if version.is_empty() {
            String::new()
        } else {
            format!("left/-/left-{version}.tgz")
        },
        digest: Digest::of_bytes(key.as_bytes()),
        size: 1,
        meta,
        created_at: chrono::Utc::now(),
    }
}

#[tokio::test]
async fn a_republish_is_refused_before_the_tarball_is_read() {
    let mut m = mocks();
    m.packages
        .expect_get()
        .withf(|repo, key| repo == "npml" && key == "left@1.0.0")
        .returning(|_, _| Ok(Some(record("1.0.0", "left@1.0.0", Value::Null))));
    let (svc, _dir) = service(m);
    let mut request = publish("left", "1.0.0", tarball("left", "1.0.0"));
    request.tarball.body = Box::pin(futures::stream::once(async { panic!("the tarball is never read") }));
    assert!(matches!(
        svc.npm_publish(request).await,
        Err(HostedError::AlreadyExists(key)) if key == "left@1.0.0"
    ));
}

#[tokio::test]
async fn a_tarball_of_another_package_stores_nothing() {
    let mut m = mocks();
    m.packages.expect_get().returning(|_, _| Ok(None));
    // No blob, blob record, file or package write is expected: any would fail the test.
    let (svc, dir) = service(m);
    let err = svc
        .npm_publish(publish("left", "1.0.0", tarball("right", "1.0.0")))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, HostedError::InvalidPackage(m) if m.contains("right@1.0.0")),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "temp file removed");
}

#[tokio::test]
async fn an_integrity_the_tarball_does_not_match_stores_nothing() {
    let m = mocks();
    let (svc, _dir) = service(m);
    let mut request = publish("left", "1.0.0", tarball("left", "1.0.0"));
    request.tarball.sha512 = "00".repeat(64);
    assert!(matches!(
        svc.npm_publish(request).await,
        Err(HostedError::ChecksumMismatch { .. })
    ));
}

#[tokio::test]
async fn a_good_publish_records_the_version_its_tarball_and_its_tags() {
    let mut m = mocks();
    m.packages.expect_get().returning(|_, _| Ok(None));
    m.blobs.expect_stat().returning(|_| Ok(None));
    m.blobs.expect_put_file().times(1).returning(|_, _, _| Ok(()));
    m.records.expect_record().times(1).returning(|_| Ok(()));
    m.packages
        .expect_create()
        .withf(|r| r.key == "left@1.0.0" && r.path == "left/-/left-1.0.0.tgz" && r.meta["dist"]["shasum"].is_string())
        .times(1)
        .returning(|_| Ok(()));
    m.files
        .expect_upsert()
        .withf(|f| f.path == "left/-/left-1.0.0.tgz")
        .times(1)
        .returning(|_| Ok(()));
    m.packages
        .expect_create()
        .withf(|r| r.key == "left" && r.version.is_empty() && r.meta["dist-tags"]["latest"] == "1.0.0")
        .times(1)
        .returning(|_| Ok(()));
    let (svc, _dir) = service(m);
    let content = tarball("left", "1.0.0");
    let stored = svc
        .npm_publish(publish("left", "1.0.0", content.clone()))
        .await
        .unwrap();
    assert_eq!(stored.digest, Digest::of_bytes(&content));
    assert_eq!(stored.size, content.len() as u64);
}

#[tokio::test]
async fn an_unpublish_update_removes_only_the_versions_the_document_dropped() {
    let mut m = mocks();
    let records = vec![
        record("", "left", json!({"dist-tags": {"latest": "1.1.0"}})),
        record("1.0.0", "left@1.0.0", json!({})),
        record("1.1.0", "left@1.1.0", json!({})),
    ];
    m.packages.expect_files().returning(move |_, _| Ok(records.clone()));
    m.packages
        .expect_delete()
        .withf(|_, key| key == "left@1.0.0")
        .times(1)
        .returning(|_, _| Ok(true));
    m.files
        .expect_delete()
        .withf(|_, path| path == "left/-/left-1.0.0.tgz")
        .times(1)
        .returning(|_, _| Ok(true));
    m.packages
        .expect_get()
        .returning(|_, _| Ok(Some(record("", "left", json!({})))));
    m.packages
        .expect_set_meta()
        .withf(|_, key, meta| key == "left" && meta["dist-tags"] == json!({"latest": "1.1.0"}))
        .times(1)
        .returning(|_, _, _| Ok(true));
    let (svc, _dir) = service(m);
    let doc = json!({"name": "left", "dist-tags": {"latest": "1.1.0"}, "versions": {"1.1.0": {}}});
    svc.npm_update("npml", "left", &doc, true).await.unwrap();
}

#[tokio::test]
async fn a_dist_tag_must_name_a_stored_version() {
    let mut m = mocks();
    let records = vec![record("1.0.0", "left@1.0.0", json!({}))];
    m.packages.expect_files().returning(move |_, _| Ok(records.clone()));
    let (svc, _dir) = service(m);
    assert!(matches!(
        svc.npm_set_tag("npml", "left", "beta", "2.0.0").await,
        Err(HostedError::NotFound(what)) if what == "left@2.0.0"
    ));
    assert!(matches!(
        svc.npm_set_tag("npml", "left", "1.x", "1.0.0").await,
        Err(HostedError::InvalidPackage(_))
    ));
}
