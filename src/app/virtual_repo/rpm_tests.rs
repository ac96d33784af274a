//! The rpm virtual over mocks: repodata merged from a local member's records with every package
//! linked through the virtual, files read from the member a link names; the remote service
//! expects nothing, so the local-only virtual is shown never to ask it.
use super::super::test_support::{self, members, path, remote_settings, repo, untouchable_remote};
use super::*;
use crate::app::hosted::ReadOutcome;
use crate::domain::digest::Digest;
use crate::domain::formats::rpm::hosted::read_package;
use crate::domain::repository::{KindSettings, LocalSettings, VirtualSettings};
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;
use crate::ports::{HostedFile, PackageRecord};
use std::sync::{Arc, Mutex};

const FIXTURE: &[u8] = include_bytes!("../../domain/formats/rpm/testdata/aafix-1.5-3.noarch.rpm");

fn record() -> PackageRecord {
    let package = read_package(&mut std::io::Cursor::new(FIXTURE)).unwrap();
    PackageRecord {
        repo: "el-local".into(),
        name: package.name.clone(),
        version: package.evr(),
        key: package.nevra(),
        filename: package.file_name(),
        path: format!("Packages/{}", package.file_name()),
        digest: Digest::of_bytes(FIXTURE),
        size: FIXTURE.len() as u64,
        meta: serde_json::to_value(&package).unwrap(),
        created_at: chrono::Utc::now(),
    }
}

/// `el` over `el-local`, `el-all` over it and `el-remote`; `files.get` answers every path as
/// stored, and records what was asked.
fn hosted(asked: Arc<Mutex<Vec<(String, String)>>>) -> HostedService {
    let rpm = PackageType::Rpm;
    let catalog = test_support::catalog(vec![
        repo(
            "el",
            rpm,
            KindSettings::Virtual(VirtualSettings::new(members(&["el-local", "gone"]))),
        ),
        repo(
            "el-all",
            rpm,
            KindSettings::Virtual(VirtualSettings::new(members(&["el-local", "el-remote"]))),
        ),
        repo("el-local", rpm, KindSettings::Local(LocalSettings::default())),
        repo("el-remote", rpm, KindSettings::Remote(remote_settings())),
    ]);
    let mut packages = MockHostedPackages::new();
    packages.expect_all().returning(|repo| {
        assert_eq!(repo, "el-local");
        Ok(vec![record()])
    });
    packages.expect_files().returning(|repo, name| {
        assert_eq!(repo, "el-local");
        Ok(if name == "aafix" { vec![record()] } else { vec![] })
    });
    let mut files = MockHostedFiles::new();
    files.expect_list().returning(|_, _| Ok(vec![]));
    files.expect_get().returning(move |repo, path| {
        asked.lock().unwrap().push((repo.to_string(), path.to_string()));
        Ok(Some(HostedFile {
            repo: repo.into(),
            path: path.into(),
            digest: Digest::of_bytes(b"x"),
            size: 1,
            content_type: None,
            created_at: chrono::Utc::now(),
        }))
    });
    test_support::hosted(catalog, packages, files)
}

#[tokio::test]
async fn repomd_merges_the_local_member_and_links_packages_through_the_virtual() {
    let asked = Arc::default();
    let (hosted, remote) = (hosted(Arc::clone(&asked)), untouchable_remote());
    let read = RpmVirtual::new(&hosted, &remote)
        .read("el", &path("repodata/repomd.xml"), ReadRequest::default())
        .await;
    let Ok(VirtualRead::Page { page, members, local }) = read else {
        panic!("repomd.xml is a merged page");
    };
    assert_eq!((members, local), (vec!["el-local".to_string()], true));
    let repomd = String::from_utf8(page.body).unwrap();
    let hrefs = crate::domain::formats::rpm::merge::repomd_hrefs(&repomd);
    assert_eq!(hrefs.len(), 3);
    // Each data file was looked up under the virtual's name (stored there before answering).
    let asked = asked.lock().unwrap();
    for (_, href) in hrefs {
        assert!(asked.contains(&("el".to_string(), href.clone())), "{href}: {asked:?}");
    }
}

#[tokio::test]
async fn member_links_read_the_member_and_unknown_ones_are_404() {
    let (hosted, remote) = (hosted(Arc::default()), untouchable_remote());
    let virtual_repo = RpmVirtual::new(&hosted, &remote);
    let head = || ReadRequest {
        head_only: true,
        ..ReadRequest::default()
    };
    let read = virtual_repo
        .read("el", &path("_member/el-local/Packages/aafix-1.5-3.noarch.rpm"), head())
        .await;
    let Ok(VirtualRead::Local {
        member,
        outcome: ReadOutcome::Content { file, .. },
    }) = read
    else {
        panic!("a local member's file");
    };
    assert_eq!((member.as_str(), file.repo.as_str()), ("el-local", "el-local"));
    for bad in [
        "_member/gone/a.rpm",
        "_member/nobody/a.rpm",
        "aafix-1.5-3.noarch.rpm",
        "repodata/other.xml",
    ] {
        assert!(
            matches!(
                virtual_repo.read("el", &path(bad), head()).await,
                Err(VirtualError::Hosted(HostedError::NotFound(_)))
            ),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_guard_keeps_a_remote_file_of_a_local_name_away() {
    let (hosted, remote) = (hosted(Arc::default()), untouchable_remote());
    // The remote service expects nothing: asking it would fail the test.
    let read = RpmVirtual::new(&hosted, &remote)
        .read(
            "el-all",
            &path("_member/el-remote/x/aafix-9.0-1.noarch.rpm"),
            ReadRequest::default(),
        )
        .await;
    assert!(
        matches!(read, Err(VirtualError::Hosted(HostedError::NotFound(_)))),
        "{:?}",
        read.as_ref().err()
    );
}

#[test]
fn package_names_of_file_names() {
    let table = [
        ("a/aafix-1.5-3.noarch.rpm", Some("aafix")),
        ("python3-foo-bar-1.0-1.el9.x86_64.rpm", Some("python3-foo-bar")),
        ("aafix.rpm", None),
        ("aafix-1.0-1.noarch.deb", None),
    ];
    for (path, name) in table {
        assert_eq!(package_name(path), name, "{path}");
    }
}
