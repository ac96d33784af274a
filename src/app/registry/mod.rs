//! Docker repositories as an OCI registry (DESIGN §7): blobs, chunked uploads, manifests, tags,
//! catalog and referrers for local repositories, and virtual ones resolving reads over their
//! members in order. Registry state is rows of `HostedFiles` (layout in `domain::registry::keys`)
//! over the shared CAS, so every replica sees the same registry.
mod blobs;
mod listing;
mod manifests;
pub mod pulls;
mod remote;
mod uploads;

pub use blobs::BlobRead;

/// Where a pull was answered from (sent as `X-Artifact-Source`, like the `/api/v1` reads): a
/// local repository's rows, a remote's stored copy, or the upstream itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullSource {
    Local,
    Cache,
    Remote,
}

impl PullSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PullSource::Local => "local",
            PullSource::Cache => "cache",
            PullSource::Remote => "remote",
        }
    }
}
pub use listing::{CatalogPage, TagsPage};
pub use manifests::{ManifestRead, PushedManifest};

use futures::StreamExt;
use std::sync::Arc;

use crate::app::cas::{ContentStore, IngestError};
use crate::app::proxy::RemoteService;
use crate::app::quota;
use crate::domain::digest::Digest;
use crate::domain::quota::Room;
use crate::domain::range::ByteSpan;
use crate::domain::registry::error::RegistryError;
use crate::domain::registry::path::ImageName;
use crate::domain::repository::{KindSettings, PackageType, Repository};
use crate::ports::{
    BlobStore, ByteStream, Clock, HostedFile, HostedFiles, PageRequest, PortError, RepositoryCatalog, UploadSessions,
};

/// Virtual repositories may nest; deeper chains than this are treated as a configuration error.
const MAX_VIRTUAL_DEPTH: usize = 8;
/// Page size when a use case walks a whole prefix.
const SCAN_PAGE: u64 = 1000;

pub struct RegistryPorts {
    pub catalog: Arc<dyn RepositoryCatalog>,
    pub files: Arc<dyn HostedFiles>,
    pub blobs: Arc<dyn BlobStore>,
    pub cas: Arc<ContentStore>,
    pub uploads: Arc<dyn UploadSessions>,
    pub clock: Arc<dyn Clock>,
}

pub struct RegistryService {
    /// Docker remotes are read through the pull-through engine.
    remote: Option<RemoteService>,
    catalog: Arc<dyn RepositoryCatalog>,
    files: Arc<dyn HostedFiles>,
    blobs: Arc<dyn BlobStore>,
    cas: Arc<ContentStore>,
    uploads: Arc<dyn UploadSessions>,
    clock: Arc<dyn Clock>,
    max_upload: u64,
    /// Pulls of local manifests by digest (untagged-manifest retention keeps recent ones).
    pulls: Arc<pulls::PullRecorder>,
}

/// Whether the caller may write a repository (by name); see `write_target`.
pub type MayWrite<'a> = &'a (dyn Fn(&str) -> bool + Send + Sync);

/// A checked write: the image as the client named it, and the local repository the write lands
/// in. Only `write_target` makes one, so no write skips its check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteTarget {
    pub name: ImageName,
    repo: String,
}

impl WriteTarget {
    /// The local repository written.
    pub fn repo(&self) -> &str {
        &self.repo
    }
}

/// A repository a read consults.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Member {
    Local(String),
    Remote(String),
}

pub(crate) fn unavailable(e: PortError) -> RegistryError {
    match e {
        PortError::StorageFull(m) => RegistryError::InsufficientStorage(m),
        other => RegistryError::Unavailable(other.to_string()),
    }
}

/// The error of an ingest read up to `room`'s limit: a body cut there is over the quota.
pub(crate) fn limited(e: IngestError, room: &Room, by_quota: bool) -> RegistryError {
    match (e, room.exceeded()) {
        (IngestError::TooLarge { .. }, Some(exceeded)) if by_quota => RegistryError::QuotaExceeded(exceeded),
        (e, _) => ingest_error(e),
    }
}

