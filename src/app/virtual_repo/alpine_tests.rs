//! The alpine virtual's use cases over mocks: the merged index keeps the first member's block
//! of a package, and a package file comes from the first member that has it, the remote never
//! asked for a package a local member holds.
use super::super::test_support::{self, members, path, remote_settings, repo, untouchable_remote};
use super::*;
use crate::app::hosted::ReadOutcome;
use crate::domain::digest::Digest;
use crate::domain::formats::alpine::package::read_package;
use crate::domain::repository::{KindSettings, LocalSettings, VirtualSettings};
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;
use crate::ports::{HostedFile, PackageRecord};

use crate::test_apk as apk;

fn record(repo: &str, version: &str, description: &str) -> PackageRecord {
    let info = apk::pkginfo("hello", version, "x86_64", &format!("pkgdesc = {description}\n"));
    let built = apk::build(&info, true);
    let package = read_package(&mut std::io::Cursor::new(&built.bytes)).unwrap();
    PackageRecord {
        repo: repo.into(),
        name: "hello".into(),
        version: version.into(),
        key: format!("x86_64/hello-{version}.apk"),
        filename: package.file_name(),
        path: format!("x86_64/hello-{version}.apk"),
        digest: Digest::of_bytes(&built.bytes),
        size: built.bytes.len() as u64,
        meta: serde_json::to_value(&package).unwrap(),
        created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

fn hosted() -> HostedService {
    let alpine = PackageType::Alpine;
    let catalog = test_support::catalog(vec![
        repo(
            "alpv",
            alpine,
            KindSettings::Virtual(VirtualSettings::new(members(&["alpr", "alpa", "alpb"]))),
        ),
        repo(
            "alpl",
            alpine,
            KindSettings::Virtual(VirtualSettings::new(members(&["alpa", "alpb"]))),
        ),
        repo("alpa", alpine, KindSettings::Local(LocalSettings::default())),
        repo("alpb", alpine, KindSettings::Local(LocalSettings::default())),
        repo("alpr", alpine, KindSettings::Remote(remote_settings())),
    ]);
    let mut packages = MockHostedPackages::new();
    let all = |repo: &str| match repo {
        "alpa" => vec![record("alpa", "1.0-r0", "first")],
        "alpb" => vec![record("alpb", "1.0-r0", "second"), record("alpb", "2.0-r0", "new")],
        _ => vec![],
    };
    packages.expect_all().returning(move |repo| Ok(all(repo)));
    // Every record here is of the package "hello".
    packages
        .expect_files()
        .returning(move |repo, name| Ok(if name == "hello" { all(repo) } else { vec![] }));
    let mut files = MockHostedFiles::new();
    files.expect_get().returning(|repo, path| {
        Ok(
            (repo == "alpb" && path.starts_with("x86_64/hello-2.0")).then(|| HostedFile {
                repo: repo.into(),
                path: path.into(),
                digest: Digest::of_bytes(b"x"),
                size: 1,
                content_type: None,
                created_at: chrono::Utc::now(),
            }),
        )
    });
    test_support::hosted(catalog, packages, files)
}

#[tokio::test]
async fn the_merged_index_keeps_the_first_members_block() {
    let (hosted, remote) = (hosted(), untouchable_remote());
    let alpine = AlpineVirtual::new(&hosted, &remote);
    let VirtualRead::Page { page, members, local } = alpine
        .read("alpl", &path("x86_64/APKINDEX.tar.gz"), ReadRequest::default())
        .await
        .unwrap()
    else {
        panic!("a page")
    };
    assert_eq!(page.content_type, INDEX_CONTENT_TYPE);
    assert_eq!(members, ["alpa", "alpb"]);
    assert!(local);
    let text = read_index(&page.body, 1 << 20).unwrap();
    let blocks = parse_text(&text);
    let listed: Vec<&str> = blocks.iter().map(|e| e.version.as_str()).collect();
    assert_eq!(listed, ["1.0-r0", "2.0-r0"]);
    assert!(blocks[0].text.contains("T:first"), "{text}");
}

#[tokio::test]
async fn a_file_comes_from_the_first_member_with_it_and_never_from_the_guarded_remote() {
    let (hosted, remote) = (hosted(), untouchable_remote());
    let alpine = AlpineVirtual::new(&hosted, &remote);
    let err = alpine
        .read("alpv", &path("x86_64/hello-9.0-r0.apk"), ReadRequest::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, VirtualError::Hosted(HostedError::NotFound(_))), "{err}");

    let request = ReadRequest {
        head_only: true,
        ..ReadRequest::default()
    };
    let VirtualRead::Local { member, outcome } = alpine
        .read("alpv", &path("x86_64/hello-2.0-r0.apk"), request)
        .await
        .unwrap()
    else {
        panic!("a local member's file")
    };
    assert_eq!(member, "alpb");
    assert!(matches!(outcome, ReadOutcome::Content { body: None, .. }));
}
