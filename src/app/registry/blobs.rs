//! Blob reads, deletes and cross-repository mounts.
use super::{Member, PullSource, RegistryService, WriteTarget, unavailable};
use crate::app::hosted::ReadRequest;
use crate::domain::digest::Digest;
use crate::domain::range::{ByteSpan, RangeRequest, resolve_range};
use crate::domain::registry::error::RegistryError;
use crate::domain::registry::keys;
use crate::domain::registry::path::ImageName;
use crate::ports::{ByteStream, HostedFile};

/// A blob found in a repository; `body` is `None` for HEAD.
pub struct BlobRead {
    /// `row.repo` is the member that answered (differs from the name's on a virtual).
    pub row: HostedFile,
    pub source: PullSource,
    pub span: Option<ByteSpan>,
    pub body: Option<ByteStream>,
}

impl RegistryService {
    /// The blob's row in the first local repository (in read order) that links it. Manifests
    /// are blobs too, so a manifest digest is found as well.
    async fn blob_row(&self, name: &ImageName, digest: &Digest) -> Result<Option<HostedFile>, RegistryError> {
        let order = self.read_order(name).await?;
        if let Some(row) = self.find_row(&order, &keys::blob_link(&name.image, digest)).await? {
            return Ok(Some(row));
        }
        self.find_row(&order, &keys::manifest_row(&name.image, digest)).await
    }

    /// The blob from the first member that has it: local rows first in member order, remotes
    /// through the pull-through engine.
    pub async fn read_blob(
        &self,
        name: &ImageName,
        digest: &Digest,
        range: Option<&str>,
        head_only: bool,
    ) -> Result<BlobRead, RegistryError> {
        let mut remote_failure = None;
        for member in self.members(name).await? {
            match member {
                Member::Local(repo) => {
                    let repos = [repo];
                    let found = match self.find_row(&repos, &keys::blob_link(&name.image, digest)).await? {
                        Some(row) => Some(row),
                        None => self.find_row(&repos, &keys::manifest_row(&name.image, digest)).await?,
                    };
                    if let Some(row) = found {
                        return self.open_blob(row, range, head_only).await;
                    }
                }
                Member::Remote(repo) => {
                    let path = format!("{}/blobs/{digest}", name.image);
                    let request = ReadRequest {
                        range,
                        head_only,
                        ..ReadRequest::default()
                    };
                    match self.remote_read(&repo, &path, request, Some(digest)).await {
                        Ok(Some(found)) => {
                            return Ok(BlobRead {
                                row: found.row,
                                source: found.source,
                                span: found.span,
                                body: found.body,
                            });
                        }
                        Ok(None) => {}
                        Err(e) => remote_failure = Some(e),
                    }
                }
            }
        }
        match remote_failure {
            // A HEAD is an existence check (clients ask before pushing): a remote member that
            // cannot answer means "not here", so the push goes ahead.
            Some(e) if head_only => {
                tracing::warn!(error = %e, %digest, "remote member failed during a blob HEAD");
                Err(RegistryError::BlobUnknown(digest.to_string()))
            }
            Some(e) => Err(e),
            None => Err(RegistryError::BlobUnknown(digest.to_string())),
        }
    }

    async fn open_blob(
        &self,
        row: HostedFile,
        range: Option<&str>,
        head_only: bool,
    ) -> Result<BlobRead, RegistryError> {
        let span = match resolve_range(range, row.size) {
            RangeRequest::Full => None,
            RangeRequest::Partial(span) => Some(span),
            RangeRequest::Unsatisfiable => return Err(RegistryError::RangeNotSatisfiable { size: row.size }),
        };
        if head_only {
            return Ok(BlobRead {
                row,
                source: PullSource::Local,
                span,
                body: None,
            });
        }
        let object = self.open_stored(&row.digest, span).await?;
        Ok(BlobRead {
            row,
            source: PullSource::Local,
            span,
            body: Some(object.body),
        })
    }

    /// Unlinks the blob from the image; GC reclaims the bytes once nothing references them.
    pub async fn delete_blob(&self, target: &WriteTarget, digest: &Digest) -> Result<(), RegistryError> {
        let removed = self
            .files
            .delete(target.repo(), &keys::blob_link(&target.name.image, digest))
            .await
            .map_err(unavailable)?;
        if removed {
            Ok(())
        } else {
            Err(RegistryError::BlobUnknown(digest.to_string()))
        }
    }

    /// Links a blob that `from` already holds into `name`. `Ok(false)` when `from` does not
    /// have it, and the caller falls back to a normal upload (as the spec asks). The caller has
    /// checked that the client may read `from`.
    pub async fn mount(&self, target: &WriteTarget, digest: &Digest, from: &ImageName) -> Result<bool, RegistryError> {
        let source = match self.blob_row(from, digest).await {
            Ok(Some(row)) => row,
            Ok(None) | Err(RegistryError::NameUnknown(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        self.room(target.repo()).await?.admit(Some(source.size))?;
        self.put_row(
            target.repo(),
            keys::blob_link(&target.name.image, digest),
            digest,
            source.size,
            source.content_type,
        )
        .await?;
        Ok(true)
    }
}
