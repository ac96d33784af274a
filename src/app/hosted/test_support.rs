//! Scaffolding of the hosted format tests: mocks of the ports a format's upload touches, and a
//! service over them with one local repository of the format.
use std::sync::Arc;

use super::{HostedPorts, HostedService};
use crate::app::cas::ContentStore;
use crate::domain::repository::{KindSettings, LocalSettings, ManagedBy, PackageType, RepoName, Repository};
use crate::ports::blob_records::MockBlobRecords;
use crate::ports::blob_store::MockBlobStore;
use crate::ports::clock::MockClock;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::hosted_packages::MockHostedPackages;
use crate::ports::repository_catalog::MockRepositoryCatalog;

/// The mocked ports; a test sets the expectations it means, any other call fails it.
pub struct Mocks {
    pub files: MockHostedFiles,
    pub packages: MockHostedPackages,
    pub blobs: MockBlobStore,
    pub records: MockBlobRecords,
    pub dir: tempfile::TempDir,
}

pub fn mocks() -> Mocks {
    Mocks {
        files: MockHostedFiles::new(),
        packages: MockHostedPackages::new(),
        blobs: MockBlobStore::new(),
        records: MockBlobRecords::new(),
        dir: tempfile::tempdir().unwrap(),
    }
}

/// A service over `m` whose catalog holds the local `package` repository `name` (uploads up to
/// 1 MiB), and the scratch directory its temp files go to.
pub fn service(m: Mocks, package: PackageType, name: &str) -> (HostedService, tempfile::TempDir) {
    let repo = Repository {
        name: RepoName::new(name).unwrap(),
        package,
        settings: KindSettings::Local(LocalSettings::default()),
        managed_by: ManagedBy::Api,
    };
    let mut catalog = MockRepositoryCatalog::new();
    catalog.expect_get().returning(move |_| Ok(Some(repo.clone())));
    let mut clock = MockClock::new();
    clock.expect_now().returning(chrono::Utc::now);
    let clock = Arc::new(clock);
    let cas = ContentStore::new(
        Arc::new(m.blobs),
        Arc::new(m.records),
        clock.clone(),
        m.dir.path().to_path_buf(),
    );
    let ports = HostedPorts {
        catalog: Arc::new(catalog),
        files: Arc::new(m.files),
        packages: Arc::new(m.packages),
        blobs: Arc::new(MockBlobStore::new()),
        cas: Arc::new(cas),
        clock,
    };
    (HostedService::new(ports, 1 << 20), m.dir)
}

/// A gzipped tar with the given members.
pub fn tgz(members: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        // `set_path` refuses `..`; the raw name field takes anything, as a hostile archive would.
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        tar.append(&header, *data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}
