//! Hosted Puppet uploads, API and deletes against mocked ports: what is refused before anything
//! is recorded, what a good upload records, and the v3 pages rendered from records.
use super::super::UploadRequest;
use super::super::test_support::{mocks, service, tgz};
use super::*;
use crate::domain::formats::puppet::hosted::release_slug;
use crate::ports::ByteStream;
use bytes::Bytes;

fn module(slug: &str, version: &str, top: &str) -> Vec<u8> {
    let metadata = serde_json::json!({"name": slug, "version": version, "author": "aa",
        "dependencies": [{"name": "bb-base", "version_requirement": ">= 1.0.0"}]});
    tgz(&[
        (&format!("{top}/metadata.json"), metadata.to_string().as_bytes()),
        (&format!("{top}/manifests/init.pp"), b"class demo {}\n"),
    ])
}

fn body(data: Vec<u8>) -> ByteStream {
    Box::pin(futures::stream::iter(vec![Ok(Bytes::from(data))]))
}

fn put(path: &str, data: Vec<u8>) -> UploadRequest {
    UploadRequest {
        repo: "forge".into(),
        path: ArtifactPath::parse(path).unwrap(),
        body: body(data),
        declared_size: None,
        checksum: None,
        content_type: None,
    }
}

fn record(version: &str) -> PackageRecord {
    PackageRecord {
        repo: "forge".into(),
        name: "aa-demo".into(),
        version: version.into(),
        key: record_key("aa-demo", version),
        filename: release_filename("aa-demo", version),
        path: release_path("aa-demo", version),
        digest: Digest::of_bytes(version.as_bytes()),
        size: 3,
        meta: serde_json::json!({"metadata": {"name": "aa-demo", "version": version}, "md5": "m"}),
        created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

/// Expects a new release: no record there yet, its blob stored once.
fn new_release_stored(m: &mut super::super::test_support::Mocks) {
    m.packages.expect_by_path().returning(|_, _| Ok(None));
    m.packages.expect_get().returning(|_, _| Ok(None));
    m.blobs.expect_stat().returning(|_| Ok(None));
    m.blobs.expect_put_file().times(1).returning(|_, _, _| Ok(()));
    m.records.expect_record().times(1).returning(|_| Ok(()));
}

#[tokio::test]
async fn a_good_release_is_recorded_with_its_metadata_and_md5() {
    let archive = module("aa-demo", "1.0.0", "aa-demo-1.0.0");
    let md5 = {
        use md5::Digest as _;
        hex::encode(md5::Md5::digest(&archive))
    };
    let sha = Digest::of_bytes(&archive);
    let mut m = mocks();
    new_release_stored(&mut m);
    m.packages
        .expect_create()
        .withf(move |r| {
            r.name == "aa-demo"
                && r.version == "1.0.0"
                && r.key == "aa-demo/1.0.0"
                && r.path == "v3/files/aa-demo-1.0.0.tar.gz"
                && r.meta["md5"] == md5
                && r.meta["metadata"]["dependencies"][0]["name"] == "bb-base"
        })
        .times(1)
        .returning(|_| Ok(()));
    m.files
        .expect_upsert()
        .withf(move |f| f.path == "v3/files/aa-demo-1.0.0.tar.gz" && f.digest == sha)
        .times(1)
        .returning(|_| Ok(()));
    let (svc, _dir) = service(m, PackageType::Puppet, "forge");
    let stored = svc.upload(put("v3/files/aa-demo-1.0.0.tar.gz", archive)).await.unwrap();
    assert_eq!(stored.content_type.as_deref(), Some(ARCHIVE_TYPE));
}

#[tokio::test]
async fn bad_releases_are_refused_and_nothing_is_recorded() {
    let good = module("aa-demo", "1.0.0", "aa-demo-1.0.0");
    let big = tgz(&[(
        "aa-demo-1.0.0/metadata.json",
        format!(
            r#"{{"name":"aa-demo","version":"1.0.0","summary":"{}"}}"#,
            "x".repeat(1 << 20)
        )
        .as_bytes(),
    )]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "aa-demo-1.0.0.tar.gz",
            b"garbage".to_vec(),
            "not a valid module archive",
        ),
        (
            "aa-demo-1.0.0.tar.gz",
            good[..good.len() / 2].to_vec(),
            "not a valid module archive",
        ),
        ("aa-demo-2.0.0.tar.gz", good.clone(), "does not match"),
        (
            "aa-demo-2.0.0.tar.gz",
            module("aa-demo", "2.0.0", "aa-demo-1.0.0"),
            "directory 'aa-demo-1.0.0'",
        ),
        (
            "aa-demo-1.0.0.tar.gz",
            tgz(&[("aa-demo-1.0.0/../../etc/x", b"x")]),
            "outside",
        ),
        (
            "aa-demo-1.0.0.tar.gz",
            tgz(&[("aa-demo-1.0.0/manifests/init.pp", b"x")]),
            "no aa-demo-1.0.0/metadata.json",
        ),
        (
            "aa-demo-1.0.0.tar.gz",
            tgz(&[("aa-demo-1.0.0/metadata.json", b"{}"), ("other/x", b"x")]),
            "members under both",
        ),
        (
            "aa-demo-1.0.0.tar.gz",
            module("aa-demo", "1.0", "aa-demo-1.0.0"),
            "SemVer",
        ),
        ("aa-demo-1.0.0.tar.gz", big, "larger than"),
        ("demo.tar.gz", good.clone(), "not a module release archive"),
        ("v3/files/sub/aa-demo-1.0.0.tar.gz", good, "PUT a release to"),
    ];
    for (path, data, why) in cases {
        let mut m = mocks();
        m.packages.expect_by_path().returning(|_, _| Ok(None));
        m.blobs.expect_stat().returning(|_| Ok(None));
        let (svc, _dir) = service(m, PackageType::Puppet, "forge");
        let err = svc.upload(put(path, data)).await.unwrap_err();
        assert!(
            matches!(&err, HostedError::InvalidPackage(m) if m.contains(why)),
            "{path} ({why}): {err}"
        );
    }
}

/// A release whose archive holds a symbolic link to `target`.
fn with_link(target: &str) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let metadata = br#"{"name":"aa-demo","version":"1.0.0"}"#;
    let mut header = tar::Header::new_gnu();
    header.set_size(metadata.len() as u64);
    header.set_mode(0o644);
    tar.append_data(&mut header, "aa-demo-1.0.0/metadata.json", &metadata[..])
        .unwrap();
    let mut link = tar::Header::new_gnu();
    link.set_entry_type(tar::EntryType::Symlink);
    link.set_size(0);
    link.set_mode(0o777);
    tar.append_link(&mut link, "aa-demo-1.0.0/files/link", target).unwrap();
    tar.into_inner().unwrap().finish().unwrap()
}

