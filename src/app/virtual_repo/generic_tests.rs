//! The generic virtual over mocks, with a remote member that must never be asked: the guard
//! keeps it off a path a local member holds, even when it comes first.
use super::super::test_support::{self, members, path, remote_settings, repo, untouchable_remote};
use super::*;
use crate::app::hosted::ReadOutcome;
use crate::domain::digest::Digest;
use crate::domain::repository::{KindSettings, LocalSettings, VirtualSettings};
use crate::ports::HostedFile;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;

fn hosted(virtual_members: &[&str]) -> HostedService {
    let generic = PackageType::Generic;
    let catalog = test_support::catalog(vec![
        repo(
            "gv",
            generic,
            KindSettings::Virtual(VirtualSettings::new(members(virtual_members))),
        ),
        repo("gl", generic, KindSettings::Local(LocalSettings::default())),
        repo("gr", generic, KindSettings::Remote(remote_settings())),
    ]);
    let mut files = MockHostedFiles::new();
    files.expect_get().returning(|repo, path| {
        assert_eq!(repo, "gl", "only the local member's files are looked up");
        Ok((path == "tools/a.txt").then(|| HostedFile {
            repo: repo.into(),
            path: path.into(),
            digest: Digest::of_bytes(b"a"),
            size: 1,
            content_type: None,
            created_at: chrono::Utc::now(),
        }))
    });
    test_support::hosted(catalog, MockHostedPackages::new(), files)
}

fn head() -> ReadRequest<'static> {
    ReadRequest {
        head_only: true,
        ..ReadRequest::default()
    }
}

#[tokio::test]
async fn a_path_a_local_member_holds_is_never_asked_of_an_earlier_remote() {
    let (hosted, remote) = (hosted(&["gr", "gl"]), untouchable_remote());
    let read = GenericVirtual::new(&hosted, &remote)
        .read("gv", &path("tools/a.txt"), head())
        .await
        .unwrap();
    let VirtualRead::Local { member, outcome } = read else {
        panic!("the local member answers");
    };
    assert_eq!(member, "gl");
    assert!(matches!(outcome, ReadOutcome::Content { file, .. } if file.digest == Digest::of_bytes(b"a")));
}

#[tokio::test]
async fn a_path_no_member_has_is_not_found() {
    let (hosted, remote) = (hosted(&["gl"]), untouchable_remote());
    let read = GenericVirtual::new(&hosted, &remote)
        .read("gv", &path("tools/missing.txt"), head())
        .await;
    assert!(matches!(read, Err(VirtualError::Hosted(HostedError::NotFound(_)))));
}
