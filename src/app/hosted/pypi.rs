//! Hosted PyPI: twine uploads (validated against the distribution's own metadata while the
//! upload sits in the content store's temp file, before it is committed) and the simple API
//! rendered from the package records.
use bytes::Bytes;

use super::{HostedService, LocalRead, ReadRequest, ingest_error, unavailable};
use crate::app::cas::{IngestOptions, Inspected};
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::formats::pypi::hosted::{UploadForm, check_metadata, parse_core_metadata};
use crate::domain::formats::pypi::index::{
    IndexPage, ProjectPage, Representation, file_path, metadata_path, record_meta, render_project, render_root,
};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;
use crate::ports::{ByteStream, HostedFile, PackageRecord, PortError};

/// A twine upload (`:action=file_upload`): the form's text fields, then the file.
pub struct PypiUpload {
    pub repo: String,
    pub form: UploadForm,
    /// The `content` part's file name.
    pub filename: String,
    pub content: ByteStream,
    pub declared_size: Option<u64>,
}

/// A rendered index page.
pub struct Page {
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub digest: Digest,
}

fn refused(message: impl Into<String>) -> HostedError {
    HostedError::InvalidPackage(message.into())
}

impl HostedService {
    pub async fn pypi_upload(&self, upload: PypiUpload) -> Result<PackageRecord, HostedError> {
        let repository = self.resolve_local(&upload.repo, PackageType::Pypi).await?;
        let repo = repository.name.to_string();
        let dist = upload
            .form
            .check(&upload.filename)
            .map_err(|e| refused(e.to_string()))?;
        let expected = upload
            .form
            .sha256_digest
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(Digest::from_sha256_hex)
            .transpose()
            .map_err(|e| HostedError::InvalidChecksum(e.to_string()))?;
        if upload.declared_size.is_some_and(|s| s > self.max_upload) {
            return Err(HostedError::TooLarge { limit: self.max_upload });
        }
        let room = crate::app::quota::room(self.files.as_ref(), &repository)
            .await
            .map_err(unavailable)?;
        // The declared size is the whole form's; the file alone is cut off at the quota.
        room.admit(None)?;
        let (limit, by_quota) = room.limit(self.max_upload);
        if self
            .packages
            .get(&repo, &dist.key)
            .await
            .map_err(unavailable)?
            .is_some()
        {
            return Err(HostedError::AlreadyExists(upload.filename));
        }
        let options = IngestOptions {
            expected,
            expected_sha512: None,
            limit: Some(limit),
            content_type: Some(content_type(&upload.filename).to_string()),
            size_hint: upload.declared_size,
        };
        let inspected = dist.clone();
        let (stored, (checked, metadata)) = self
            .cas
            .ingest_inspected(upload.content, options, move |file| {
                let text = super::archive::core_metadata(file, inspected.kind)?;
                let meta = parse_core_metadata(&text).map_err(|e| e.to_string())?;
                let checked = check_metadata(&inspected, &meta).map_err(|e| e.to_string())?;
                Ok::<_, String>((checked, text))
            })
            .await
            .map_err(|e| match e {
                Inspected::Ingest(e) => super::limited(e, &room, by_quota),
                Inspected::Rejected(reason) => refused(reason),
            })?;
        let now = self.clock.now();
        let path = file_path(&checked.name, &upload.filename);
        // PEP 658: the wheel's METADATA served beside it (an sdist's PKG-INFO may be
        // incomplete, so only wheels advertise theirs, as the public index does).
        let core = match dist.kind {
            crate::domain::formats::pypi::hosted::DistKind::Wheel => {
                let body: ByteStream = Box::pin(futures::stream::once(async move { Ok(Bytes::from(metadata)) }));
                let options = IngestOptions {
                    content_type: Some("text/plain; charset=utf-8".into()),
                    ..IngestOptions::default()
                };
                Some(self.cas.ingest(body, options).await.map_err(ingest_error)?)
            }
            _ => None,
        };
        let requires_python = checked
            .requires_python
            .or(upload.form.requires_python.filter(|r| !r.is_empty()));
        let record = PackageRecord {
            repo: repo.clone(),
            name: checked.name,
            version: checked.version,
            key: dist.key,
            filename: upload.filename.clone(),
            path: path.clone(),
            digest: stored.digest.clone(),
            size: stored.size,
            meta: record_meta(
                requires_python.as_deref(),
                core.as_ref().map(|c| c.digest.hex()),
                dist.kind.filetype(),
            ),
            created_at: now,
        };
        match self.packages.create(&record).await {
            Ok(()) => {}
            Err(PortError::Conflict) => return Err(HostedError::AlreadyExists(upload.filename)),
            Err(e) => return Err(unavailable(e)),
        }
        let mut files = vec![HostedFile {
            repo: repo.clone(),
            path: path.clone(),
            digest: stored.digest,
            size: stored.size,
            content_type: Some(content_type(&upload.filename).to_string()),
            created_at: now,
        }];
        if let Some(core) = core {
            files.push(HostedFile {
                repo: repo.clone(),
                path: metadata_path(&path),
                digest: core.digest,
                size: core.size,
                content_type: Some("text/plain; charset=utf-8".into()),
                created_at: now,
            });
        }
        for file in &files {
            if let Err(e) = self.files.upsert(file).await {
                // The record goes too, so the index never lists a file that cannot be served.
                let _ = self.packages.delete(&repo, &record.key).await;
                return Err(unavailable(e));
            }
        }
        Ok(record)
    }