pub(crate) fn ingest_error(e: IngestError) -> RegistryError {
    match e {
        IngestError::TooLarge { limit } => RegistryError::TooLarge { limit },
        IngestError::Mismatch { expected, actual } => {
            RegistryError::DigestInvalid(format!("expected {expected}, content is {actual}"))
        }
        IngestError::IntegrityMismatch { expected, actual } => {
            RegistryError::DigestInvalid(format!("expected {expected}, content is {actual}"))
        }
        IngestError::Interrupted(m) => RegistryError::BlobUploadInvalid(format!("body interrupted: {m}")),
        IngestError::InsufficientStorage(m) => RegistryError::InsufficientStorage(m),
        IngestError::Unavailable(m) => RegistryError::Unavailable(m),
    }
}

impl RegistryService {
    pub fn new(ports: RegistryPorts, max_upload: u64) -> Self {
        Self {
            remote: None,
            pulls: Arc::new(pulls::PullRecorder::new(ports.files.clone(), ports.clock.clone())),
            catalog: ports.catalog,
            files: ports.files,
            blobs: ports.blobs,
            cas: ports.cas,
            uploads: ports.uploads,
            clock: ports.clock,
            max_upload,
        }
    }

    /// Notes manifest pulls in `pulls` (shared with retention, which flushes it first).
    pub fn with_pulls(mut self, pulls: Arc<pulls::PullRecorder>) -> Self {
        self.pulls = pulls;
        self
    }

    pub fn pulls(&self) -> Arc<pulls::PullRecorder> {
        self.pulls.clone()
    }

    /// Serves docker remotes (directly and as virtual members) through `remote`.
    pub fn with_remote(mut self, remote: RemoteService) -> Self {
        self.remote = Some(remote);
        self
    }

    /// The docker repository a name addresses (any kind); anything else is `NAME_UNKNOWN`.
    async fn repository(&self, name: &str) -> Result<Repository, RegistryError> {
        match self.catalog.get(name).await.map_err(unavailable)? {
            Some(repo) if repo.package == PackageType::Docker => Ok(repo),
            _ => Err(RegistryError::NameUnknown(name.to_string())),
        }
    }

    /// The repositories a read of `name` consults, in order: itself when local or remote, its
    /// members (depth first) when virtual.
    async fn members(&self, name: &ImageName) -> Result<Vec<Member>, RegistryError> {
        let root = self.repository(name.repo.as_str()).await?;
        let mut order = Vec::new();
        let mut stack = vec![(root, 0usize)];
        while let Some((repo, depth)) = stack.pop() {
            let member = match &repo.settings {
                KindSettings::Local(_) => Member::Local(repo.name.to_string()),
                KindSettings::Remote(_) => Member::Remote(repo.name.to_string()),
                KindSettings::Virtual(v) => {
                    if depth < MAX_VIRTUAL_DEPTH {
                        // Pushed in reverse so the first member is visited first.
                        for member in v.members.iter().rev() {
                            if let Ok(m) = self.repository(member.as_str()).await {
                                stack.push((m, depth + 1));
                            }
                        }
                    }
                    continue;
                }
            };
            if !order.contains(&member) {
                order.push(member);
            }
        }
        Ok(order)
    }

    /// The local repositories among `members`, in order.
    async fn read_order(&self, name: &ImageName) -> Result<Vec<String>, RegistryError> {
        Ok(self
            .members(name)
            .await?
            .into_iter()
            .filter_map(|m| match m {
                Member::Local(repo) => Some(repo),
                Member::Remote(_) => None,
            })
            .collect())
    }

