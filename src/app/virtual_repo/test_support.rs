//! Scaffolding of the virtual use-case tests: repositories, a clock, a hosted service over
//! given catalog and package mocks, and a remote service that must never be asked anything.
use std::sync::Arc;

use crate::app::cas::ContentStore;
use crate::app::hosted::{HostedPorts, HostedService};
use crate::app::proxy::{ProxyConfig, RemotePorts, RemoteService};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::{KindSettings, ManagedBy, PackageType, RemoteSettings, RepoName, Repository};
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

pub fn repo(name: &str, package: PackageType, settings: KindSettings) -> Repository {
    Repository {
        name: RepoName::new(name).unwrap(),
        package,
        settings,
        managed_by: ManagedBy::Api,
    }
}

pub fn members(names: &[&str]) -> Vec<RepoName> {
    names.iter().map(|n| RepoName::new(n).unwrap()).collect()
}

/// A catalog holding `repos`.
pub fn catalog(repos: Vec<Repository>) -> MockRepositoryCatalog {
    let mut c = MockRepositoryCatalog::new();
    c.expect_get()
        .returning(move |name| Ok(repos.iter().find(|r| r.name.as_str() == name).cloned()));
    c
}

pub fn remote_settings() -> RemoteSettings {
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

pub fn clock() -> Arc<dyn Clock> {
    let mut c = MockClock::new();
    c.expect_now().returning(chrono::Utc::now);
    Arc::new(c)
}

/// A hosted service over `catalog` and `packages` (and `files`); its other ports expect nothing.
pub fn hosted(catalog: MockRepositoryCatalog, packages: MockHostedPackages, files: MockHostedFiles) -> HostedService {
    let cas = ContentStore::new(
        Arc::new(MockBlobStore::new()),
        Arc::new(MockBlobRecords::new()),
        clock(),
        std::env::temp_dir().join("artifactapi-virtual-tests"),
    );
    HostedService::new(
        HostedPorts {
            catalog: Arc::new(catalog) as Arc<dyn RepositoryCatalog>,
            files: Arc::new(files),
            packages: Arc::new(packages),
            blobs: Arc::new(MockBlobStore::new()),
            cas: Arc::new(cas),
            clock: clock(),
        },
        1 << 20,
    )
}

/// A remote service whose every port expects nothing.
pub fn untouchable_remote() -> RemoteService {
    let cas = ContentStore::new(
        Arc::new(MockBlobStore::new()),
        Arc::new(MockBlobRecords::new()),
        clock(),
        std::env::temp_dir().join("artifactapi-virtual-tests"),
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

pub fn path(p: &str) -> ArtifactPath {
    ArtifactPath::parse(p).unwrap()
}
