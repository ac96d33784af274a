//! The Go virtual's use cases over mocks, with a remote member that must never be asked: the
//! guard keeps it out of a module a local member holds.
use super::super::test_support::{self, members, path, remote_settings, repo, untouchable_remote};
use super::*;
use crate::domain::repository::{KindSettings, LocalSettings, VirtualSettings};
use crate::ports::PackageRecord;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;

fn record(version: &str, kind: &str) -> PackageRecord {
    PackageRecord {
        repo: "gol".into(),
        name: "example.test/Lib".into(),
        version: version.into(),
        key: format!("example.test/Lib@{version}.{kind}"),
        filename: format!("{version}.{kind}"),
        path: format!("example.test/!lib/@v/{version}.{kind}"),
        digest: Digest::of_bytes(b"x"),
        size: 1,
        meta: serde_json::json!({"kind": kind}),
        created_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    }
}

fn hosted() -> HostedService {
    let go = PackageType::Goproxy;
    let catalog = test_support::catalog(vec![
        repo(
            "gov",
            go,
            KindSettings::Virtual(VirtualSettings::new(members(&["gor", "gol"]))),
        ),
        repo("gol", go, KindSettings::Local(LocalSettings::default())),
        repo("gor", go, KindSettings::Remote(remote_settings())),
    ]);
    let mut packages = MockHostedPackages::new();
    packages.expect_files().returning(|repo, module| {
        assert_eq!(repo, "gol");
        Ok(match module {
            "example.test/Lib" => vec![
                record("v1.0.0", "mod"),
                record("v1.0.0", "zip"),
                record("v0.9.0", "mod"),
            ],
            _ => vec![],
        })
    });
    packages.expect_get().returning(|_, _| Ok(None));
    test_support::hosted(catalog, packages, MockHostedFiles::new())
}

#[tokio::test]
async fn a_local_module_is_listed_and_served_without_asking_the_remote() {
    let (hosted, remote) = (hosted(), untouchable_remote());
    let go = GoproxyVirtual::new(&hosted, &remote);
    let VirtualRead::Page { page, members, local } = go
        .read("gov", &path("example.test/!lib/@v/list"), ReadRequest::default())
        .await
        .unwrap()
    else {
        panic!("a page")
    };
    assert_eq!(page.body, b"v1.0.0\n");
    assert_eq!(members, ["gol"]);
    assert!(local);
    let VirtualRead::Page { page, .. } = go
        .read("gov", &path("example.test/!lib/@latest"), ReadRequest::default())
        .await
        .unwrap()
    else {
        panic!("a page")
    };
    let info: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
    assert_eq!(info["Version"], "v1.0.0");
    // A version only the remote could have: not found, the remote unasked.
    let err = go
        .read("gov", &path("example.test/!lib/@v/v9.0.0.info"), ReadRequest::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, VirtualError::Hosted(HostedError::NotFound(_))), "{err}");
    for bad in ["example.test/Lib/@v/list", "not-a-go-path"] {
        assert!(
            go.read("gov", &path(bad), ReadRequest::default()).await.is_err(),
            "{bad}"
        );
    }
}
