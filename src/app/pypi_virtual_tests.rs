//! The virtual's use cases over mocks. The remote service is built on mocks that expect
//! nothing, so any question asked of a remote member fails the test: that is how the guard is
//! shown to keep remotes out.
use std::sync::Arc;

use super::*;
use crate::app::cas::ContentStore;
use crate::app::hosted::HostedPorts;
use crate::app::proxy::{ProxyConfig, RemotePorts};
use crate::domain::repository::{LocalSettings, ManagedBy, RemoteSettings, RepoName, Repository};
use crate::ports::artifact_index::MockArtifactIndex;
use crate::ports::blob_records::MockBlobRecords;
use crate::ports::blob_store::MockBlobStore;
use crate::ports::clock::MockClock;
use crate::ports::credentials::MockSigningKeys;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;
use crate::ports::repository_catalog::MockRepositoryCatalog;
use crate::ports::telemetry::MockProxyTelemetry;
use crate::ports::ttl_cache::MockTtlCache;
use crate::ports::upstream::MockUpstream;
use crate::ports::{Clock, RepositoryCatalog};

fn repo(name: &str, settings: KindSettings) -> Repository {
    Repository {
        name: RepoName::new(name).unwrap(),
        package: PackageType::Pypi,
        settings,
        managed_by: ManagedBy::Api,
    }
}

fn remote_settings() -> RemoteSettings {
    RemoteSettings {
        base_url: "http://127.0.0.1:9/pypi".into(),
        username: None,
        password: None,
        mutable_ttl: 300,
        immutable_ttl: 0,
        patterns: vec![],
        blocklist: vec![],
        mutable_patterns: vec![],
        immutable_patterns: vec![],
        ban_tags: vec![],
        offline: false,
        tls: Default::default(),
        max_bytes: None,
        unused_days: None,
    }
}

/// `py` over `py-remote` then `py-local` (a remote first, so the guard is what keeps it out),
/// and `public` over the remote alone.
fn catalog() -> MockRepositoryCatalog {
    let members = |names: &[&str]| names.iter().map(|n| RepoName::new(n).unwrap()).collect();
    let repos = [
        repo(
            "py",
            KindSettings::Virtual(VirtualSettings::new(members(&["py-remote", "py-local", "gone"]))),
        ),
        repo(
            "public",
            KindSettings::Virtual(VirtualSettings::new(members(&["py-remote"]))),
        ),
        repo("py-local", KindSettings::Local(LocalSettings::default())),
        repo("py-remote", KindSettings::Remote(remote_settings())),
    ];
    let mut c = MockRepositoryCatalog::new();
    c.expect_get()
        .returning(move |name| Ok(repos.iter().find(|r| r.name.as_str() == name).cloned()));
    c
}

fn clock() -> Arc<dyn Clock> {
    let mut c = MockClock::new();
    c.expect_now().returning(chrono::Utc::now);
    Arc::new(c)
}

fn record(name: &str, filename: &str) -> PackageRecord {
    PackageRecord {
        repo: "py-local".into(),
        name: name.into(),
        version: "1.0".into(),
        key: filename.into(),
        filename: filename.into(),
        path: format!("packages/{name}/{filename}"),
        digest: Digest::of_bytes(b"wheel"),
        size: 5,
        meta: serde_json::json!({}),
        created_at: chrono::Utc::now(),
    }
}

fn hosted() -> HostedService {
    let mut packages = MockHostedPackages::new();
    packages.expect_files().returning(|repo, name| {
        assert_eq!(repo, "py-local", "only the local member's records are read");
        Ok(match name {
            "internal" => vec![record("internal", "internal-1.0-py3-none-any.whl")],
            _ => vec![],
        })
    });
    let dir = std::env::temp_dir().join("artifactapi-pypi-virtual-tests");
    let cas = ContentStore::new(
        Arc::new(MockBlobStore::new()),
        Arc::new(MockBlobRecords::new()),
        clock(),
        dir,
    );
    HostedService::new(
        HostedPorts {
            catalog: Arc::new(catalog()) as Arc<dyn RepositoryCatalog>,
            files: Arc::new(MockHostedFiles::new()),
            packages: Arc::new(packages),
            blobs: Arc::new(MockBlobStore::new()),
            cas: Arc::new(cas),
            clock: clock(),
        },
        1 << 20,
    )
}