#[tokio::test]
async fn links_out_of_the_release_are_refused() {
    for target in ["../../../etc/passwd", "/etc/passwd"] {
        let mut m = mocks();
        m.packages.expect_by_path().returning(|_, _| Ok(None));
        let (svc, _dir) = service(m, PackageType::Puppet, "forge");
        let err = svc
            .upload(put("aa-demo-1.0.0.tar.gz", with_link(target)))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, HostedError::InvalidPackage(m) if m.contains("not a file, a directory or a link inside")),
            "{target}: {err}"
        );
    }
    // A link inside the release is fine.
    let mut m = mocks();
    new_release_stored(&mut m);
    m.packages.expect_create().times(1).returning(|_| Ok(()));
    m.files.expect_upsert().times(1).returning(|_| Ok(()));
    let (svc, _dir) = service(m, PackageType::Puppet, "forge");
    svc.upload(put("aa-demo-1.0.0.tar.gz", with_link("../manifests/init.pp")))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_version_already_there_is_a_conflict_before_the_body_is_read() {
    let mut m = mocks();
    m.packages
        .expect_by_path()
        .withf(|_, p| p == "v3/files/aa-demo-1.0.0.tar.gz")
        .returning(|_, _| Ok(Some(record("1.0.0"))));
    let (svc, _dir) = service(m, PackageType::Puppet, "forge");
    let err = svc
        .upload(put("aa-demo-1.0.0.tar.gz", b"unread".to_vec()))
        .await
        .unwrap_err();
    assert!(matches!(err, HostedError::AlreadyExists(_)), "{err}");
}

