//! The Helm virtual's use cases over mocks. The remote service is built on mocks that expect
//! nothing, so any question asked of a remote member fails the test: that is how the guard is
//! shown to keep remotes out of a chart a local member holds.
use super::super::test_support::{self, members, path, remote_settings, repo, untouchable_remote};
use super::*;
use crate::domain::repository::{KindSettings, LocalSettings, VirtualSettings};
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;
use crate::ports::{HostedFile, PackageRecord};

/// `locals` over two local members; `mixed` over the remote first, then a local member.
fn catalog() -> crate::ports::repository_catalog::MockRepositoryCatalog {
    let helm = PackageType::Helm;
    test_support::catalog(vec![
        repo(
            "locals",
            helm,
            KindSettings::Virtual(VirtualSettings::new(members(&["first", "second", "missing"]))),
        ),
        repo(
            "mixed",
            helm,
            KindSettings::Virtual(VirtualSettings::new(members(&["rem", "first"]))),
        ),
        repo("first", helm, KindSettings::Local(LocalSettings::default())),
        repo("second", helm, KindSettings::Local(LocalSettings::default())),
        repo("rem", helm, KindSettings::Remote(remote_settings())),
    ])
}

fn record(repo: &str, name: &str, version: &str) -> PackageRecord {
    PackageRecord {
        repo: repo.into(),
        name: name.into(),
        version: version.into(),
        key: format!("{name}/{version}"),
        filename: format!("{name}-{version}.tgz"),
        path: format!("charts/{name}-{version}.tgz"),
        digest: Digest::of_bytes(format!("{repo}{name}{version}").as_bytes()),
        size: 5,
        meta: serde_json::json!({"chart": {"apiVersion": "v2", "description": repo}}),
        created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

fn packages() -> MockHostedPackages {
    let mut packages = MockHostedPackages::new();
    let files = |repo: &str, name: &str| match (repo, name) {
        ("first", "demo") => vec![record("first", "demo", "1.0.0")],
        ("second", "demo") => vec![record("second", "demo", "1.0.0"), record("second", "demo", "2.0.0")],
        ("second", "web") => vec![record("second", "web", "0.1.0")],
        _ => vec![],
    };
    packages
        .expect_all()
        .returning(move |repo| Ok(["demo", "web"].into_iter().flat_map(|name| files(repo, name)).collect()));
    packages
        .expect_files()
        .returning(move |repo, name| Ok(files(repo, name)));
    packages
}

#[tokio::test]
async fn the_index_merges_local_members_first_one_winning() {
    let hosted = test_support::hosted(catalog(), packages(), MockHostedFiles::new());
    let remote = untouchable_remote();
    let read = HelmVirtual::new(&hosted, &remote)
        .read("locals", &path("index.yaml"), ReadRequest::default())
        .await
        .unwrap();
    let VirtualRead::Page { page, members, local } = read else {
        panic!("a page")
    };
    assert_eq!(members, ["first", "second"]);
    assert!(local);
    assert_eq!(page.content_type, INDEX_TYPE);
    let doc: serde_yaml::Value = serde_yaml::from_slice(&page.body).unwrap();
    let demo = doc["entries"]["demo"].as_sequence().unwrap();
    assert_eq!(demo.len(), 2);
    assert_eq!(demo[0]["version"], "2.0.0");
    assert_eq!(demo[0]["urls"][0], "_member/second/demo/charts/demo-2.0.0.tgz");
    assert_eq!(demo[1]["description"], "first", "first member wins 1.0.0");
    assert_eq!(demo[1]["urls"][0], "_member/first/demo/charts/demo-1.0.0.tgz");
    assert_eq!(
        doc["entries"]["web"][0]["urls"][0],
        "_member/second/web/charts/web-0.1.0.tgz"
    );

    let again = ReadRequest {
        if_none_match: Some(&format!("\"{}\"", page.digest)),
        ..ReadRequest::default()
    };
    assert!(matches!(
        HelmVirtual::new(&hosted, &remote)
            .read("locals", &path("index.yaml"), again)
            .await
            .unwrap(),
        VirtualRead::PageNotModified(_)
    ));
}

#[tokio::test]
async fn a_chart_a_local_member_holds_is_never_fetched_from_a_remote_member() {
    let hosted = test_support::hosted(catalog(), packages(), MockHostedFiles::new());
    let remote = untouchable_remote();
    let err = HelmVirtual::new(&hosted, &remote)
        .read(
            "mixed",
            &path("_member/rem/demo/_files/sig/demo-9.0.0.tgz"),
            ReadRequest::default(),
        )
        .await
        .err()
        .unwrap();
    assert!(matches!(err, VirtualError::Hosted(HostedError::NotFound(_))), "{err}");
}

#[tokio::test]
async fn a_local_member_serves_its_chart_and_bad_links_are_not_found() {
    let mut files = MockHostedFiles::new();
    files
        .expect_get()
        .withf(|repo, p| repo == "second" && p == "charts/web-0.1.0.tgz")
        .returning(|_, _| {
            Ok(Some(HostedFile {
                repo: "second".into(),
                path: "charts/web-0.1.0.tgz".into(),
                digest: Digest::of_bytes(b"x"),
                size: 1,
                content_type: Some("application/gzip".into()),
                created_at: chrono::Utc::now(),
            }))
        });
    let hosted = test_support::hosted(catalog(), packages(), files);
    let remote = untouchable_remote();
    let virtual_repo = HelmVirtual::new(&hosted, &remote);
    let head = ReadRequest {
        head_only: true,
        ..ReadRequest::default()
    };
    let read = virtual_repo
        .read("locals", &path("_member/second/web/charts/web-0.1.0.tgz"), head)
        .await
        .unwrap();
    assert!(matches!(read, VirtualRead::Local { member, .. } if member == "second"));
    for bad in [
        "charts/web-0.1.0.tgz",
        "_member/nobody/web/charts/web-0.1.0.tgz",
        "_member/second/web/index.yaml",
    ] {
        let err = virtual_repo
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