/// A remote service whose every port expects nothing.
fn untouchable_remote() -> RemoteService {
    let cas = ContentStore::new(
        Arc::new(MockBlobStore::new()),
        Arc::new(MockBlobRecords::new()),
        clock(),
        std::env::temp_dir().join("artifactapi-pypi-virtual-tests"),
    );
    RemoteService::new(
        RemotePorts {
            catalog: Arc::new(MockRepositoryCatalog::new()),
            index: Arc::new(MockArtifactIndex::new()),
            blobs: Arc::new(MockBlobStore::new()),
            cas: Arc::new(cas),
            cache: Arc::new(MockTtlCache::new()),
            upstream: Arc::new(MockUpstream::new()),
            clock: clock(),
            signing: Arc::new(MockSigningKeys::new()),
            telemetry: Arc::new(MockProxyTelemetry::new()),
            events: Arc::new(crate::app::events::EventBus::new(
                Arc::new(MockTtlCache::new()),
                clock(),
            )),
        },
        ProxyConfig::default(),
    )
}

fn path(p: &str) -> ArtifactPath {
    ArtifactPath::parse(p).unwrap()
}

#[tokio::test]
async fn a_local_project_page_never_asks_the_remote_member() {
    let (hosted, remote) = (hosted(), untouchable_remote());
    let read = PypiVirtual::new(&hosted, &remote)
        .read("py", &path("simple/internal/"), ReadRequest::default())
        .await
        .unwrap();
    let VirtualRead::Page { page, members, local } = read else {
        panic!("expected a page");
    };
    assert_eq!((members, local), (vec!["py-local".to_string()], true));
    let html = String::from_utf8(page.body).unwrap();
    assert!(
        html.contains("../../_member/py-local/internal/packages/internal/internal-1.0-py3-none-any.whl#sha256="),
        "{html}"
    );
}

#[tokio::test]
async fn a_remote_file_of_a_local_project_is_not_served() {
    let (hosted, remote) = (hosted(), untouchable_remote());
    let virt = PypiVirtual::new(&hosted, &remote);
    for p in [
        "_member/py-remote/internal/_files/sig/-/https/h/internal-9.0-py3-none-any.whl",
        "_member/py-remote/internal/_files/sig/-/https/h/internal-9.0-py3-none-any.whl.metadata",
        // Not a member, and a file of another project than its link names.
        "_member/elsewhere/internal/packages/internal/internal-1.0-py3-none-any.whl",
        "_member/py-remote/other/_files/sig/-/https/h/internal-9.0-py3-none-any.whl",
    ] {
        let err = virt.read("py", &path(p), ReadRequest::default()).await.err();
        assert!(
            matches!(err, Some(VirtualError::Hosted(HostedError::NotFound(_)))),
            "{p}: {err:?}"
        );
    }
}

#[tokio::test]
async fn uploads_land_in_the_first_local_member_when_the_caller_may_write_it() {
    let (hosted, remote) = (hosted(), untouchable_remote());
    let virt = PypiVirtual::new(&hosted, &remote);
    let member_too = |r: &str| r == "py" || r == "py-local";
    assert_eq!(virt.write_target("py", &member_too).await.unwrap(), "py-local");
    let virtual_only = |r: &str| r == "py";
    let denied = virt.write_target("py", &virtual_only).await.err();
    assert!(
        matches!(&denied, Some(VirtualError::Denied { member, .. }) if member == "py-local"),
        "{denied:?}"
    );
    let none = virt.write_target("public", &|_: &str| true).await.err();
    assert!(matches!(none, Some(VirtualError::NoLocalMember(_))), "{none:?}");
    let not_virtual = virt.write_target("py-local", &|_: &str| true).await.err();
    assert!(
        matches!(not_virtual, Some(VirtualError::Hosted(HostedError::WrongKind { .. }))),
        "{not_virtual:?}"
    );
}
