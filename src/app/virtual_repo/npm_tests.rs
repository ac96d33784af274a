//! The npm virtual's use cases over mocks. The remote member's service expects nothing, so any
//! question asked of it fails the test: that is how the guard is shown to keep remotes out.
use super::super::test_support::{self, members, path, remote_settings, repo, untouchable_remote};
use super::*;
use crate::domain::repository::{KindSettings, LocalSettings, VirtualSettings};
use crate::ports::PackageRecord;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;

const BASE: &str = "http://h/api/v1/virtual/npmv/";

/// `npmv` over `npm-remote` then `npm-local` (a remote first, so the guard is what keeps it
/// out); `npm-local` holds `internal@1.0.0`.
fn hosted() -> HostedService {
    let npm = PackageType::Npm;
    let catalog = test_support::catalog(vec![
        repo(
            "npmv",
            npm,
            KindSettings::Virtual(VirtualSettings::new(members(&["npm-remote", "npm-local", "py-local"]))),
        ),
        repo("npm-local", npm, KindSettings::Local(LocalSettings::default())),
        repo("npm-remote", npm, KindSettings::Remote(remote_settings())),
        repo(
            "py-local",
            PackageType::Pypi,
            KindSettings::Local(LocalSettings::default()),
        ),
    ]);
    let mut packages = MockHostedPackages::new();
    packages.expect_files().returning(|repo, name| {
        assert_eq!(repo, "npm-local", "only the npm member's records are read");
        Ok(match name {
            "internal" => vec![PackageRecord {
                repo: repo.into(),
                name: name.into(),
                version: "1.0.0".into(),
                key: "internal@1.0.0".into(),
                filename: "internal-1.0.0.tgz".into(),
                path: "internal/-/internal-1.0.0.tgz".into(),
                digest: Digest::of_bytes(b"tgz"),
                size: 3,
                meta: serde_json::json!({"dist": {"integrity": "sha512-x"}}),
                created_at: chrono::Utc::now(),
            }],
            _ => vec![],
        })
    });
    test_support::hosted(catalog, packages, MockHostedFiles::new())
}

fn request(accept: Option<&'static str>) -> ReadRequest<'static> {
    ReadRequest {
        public_base: Some(BASE),
        accept,
        ..ReadRequest::default()
    }
}

#[tokio::test]
async fn a_local_package_is_merged_from_local_members_only() {
    let (hosted, remote) = (hosted(), untouchable_remote());
    let virt = NpmVirtual::new(&hosted, &remote);
    for (accept, content_type) in [(None, "application/json"), (Some(ABBREVIATED), ABBREVIATED)] {
        let read = virt.read("npmv", &path("internal"), request(accept)).await.unwrap();
        let VirtualRead::Page { page, members, local } = read else {
            panic!("expected a packument");
        };
        assert_eq!((members, local), (vec!["npm-local".to_string()], true));
        assert_eq!(page.content_type, content_type);
        let doc: Value = serde_json::from_slice(&page.body).unwrap();
        assert_eq!(
            doc["versions"]["1.0.0"]["dist"]["tarball"],
            format!("{BASE}_member/npm-local/internal/-/internal-1.0.0.tgz")
        );
        assert_eq!(doc["dist-tags"]["latest"], "1.0.0");
    }
    let tags = virt
        .read("npmv", &path("-/package/internal/dist-tags"), request(None))
        .await
        .unwrap();
    let VirtualRead::Page { page, .. } = tags else {
        panic!("expected the dist-tags");
    };
    assert_eq!(page.body, br#"{"latest":"1.0.0"}"#);
}

#[tokio::test]
async fn a_remote_members_tarball_of_a_local_package_is_not_served() {
    let (hosted, remote) = (hosted(), untouchable_remote());
    let virt = NpmVirtual::new(&hosted, &remote);
    for p in [
        "_member/npm-remote/internal/_files/sig/-/https/h/internal-9.0.0.tgz",
        // Not a member of this virtual, and a member of another package type.
        "_member/elsewhere/internal/-/internal-1.0.0.tgz",
        "_member/py-local/internal/-/internal-1.0.0.tgz",
    ] {
        let err = virt.read("npmv", &path(p), request(None)).await.err();
        assert!(
            matches!(err, Some(VirtualError::Hosted(HostedError::NotFound(_)))),
            "{p}: {err:?}"
        );
    }
}

#[tokio::test]
async fn names_npm_would_refuse_are_not_looked_up() {
    let (hosted, remote) = (hosted(), untouchable_remote());
    let virt = NpmVirtual::new(&hosted, &remote);
    for p in ["Upper", "-/whoami", "a/b/c"] {
        let err = virt.read("npmv", &path(p), request(None)).await.err();
        assert!(
            matches!(err, Some(VirtualError::Hosted(HostedError::NotFound(_)))),
            "{p}: {err:?}"
        );
    }
}

#[tokio::test]
async fn writes_land_in_the_first_local_npm_member() {
    let hosted = hosted();
    let target = super::super::write_target(&hosted, "npmv", PackageType::Npm, &|_: &str| true).await;
    assert_eq!(target.unwrap(), "npm-local");
    let wrong_type = super::super::write_target(&hosted, "npmv", PackageType::Pypi, &|_: &str| true).await;
    assert!(
        matches!(
            wrong_type,
            Err(VirtualError::Hosted(HostedError::UnsupportedPackage(_)))
        ),
        "{wrong_type:?}"
    );
}
