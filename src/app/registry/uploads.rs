//! Blob uploads: monolithic, `POST`+`PUT`, and chunked `PATCH`es (DESIGN §3). Every chunk goes
//! straight into the CAS as a blob of its own and the session lists their digests, so no replica
//! ever re-reads staged bytes to append. At commit a single-chunk upload (what docker, podman and
//! skopeo send) is already the final blob; several chunks are concatenated once.
use futures::{StreamExt, TryStreamExt};

use super::{RegistryService, WriteTarget, ingest_error, limited, once, unavailable};
use crate::app::cas::IngestOptions;
use crate::domain::digest::Digest;
use crate::domain::registry::error::RegistryError;
use crate::domain::registry::keys;
use crate::domain::registry::upload::UploadState;
use crate::ports::{ByteStream, PortError, UploadSession};

/// Abandoned uploads older than this are reaped.
pub const UPLOAD_MAX_AGE: chrono::Duration = chrono::Duration::hours(24);

impl RegistryService {
    pub async fn start_upload(&self, target: &WriteTarget) -> Result<UploadSession, RegistryError> {
        let now = self.clock.now();
        let session = UploadSession {
            id: uuid::Uuid::new_v4().to_string(),
            repo: target.repo().to_string(),
            image: target.name.image.clone(),
            state: UploadState::Started,
            parts: vec![],
            version: 0,
            created_at: now,
            updated_at: now,
        };
        self.uploads.create(&session).await.map_err(unavailable)?;
        Ok(session)
    }

    /// `POST ...?digest=` with the whole blob as the body.
    pub async fn upload_whole(
        &self,
        target: &WriteTarget,
        digest: &Digest,
        body: ByteStream,
    ) -> Result<u64, RegistryError> {
        let room = self.room(target.repo()).await?;
        room.admit(None)?;
        let (limit, by_quota) = room.limit(self.max_upload);
        let stored = self
            .cas
            .ingest(
                body,
                IngestOptions {
                    expected: Some(digest.clone()),
                    limit: Some(limit),
                    ..IngestOptions::default()
                },
            )
            .await
            .map_err(|e| limited(e, &room, by_quota))?;
        self.put_row(
            target.repo(),
            keys::blob_link(&target.name.image, digest),
            digest,
            stored.size,
            None,
        )
        .await?;
        Ok(stored.size)
    }

    /// The open session `id` of this image; anything else is `BLOB_UPLOAD_UNKNOWN`.
    pub async fn upload_status(&self, target: &WriteTarget, id: &str) -> Result<UploadSession, RegistryError> {
        let session = self
            .uploads
            .get(id)
            .await
            .map_err(unavailable)?
            .ok_or(RegistryError::BlobUploadUnknown)?;
        let open = matches!(session.state, UploadState::Started | UploadState::Receiving { .. });
        if session.repo != target.repo() || session.image != target.name.image || !open {
            return Err(RegistryError::BlobUploadUnknown);
        }
        Ok(session)
    }

