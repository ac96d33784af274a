//! Blob reads, deletes and cross-repository mounts.
use super::{RegistryService, unavailable};
use crate::domain::digest::Digest;
use crate::domain::range::{ByteSpan, RangeRequest, resolve_range};
use crate::domain::registry::error::RegistryError;
use crate::domain::registry::keys;
use crate::domain::registry::path::ImageName;
use crate::ports::{ByteStream, HostedFile, PortError};

/// A blob found in a repository; `body` is `None` for HEAD.
pub struct BlobRead {
    pub row: HostedFile,
    pub span: Option<ByteSpan>,
    pub body: Option<ByteStream>,
}

impl RegistryService {
    /// The blob's row in the first repository (in read order) that links it. Manifests are
    /// blobs too, so a manifest digest is found as well.
    async fn blob_row(&self, name: &ImageName, digest: &Digest) -> Result<HostedFile, RegistryError> {
        let order = self.read_order(name).await?;
        if let Some(row) = self.find_row(&order, &keys::blob_link(&name.image, digest)).await? {
            return Ok(row);
        }
        self.find_row(&order, &keys::manifest_row(&name.image, digest))
            .await?
            .ok_or_else(|| RegistryError::BlobUnknown(digest.to_string()))
    }

    pub async fn read_blob(
        &self,
        name: &ImageName,
        digest: &Digest,
        range: Option<&str>,
        head_only: bool,
    ) -> Result<BlobRead, RegistryError> {
        let row = self.blob_row(name, digest).await?;
        let span = match resolve_range(range, row.size) {
            RangeRequest::Full => None,
            RangeRequest::Partial(span) => Some(span),
            RangeRequest::Unsatisfiable => return Err(RegistryError::RangeNotSatisfiable { size: row.size }),
        };
        if head_only {
            return Ok(BlobRead { row, span, body: None });
        }
        let object = self.blobs.get(&digest.blob_key(), span).await.map_err(|e| match e {
            PortError::NotFound => RegistryError::Unavailable(format!("blob {digest} missing from the blob store")),
            other => unavailable(other),
        })?;
        Ok(BlobRead {
            row,
            span,
            body: Some(object.body),
        })
    }

    /// Unlinks the blob from the image; GC reclaims the bytes once nothing references them.
    pub async fn delete_blob(&self, name: &ImageName, digest: &Digest) -> Result<(), RegistryError> {
        let repo = self.write_target(name).await?;
        let removed = self
            .files
            .delete(&repo, &keys::blob_link(&name.image, digest))
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
    pub async fn mount(&self, name: &ImageName, digest: &Digest, from: &ImageName) -> Result<bool, RegistryError> {
        let target = self.write_target(name).await?;
        let source = match self.blob_row(from, digest).await {
            Ok(row) => row,
            Err(RegistryError::BlobUnknown(_) | RegistryError::NameUnknown(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        self.put_row(
            &target,
            keys::blob_link(&name.image, digest),
            digest,
            source.size,
            source.content_type,
        )
        .await?;
        Ok(true)
    }
}