#[tokio::test]
async fn the_api_is_rendered_from_the_records() {
    let mut m = mocks();
    m.packages
        .expect_all()
        .returning(|_| Ok(vec![record("1.0.0"), record("1.1.0")]));
    m.packages.expect_files().returning(|_, name| {
        Ok(if name == "aa-demo" {
            vec![record("1.0.0"), record("1.1.0")]
        } else {
            vec![]
        })
    });
    let (svc, _dir) = service(m, PackageType::Puppet, "forge");
    let read = |path: &'static str, query: Option<&'static str>| {
        let svc = &svc;
        async move {
            let request = ReadRequest {
                query,
                ..ReadRequest::default()
            };
            match svc
                .read_local("forge", &ArtifactPath::parse(path).unwrap(), request)
                .await
            {
                Ok(LocalRead::Page(page)) => {
                    assert_eq!(page.content_type, JSON_TYPE);
                    Ok(serde_json::from_slice::<serde_json::Value>(&page.body).unwrap())
                }
                Ok(_) => panic!("{path}: not a page"),
                Err(e) => Err(e),
            }
        }
    };
    let releases = read("v3/releases", Some("module=aa-demo&sort_by=version"))
        .await
        .unwrap();
    assert_eq!(releases["pagination"]["total"], 2);
    assert_eq!(releases["results"][0]["slug"], release_slug("aa-demo", "1.1.0"));
    assert_eq!(releases["results"][0]["file_uri"], "/v3/files/aa-demo-1.1.0.tar.gz");
    assert_eq!(releases["results"][0]["file_md5"], "m");
    assert_eq!(read("v3/releases", None).await.unwrap()["pagination"]["total"], 2);
    let one = read("v3/releases/aa-demo-1.0.0", None).await.unwrap();
    assert_eq!(one["version"], "1.0.0");
    let module = read("v3/modules/aa-demo", None).await.unwrap();
    assert_eq!(module["current_release"]["version"], "1.1.0");
    for missing in [
        "v3/releases/aa-demo-9.0.0",
        "v3/modules/zz-none",
        "v3/users/aa",
        "index.yaml",
    ] {
        assert!(
            matches!(read(missing, None).await, Err(HostedError::NotFound(_))),
            "{missing}"
        );
    }
}

#[tokio::test]
async fn a_release_is_deleted_by_its_slug_or_its_file() {
    for path in ["v3/releases/aa-demo-1.0.0", "v3/files/aa-demo-1.0.0.tar.gz"] {
        let mut m = mocks();
        m.packages
            .expect_get()
            .withf(|_, key| key == "aa-demo/1.0.0")
            .returning(|_, _| Ok(Some(record("1.0.0"))));
        m.packages.expect_delete().times(1).returning(|_, _| Ok(true));
        m.files
            .expect_delete()
            .withf(|_, p| p == "v3/files/aa-demo-1.0.0.tar.gz")
            .times(1)
            .returning(|_, _| Ok(true));
        let (svc, _dir) = service(m, PackageType::Puppet, "forge");
        svc.delete("forge", &ArtifactPath::parse(path).unwrap()).await.unwrap();
    }
    let mut m = mocks();
    m.packages.expect_get().returning(|_, _| Ok(None));
    let (svc, _dir) = service(m, PackageType::Puppet, "forge");
    for path in ["v3/releases/aa-demo-9.0.0", "v3/modules/aa-demo"] {
        let err = svc
            .delete("forge", &ArtifactPath::parse(path).unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, HostedError::NotFound(_)), "{path}: {err}");
    }
}