    /// Appends a chunk; returns the session and the bytes it added. `range` is the inclusive
    /// `Content-Range` the client sent, if any; it must start at the current offset (else 416
    /// with the offset) and match the body's length.
    pub async fn append_chunk(
        &self,
        target: &WriteTarget,
        id: &str,
        body: ByteStream,
        range: Option<(u64, u64)>,
    ) -> Result<(UploadSession, u64), RegistryError> {
        let mut session = self.upload_status(target, id).await?;
        let offset = session.state.offset();
        let start = range.map_or(offset, |(start, _)| start);
        session.state.append(start, 0)?;
        // The session's earlier chunks are not in the repository yet: they count here.
        let room = self.room(target.repo()).await?;
        room.admit(Some(offset))?;
        let (limit, by_quota) = room.limit(self.max_upload);
        let stored = self
            .cas
            .ingest(
                body,
                IngestOptions {
                    limit: Some(limit.saturating_sub(offset)),
                    ..IngestOptions::default()
                },
            )
            .await
            .map_err(|e| match limited(e, &room, by_quota) {
                RegistryError::TooLarge { .. } => RegistryError::TooLarge { limit: self.max_upload },
                other => other,
            })?;
        if let Some((start, end)) = range
            && end.checked_sub(start).map(|d| d + 1) != Some(stored.size)
        {
            return Err(RegistryError::SizeInvalid(format!(
                "Content-Range {start}-{end} does not match the {} bytes sent",
                stored.size
            )));
        }
        if stored.size == 0 {
            return Ok((session, 0));
        }
        session.state = session.state.append(start, stored.size)?;
        session.parts.push(stored.digest.to_string());
        session.updated_at = self.clock.now();
        match self.uploads.update(&session).await {
            Ok(()) => {
                session.version += 1;
                Ok((session, stored.size))
            }
            Err(PortError::Conflict) => Err(RegistryError::BlobUploadInvalid(
                "the upload was changed by a concurrent request".into(),
            )),
            Err(PortError::NotFound) => Err(RegistryError::BlobUploadUnknown),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// `PUT ...?digest=`: appends the final chunk, if any, then commits. Returns the blob size.
    pub async fn finish_upload(
        &self,
        target: &WriteTarget,
        id: &str,
        digest: &Digest,
        last_chunk: Option<ByteStream>,
    ) -> Result<u64, RegistryError> {
        let session = match last_chunk {
            Some(body) => self.append_chunk(target, id, body, None).await?.0,
            None => self.upload_status(target, id).await?,
        };
        session.state.commit(digest)?;
        let size = session.state.offset();
        let single = session.parts.len() == 1;
        if single && session.parts[0] != digest.to_string() {
            return Err(RegistryError::DigestInvalid(format!(
                "expected {digest}, content is {}",
                session.parts[0]
            )));
        }
        // Checked again now that the size is known: layers pushed in parallel each fitted the
        // room left when they started, and the first to commit takes it.
        self.room(&session.repo).await?.admit(Some(size))?;
        if !single {
            self.concatenate(&session.parts, digest).await?;
        }
        self.put_row(
            &session.repo,
            keys::blob_link(&target.name.image, digest),
            digest,
            size,
            None,
        )
        .await?;
        self.uploads.delete(id).await.map_err(unavailable)?;
        Ok(size)
    }

    /// Streams the chunks in order through the CAS, which checks the digest.
    async fn concatenate(&self, parts: &[String], digest: &Digest) -> Result<(), RegistryError> {
        let mut keys = Vec::with_capacity(parts.len());
        for part in parts {
            let d = Digest::parse(part).map_err(|e| RegistryError::Unavailable(format!("bad staged part: {e}")))?;
            keys.push(d.blob_key());
        }
        let blobs = self.blobs.clone();
        let body: ByteStream = if keys.is_empty() {
            once(Vec::new())
        } else {
            Box::pin(
                futures::stream::iter(keys)
                    .then(move |key| {
                        let blobs = blobs.clone();
                        async move { blobs.get(&key, None).await.map_err(std::io::Error::other) }
                    })
                    .map_ok(|object| object.body)
                    .try_flatten(),
            )
        };
        let options = IngestOptions {
            expected: Some(digest.clone()),
            limit: Some(self.max_upload),
            ..IngestOptions::default()
        };
        self.cas.ingest(body, options).await.map_err(ingest_error)?;
        Ok(())
    }

    pub async fn cancel_upload(&self, target: &WriteTarget, id: &str) -> Result<(), RegistryError> {
        self.upload_status(target, id).await?;
        self.uploads.delete(id).await.map_err(unavailable)?;
        Ok(())
    }

    /// Drops sessions untouched for `UPLOAD_MAX_AGE`; their chunk blobs are left to GC, which
    /// only reclaims blobs nothing references. Returns how many were reaped.
    pub async fn reap_uploads(&self) -> Result<u64, RegistryError> {
        let cutoff = self.clock.now() - UPLOAD_MAX_AGE;
        let stale = self.uploads.older_than(cutoff).await.map_err(unavailable)?;
        let mut reaped = 0;
        for session in stale {
            if self.uploads.delete(&session.id).await.map_err(unavailable)? {
                reaped += 1;
            }
        }
        Ok(reaped)
    }
}
