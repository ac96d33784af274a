//! Reads from docker remotes (pull-through caches of another registry), directly or as members
//! of a virtual repository: manifests, blobs and tags go through the remote engine
//! (`app::proxy`), which caches, verifies digests and answers upstream Bearer challenges.
use futures::StreamExt;
use serde::Deserialize;
use std::collections::BTreeSet;

use super::{PullSource, RegistryService};
use crate::app::hosted::ReadRequest;
use crate::app::proxy::{ProxyRead, Source};
use crate::domain::digest::Digest;
use crate::domain::error::ProxyError;
use crate::domain::path::ArtifactPath;
use crate::domain::range::ByteSpan;
use crate::domain::registry::error::RegistryError;
use crate::ports::{ByteStream, HostedFile};

/// Largest upstream tag list we read.
const MAX_TAG_LIST_BYTES: usize = 8 * 1024 * 1024;

/// What a remote member returned.
pub(super) struct RemoteRead {
    pub row: HostedFile,
    pub source: PullSource,
    pub span: Option<ByteSpan>,
    pub body: Option<ByteStream>,
}

#[derive(Deserialize)]
struct TagList {
    tags: Option<Vec<String>>,
}

/// Remote failures in registry terms; `NotFound` is the caller's to name.
pub(super) fn remote_error(e: ProxyError) -> RegistryError {
    match e {
        ProxyError::Forbidden(reason) => RegistryError::Denied(reason),
        ProxyError::UpstreamFailed(reason) => RegistryError::Upstream(reason),
        ProxyError::UpstreamTls(reason) => RegistryError::UpstreamTls(reason),
        ProxyError::NotCachedOffline(path) => {
            RegistryError::Upstream(format!("{path} is not cached and the remote is offline"))
        }
        ProxyError::RangeNotSatisfiable { size } => RegistryError::RangeNotSatisfiable { size },
        other => RegistryError::Unavailable(other.to_string()),
    }
}

impl RegistryService {
    /// Reads `path` of the remote `repo`. `Ok(None)` when the upstream does not have it.
    /// `digest` is the content's digest when the path names it (blobs, manifests by digest).
    pub(super) async fn remote_read(
        &self,
        repo: &str,
        path: &str,
        request: ReadRequest<'_>,
        digest: Option<&Digest>,
    ) -> Result<Option<RemoteRead>, RegistryError> {
        let Some(remote) = &self.remote else {
            return Ok(None);
        };
        let artifact = ArtifactPath::parse(path).map_err(|e| RegistryError::NameInvalid(e.to_string()))?;
        let read = match remote.read(repo, &artifact, request).await {
            Ok(read) => read,
            Err(ProxyError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(remote_error(e)),
        };
        let row = |digest: Digest, size: u64, content_type: Option<String>| HostedFile {
            repo: repo.to_string(),
            path: path.to_string(),
            digest,
            size,
            content_type,
            created_at: self.clock.now(),
        };
        let source = match read.source() {
            Source::Cache => PullSource::Cache,
            Source::Remote => PullSource::Remote,
        };
        let found = match (read, digest) {
            (ProxyRead::Cached { object, span, body, .. }, _) => RemoteRead {
                row: HostedFile {
                    created_at: object.fetched_at,
                    ..row(object.digest, object.size, object.content_type)
                },
                source,
                span,
                body,
            },
            (ProxyRead::NotModified(object), _) => RemoteRead {
                row: row(object.digest, object.size, object.content_type),
                source,
                span: None,
                body: None,
            },
            // A HEAD miss of a blob is answered by the upstream (nothing cached); the path names
            // the digest. Paths with a digest never stream while fetching: they are verified first.
            (
                ProxyRead::UpstreamHead {
                    size: Some(size),
                    content_type,
                },
                Some(digest),
            ) => RemoteRead {
                row: row(digest.clone(), size, content_type),
                source,
                span: None,
                body: None,
            },
            _ => {
                return Err(RegistryError::Unavailable(format!(
                    "remote answered {path} without a stored copy"
                )));
            }
        };
        Ok(Some(found))
    }

    /// The tags of `image` in the remote `repo`; `None` when the upstream does not know it.
    pub(super) async fn remote_tags(&self, repo: &str, image: &str) -> Result<Option<BTreeSet<String>>, RegistryError> {
        let Some(remote) = &self.remote else {
            return Ok(None);
        };
        let path = format!("{image}/tags/list");
        let artifact = ArtifactPath::parse(&path).map_err(|e| RegistryError::NameInvalid(e.to_string()))?;
        let mut body = match remote.read(repo, &artifact, ReadRequest::default()).await {
            Ok(ProxyRead::Cached { body: Some(body), .. }) | Ok(ProxyRead::Streaming { body, .. }) => body,
            Ok(_) => return Ok(Some(BTreeSet::new())),
            Err(ProxyError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(remote_error(e)),
        };
        let mut buffer = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| RegistryError::Upstream(e.to_string()))?;
            if buffer.len() + chunk.len() > MAX_TAG_LIST_BYTES {
                return Err(RegistryError::Upstream("upstream tag list too large".into()));
            }
            buffer.extend_from_slice(&chunk);
        }
        let list: TagList =
            serde_json::from_slice(&buffer).map_err(|e| RegistryError::Upstream(format!("upstream tag list: {e}")))?;
        Ok(Some(list.tags.unwrap_or_default().into_iter().collect()))
    }
}
