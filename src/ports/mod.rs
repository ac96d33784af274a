//! Port traits: what the core needs from the outside world, one small trait per role (DESIGN §4).
//! Each states its contract; adapters implement them and one contract suite per port
//! (`tests/contract_*.rs`) runs against every adapter.
pub mod apk_signer;
pub mod artifact_index;
pub mod blob_records;
pub mod blob_store;
pub mod clock;
pub mod credentials;
pub mod error;
pub mod hosted_files;
pub mod hosted_packages;
pub mod local_disk;
pub mod release_signer;
pub mod repository_admin;
pub mod repository_catalog;
pub mod stream;
pub mod telemetry;
pub mod ttl_cache;
pub mod upload_sessions;
pub mod upstream;

pub use apk_signer::ApkSigner;
pub use artifact_index::{AccessCursor, ArtifactIndex, CacheClass, CachedObject};
pub use blob_records::{BlobRecord, BlobRecords};
pub use blob_store::{BlobMeta, BlobObject, BlobStore, ListedKey};
pub use clock::Clock;
pub use credentials::{Credentials, SigningKey, SigningKeys, TokenRecord};
pub use error::PortError;
pub use hosted_files::{HostedFile, HostedFiles};
pub use hosted_packages::{HostedPackages, PackageRecord};
pub use local_disk::LocalDisk;
pub use release_signer::ReleaseSigner;
pub use repository_admin::RepositoryAdmin;
pub use repository_catalog::RepositoryCatalog;
pub use stream::ByteStream;
pub use telemetry::{GcTelemetry, ProxyCounts, ProxyTelemetry, RetentionTelemetry};
pub use ttl_cache::{Lease, TtlCache};
pub use upload_sessions::{UploadSession, UploadSessions};
pub use upstream::{Method, Upstream, UpstreamRequest, UpstreamResponse};

/// A page of a listing ordered by a string key; `after` is the last key of the previous page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub prefix: String,
    pub after: Option<String>,
    pub limit: u64,
}

/// How much a repository holds: rows and the bytes they name (shared blobs counted per row).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub objects: u64,
    pub bytes: u64,
}
