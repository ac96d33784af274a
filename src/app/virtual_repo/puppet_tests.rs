//! The Puppet virtual's use cases over mocks. The remote member's service expects nothing, so
//! any question asked of it fails the test: that is how the guard is shown to keep remotes out of
//! a module a local member holds.
use super::super::test_support::{self, members, path, remote_settings, repo, untouchable_remote};
use super::*;
use crate::domain::formats::puppet::hosted::{record_key, release_filename, release_path};
use crate::domain::repository::{KindSettings, LocalSettings, VirtualSettings};
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;
use crate::ports::{HostedFile, PackageRecord};
use serde_json::Value;

/// `locals` over two local members; `mixed` over the remote first, then a local member.
fn catalog() -> crate::ports::repository_catalog::MockRepositoryCatalog {
    let puppet = PackageType::Puppet;
    test_support::catalog(vec![
        repo(
            "locals",
            puppet,
            KindSettings::Virtual(VirtualSettings::new(members(&["first", "second", "missing"]))),
        ),
        repo(
            "mixed",
            puppet,
            KindSettings::Virtual(VirtualSettings::new(members(&["rem", "first"]))),
        ),
        repo("first", puppet, KindSettings::Local(LocalSettings::default())),
        repo("second", puppet, KindSettings::Local(LocalSettings::default())),
        repo("rem", puppet, KindSettings::Remote(remote_settings())),
    ])
}