    /// A page of the simple API, or a file, of the local repository `repo`.
    pub(super) async fn pypi_read(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<LocalRead, HostedError> {
        let Some(page) = IndexPage::of(path.as_str()) else {
            return Ok(LocalRead::File(self.read_file(repo, path, request).await?));
        };
        let canonical = page.canonical_path();
        if canonical != path.as_str() {
            return Ok(LocalRead::Redirect(canonical));
        }
        let repr = Representation::negotiate(request.accept);
        let body = match &page {
            IndexPage::Root => render_root(&self.packages.names(repo).await.map_err(unavailable)?, repr),
            IndexPage::Project(name) => {
                let name = crate::domain::formats::pypi::hosted::normalize(name);
                let records = self.packages.files(repo, &name).await.map_err(unavailable)?;
                if records.is_empty() {
                    return Err(HostedError::NotFound(path.to_string()));
                }
                render_project(&ProjectPage::from_records(&name, &records), repr)
            }
        };
        let digest = Digest::of_bytes(&body);
        if request
            .if_none_match
            .is_some_and(|tags| super::etag_matches(tags, &digest))
        {
            return Ok(LocalRead::PageNotModified(digest));
        }
        Ok(LocalRead::Page(Page {
            body,
            content_type: repr.content_type(),
            digest,
        }))
    }

    /// PEP 592: marks a file yanked (`Some(reason)`, possibly empty) or not (`None`).
    pub async fn pypi_yank(&self, repo: &str, path: &ArtifactPath, yanked: Option<String>) -> Result<(), HostedError> {
        let repo = self.resolve_local(repo, PackageType::Pypi).await?;
        let repo = repo.name.as_str();
        let record = self
            .packages
            .by_path(repo, path.as_str())
            .await
            .map_err(unavailable)?
            .ok_or_else(|| HostedError::NotFound(path.to_string()))?;
        let mut meta = record.meta.clone();
        meta["yanked"] = yanked.map_or(serde_json::Value::Null, serde_json::Value::String);
        self.packages
            .set_meta(repo, &record.key, &meta)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Removes a distribution file, its metadata file and its record (blobs stay until GC).
    pub(super) async fn pypi_delete(&self, repo: &str, path: &ArtifactPath) -> Result<(), HostedError> {
        let record = self
            .packages
            .by_path(repo, path.as_str())
            .await
            .map_err(unavailable)?
            .ok_or_else(|| HostedError::NotFound(path.to_string()))?;
        self.packages.delete(repo, &record.key).await.map_err(unavailable)?;
        self.files.delete(repo, &record.path).await.map_err(unavailable)?;
        self.files
            .delete(repo, &metadata_path(&record.path))
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

fn content_type(filename: &str) -> &'static str {
    if filename.ends_with(".tar.gz") {
        "application/gzip"
    } else {
        "application/zip"
    }
}

#[cfg(test)]
#[path = "pypi_tests.rs"]
mod tests;
