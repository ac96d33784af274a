//! What the uploads of package archives that name themselves (Helm charts by their
//! `Chart.yaml`, Puppet releases by their `metadata.json`) share: a file already there refused
//! before the body is read, the size limit, the body stored through the content store with the
//! format's inspector run on its temp file (a refusal is a 400 and records nothing), then the
//! package record and its file written together.
use super::{HostedService, UploadRequest, expected_digest, ingest_error, unavailable};
use crate::app::cas::{IngestOptions, Ingested, Inspected};
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::repository::{KindSettings, PackageType};
use crate::ports::{ByteStream, HostedFile, PackageRecord, PortError};

/// An upload of an archive that names itself (a Helm chart, a Puppet release).
pub struct NamedArchive {
    pub repo: String,
    /// The file name the client gave (a `PUT`'s last path segment); upload forms have none that
    /// matters, so `None` there.
    pub filename: Option<String>,
    pub body: ByteStream,
    pub declared_size: Option<u64>,
    /// `X-Checksum-Sha256`, checked as the body arrives.
    pub expected: Option<Digest>,
}

impl NamedArchive {
    /// A `PUT` of the archive `filename`.
    pub(super) fn put(request: UploadRequest, filename: String) -> Result<NamedArchive, HostedError> {
        Ok(NamedArchive {
            expected: expected_digest(request.checksum.as_deref())?,
            repo: request.repo,
            filename: Some(filename),
            body: request.body,
            declared_size: request.declared_size,
        })
    }
}

/// Where a format keeps its archives (`dir` + the canonical file name) and their content type.
pub(super) struct ArchiveKind {
    pub package: PackageType,
    pub dir: &'static str,
    pub content_type: &'static str,
}

/// The file a `PUT` stored, as its answer names it.
pub(super) fn stored_file(record: PackageRecord, content_type: &str) -> HostedFile {
    HostedFile {
        repo: record.repo,
        path: record.path,
        digest: record.digest,
        size: record.size,
        content_type: Some(content_type.to_string()),
        created_at: record.created_at,
    }
}

/// A stored archive and what its inspector found.
pub(super) struct Archived<T> {
    /// The repository's canonical name.
    pub repo: String,
    pub allow_overwrite: bool,
    pub stored: Ingested,
    pub found: T,
}

impl HostedService {
    /// Stores `upload` as an archive of `kind` once `inspect` accepts its temp file (a file
    /// name already taken is refused first, unless the repository allows overwrite).
    pub(super) async fn ingest_archive<T, F>(
        &self,
        upload: NamedArchive,
        kind: &ArchiveKind,
        inspect: F,
    ) -> Result<Archived<T>, HostedError>
    where
        T: Send + 'static,
        F: FnOnce(&std::path::Path) -> Result<T, String> + Send + 'static,
    {
        let repository = self.resolve_local(&upload.repo, kind.package).await?;
        let allow_overwrite = matches!(&repository.settings, KindSettings::Local(l) if l.allow_overwrite);
        let repo = repository.name.to_string();
        if let Some(filename) = &upload.filename
            && !allow_overwrite
            && self
                .packages
                .by_path(&repo, &format!("{}{filename}", kind.dir))
                .await
                .map_err(unavailable)?
                .is_some()
        {
            return Err(HostedError::AlreadyExists(filename.clone()));
        }
        if upload.declared_size.is_some_and(|s| s > self.max_upload) {
            return Err(HostedError::TooLarge { limit: self.max_upload });
        }
        let options = IngestOptions {
            limit: Some(self.max_upload),
            content_type: Some(kind.content_type.to_string()),
            size_hint: upload.declared_size,
            expected: upload.expected,
            ..IngestOptions::default()
        };
        let (stored, found) = self
            .cas
            .ingest_inspected(upload.body, options, inspect)
            .await
            .map_err(|e| match e {
                Inspected::Ingest(e) => ingest_error(e),
                Inspected::Rejected(reason) => HostedError::InvalidPackage(reason),
            })?;
        Ok(Archived {
            repo,
            allow_overwrite,
            stored,
            found,
        })
    }

    /// Records a package file already in the content store at `record.path`: the record, then
    /// its file. A key already there is 409 unless `allow_overwrite`; a path another key owns
    /// (`a` 1.0.0-1.0.0 and `a-1.0.0` 1.0.0 could share a file name) is always 409, the first
    /// one keeping it. A file that cannot be recorded takes its record back with it, so an index
    /// never lists what cannot be served.
    pub(super) async fn record_package(
        &self,
        record: PackageRecord,
        content_type: &str,
        allow_overwrite: bool,
    ) -> Result<PackageRecord, HostedError> {
        let repo = record.repo.as_str();
        let existing = self.packages.get(repo, &record.key).await.map_err(unavailable)?;
        if existing.is_some() && !allow_overwrite {
            return Err(HostedError::AlreadyExists(record.filename));
        }
        if let Some(other) = self.packages.by_path(repo, &record.path).await.map_err(unavailable)?
            && other.key != record.key
        {
            return Err(HostedError::AlreadyExists(format!(
                "{} (the file of {} {})",
                record.filename, other.name, other.version
            )));
        }
        if existing.is_some() {
            self.packages.delete(repo, &record.key).await.map_err(unavailable)?;
        }
        match self.packages.create(&record).await {
            Ok(()) => {}
            Err(PortError::Conflict) => return Err(HostedError::AlreadyExists(record.filename)),
            Err(e) => return Err(unavailable(e)),
        }
        let file = HostedFile {
            repo: repo.to_string(),
            path: record.path.clone(),
            digest: record.digest.clone(),
            size: record.size,
            content_type: Some(content_type.to_string()),
            created_at: record.created_at,
        };
        if let Err(e) = self.files.upsert(&file).await {
            let _ = self.packages.delete(repo, &record.key).await;
            return Err(unavailable(e));
        }
        Ok(record)
    }
}