fn record(repo: &str, module: &str, version: &str) -> PackageRecord {
    PackageRecord {
        repo: repo.into(),
        name: module.into(),
        version: version.into(),
        key: record_key(module, version),
        filename: release_filename(module, version),
        path: release_path(module, version),
        digest: Digest::of_bytes(format!("{repo}{module}{version}").as_bytes()),
        size: 5,
        meta: serde_json::json!({"metadata": {"name": module, "version": version, "summary": repo}, "md5": "m"}),
        created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

fn packages() -> MockHostedPackages {
    let mut packages = MockHostedPackages::new();
    let files = |repo: &str, name: &str| match (repo, name) {
        ("first", "aa-demo") => vec![record("first", "aa-demo", "1.0.0")],
        ("second", "aa-demo") => vec![
            record("second", "aa-demo", "1.0.0"),
            record("second", "aa-demo", "2.0.0"),
        ],
        ("second", "bb-base") => vec![record("second", "bb-base", "0.1.0")],
        _ => vec![],
    };
    packages.expect_all().returning(move |repo| {
        Ok(["aa-demo", "bb-base"]
            .into_iter()
            .flat_map(|name| files(repo, name))
            .collect())
    });
    packages
        .expect_files()
        .returning(move |repo, name| Ok(files(repo, name)));
    packages
}

fn page(read: VirtualRead) -> (Value, Vec<String>, bool, Digest) {
    let VirtualRead::Page { page, members, local } = read else {
        panic!("a page")
    };
    assert_eq!(page.content_type, JSON_TYPE);
    (serde_json::from_slice(&page.body).unwrap(), members, local, page.digest)
}

#[tokio::test]
async fn releases_merge_local_members_first_one_winning() {
    let hosted = test_support::hosted(catalog(), packages(), MockHostedFiles::new());
    let remote = untouchable_remote();
    let virt = PuppetVirtual::new(&hosted, &remote);
    let request = ReadRequest {
        query: Some("module=aa-demo&sort_by=version"),
        ..ReadRequest::default()
    };
    let (doc, members, local, digest) = page(virt.read("locals", &path("v3/releases"), request).await.unwrap());
    assert_eq!(members, ["first", "second"]);
    assert!(local);
    let listed: Vec<(&str, &str, &str)> = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["version"].as_str().unwrap(),
                r["metadata"]["summary"].as_str().unwrap(),
                r["file_uri"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (
                "2.0.0",
                "second",
                "/_member/second/aa-demo/v3/files/aa-demo-2.0.0.tar.gz"
            ),
            ("1.0.0", "first", "/_member/first/aa-demo/v3/files/aa-demo-1.0.0.tar.gz"),
        ]
    );

    let again = ReadRequest {
        query: Some("module=aa-demo&sort_by=version"),
        if_none_match: Some(&format!("\"{digest}\"")),
        ..ReadRequest::default()
    };
    assert!(matches!(
        virt.read("locals", &path("v3/releases"), again).await.unwrap(),
        VirtualRead::PageNotModified(_)
    ));

    let (all, _, _, _) = page(
        virt.read("locals", &path("v3/releases"), ReadRequest::default())
            .await
            .unwrap(),
    );
    assert_eq!(all["pagination"]["total"], 3, "every local release, once");
    let (module, _, _, _) = page(
        virt.read("locals", &path("v3/modules/aa-demo"), ReadRequest::default())
            .await
            .unwrap(),
    );
    assert_eq!(module["current_release"]["version"], "2.0.0");
    let (one, _, _, _) = page(
        virt.read("locals", &path("v3/releases/aa-demo-1.0.0"), ReadRequest::default())
            .await
            .unwrap(),
    );
    assert_eq!(one["metadata"]["summary"], "first");
    let redirect = virt
        .read("locals", &path("v3/files/bb-base-0.1.0.tar.gz"), ReadRequest::default())
        .await
        .unwrap();
    assert!(
        matches!(&redirect, VirtualRead::Redirect(to) if to == "_member/second/bb-base/v3/files/bb-base-0.1.0.tar.gz")
    );
}

#[tokio::test]
async fn a_module_a_local_member_holds_is_never_asked_of_a_remote_member() {
    let hosted = test_support::hosted(catalog(), packages(), MockHostedFiles::new());
    let remote = untouchable_remote();
    let virt = PuppetVirtual::new(&hosted, &remote);
    let request = ReadRequest {
        query: Some("module=aa-demo"),
        ..ReadRequest::default()
    };
    let (doc, members, _, _) = page(virt.read("mixed", &path("v3/releases"), request).await.unwrap());
    assert_eq!(members, ["first"]);
    assert_eq!(doc["pagination"]["total"], 1);
    let err = virt
        .read(
            "mixed",
            &path("_member/rem/aa-demo/_files/sig/aa-demo-9.0.0.tar.gz"),
            ReadRequest::default(),
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(err, VirtualError::Hosted(HostedError::NotFound(_))), "{err}");
}

#[tokio::test]
async fn a_local_member_serves_its_archive_and_bad_links_are_not_found() {
    let mut files = MockHostedFiles::new();
    files
        .expect_get()
        .withf(|repo, p| repo == "second" && p == "v3/files/bb-base-0.1.0.tar.gz")
        .returning(|_, _| {
            Ok(Some(HostedFile {
                repo: "second".into(),
                path: "v3/files/bb-base-0.1.0.tar.gz".into(),
                digest: Digest::of_bytes(b"x"),
                size: 1,
                content_type: Some("application/gzip".into()),
                created_at: chrono::Utc::now(),
            }))
        });
    let hosted = test_support::hosted(catalog(), packages(), files);
    let remote = untouchable_remote();
    let virt = PuppetVirtual::new(&hosted, &remote);
    let head = ReadRequest {
        head_only: true,
        ..ReadRequest::default()
    };
    let read = virt
        .read(
            "locals",
            &path("_member/second/bb-base/v3/files/bb-base-0.1.0.tar.gz"),
            head,
        )
        .await
        .unwrap();
    assert!(matches!(read, VirtualRead::Local { member, .. } if member == "second"));
    for bad in [
        "_member/nobody/bb-base/v3/files/bb-base-0.1.0.tar.gz",
        "_member/second/bb-base/v3/releases",
        "v3/releases/zz-none-1.0.0",
        "v3/modules/zz-none",
        "v3/users/aa",
    ] {
        let err = virt
            .read("locals", &path(bad), ReadRequest::default())
            .await
            .err()
            .unwrap();
        assert!(
            matches!(err, VirtualError::Hosted(HostedError::NotFound(_))),
            "{bad}: {err}"
        );
    }
}