    /// Where a write to `name` lands, checked against what the caller may write.
    ///
    /// The rule for every virtual repository (docker here, every hosted format as it gains
    /// virtuals): a write or delete *through* a virtual lands in one member (the first local
    /// one), and needs the write scope on that member, not only on the virtual; a token scoped
    /// to the virtual alone cannot reach into a member it could not write directly. Reads
    /// through a virtual need only the read scope on the virtual: serving its members is what a
    /// virtual is for. Other paths that name a member (a mount's `from`, the catalog) are checked
    /// against the member itself. Remote repositories are pull-through only.
    pub async fn write_target(&self, name: &ImageName, may_write: MayWrite<'_>) -> Result<WriteTarget, RegistryError> {
        let repo = self.repository(name.repo.as_str()).await?;
        let target =
            match &repo.settings {
                KindSettings::Local(_) => repo.name.to_string(),
                KindSettings::Virtual(_) => self.read_order(name).await?.into_iter().next().ok_or_else(|| {
                    RegistryError::Unsupported(format!("virtual '{}' has no local member", repo.name))
                })?,
                KindSettings::Remote(_) => {
                    return Err(RegistryError::Unsupported(format!(
                        "'{}' is a remote (pull-through) repository; push to a local one",
                        repo.name
                    )));
                }
            };
        if !may_write(&target) {
            return Err(RegistryError::Denied(format!(
                "writes through '{}' land in '{target}', which this token may not write",
                repo.name
            )));
        }
        Ok(WriteTarget {
            name: name.clone(),
            repo: target,
        })
    }

    /// The first of `repos` holding the row `path`.
    async fn find_row(&self, repos: &[String], path: &str) -> Result<Option<HostedFile>, RegistryError> {
        for repo in repos {
            if let Some(row) = self.files.get(repo, path).await.map_err(unavailable)? {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// Every row of `repo` under `prefix`, page by page.
    async fn scan(&self, repo: &str, prefix: &str) -> Result<Vec<HostedFile>, RegistryError> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = PageRequest {
                prefix: prefix.to_string(),
                after: after.clone(),
                limit: SCAN_PAGE,
            };
            let rows = self.files.list(repo, &page).await.map_err(unavailable)?;
            let full = rows.len() as u64 == SCAN_PAGE;
            after = rows.last().map(|r| r.path.clone());
            all.extend(rows);
            if !full {
                return Ok(all);
            }
        }
    }

    /// Opens a stored blob (or a span of it). A row whose blob is gone is a storage fault, not
    /// a client error.
    async fn open_stored(
        &self,
        digest: &Digest,
        span: Option<ByteSpan>,
    ) -> Result<crate::ports::BlobObject, RegistryError> {
        self.blobs.get(&digest.blob_key(), span).await.map_err(|e| match e {
            PortError::NotFound => RegistryError::Unavailable(format!("blob {digest} missing from the blob store")),
            other => unavailable(other),
        })
    }

    /// Reads a stored manifest (at most `MAX_MANIFEST_BYTES`, enforced at push) into memory.
    async fn read_small(&self, digest: &Digest) -> Result<Vec<u8>, RegistryError> {
        let object = self.open_stored(digest, None).await?;
        let mut body = object.body;
        let mut out = Vec::with_capacity(object.meta.size as usize);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| RegistryError::Unavailable(e.to_string()))?;
            if (out.len() + chunk.len()) as u64 > crate::domain::registry::manifest::MAX_MANIFEST_BYTES {
                return Err(RegistryError::Unavailable(format!(
                    "stored manifest {digest} is too large"
                )));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The room the local repository `repo` has left under its `quota_bytes`.
    async fn room(&self, repo: &str) -> Result<Room, RegistryError> {
        match self.catalog.get(repo).await.map_err(unavailable)? {
            Some(repository) => quota::room(self.files.as_ref(), &repository).await.map_err(unavailable),
            None => Ok(Room::Unlimited),
        }
    }

    async fn put_row(
        &self,
        repo: &str,
        path: String,
        digest: &Digest,
        size: u64,
        content_type: Option<String>,
    ) -> Result<(), RegistryError> {
        let row = HostedFile {
            repo: repo.to_string(),
            path,
            digest: digest.clone(),
            size,
            content_type,
            created_at: self.clock.now(),
        };
        self.files.upsert(&row).await.map_err(unavailable)
    }
}

fn once(bytes: Vec<u8>) -> ByteStream {
    Box::pin(futures::stream::once(async move { Ok(bytes::Bytes::from(bytes)) }))
}

#[cfg(test)]
mod tests;
