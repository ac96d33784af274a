//! Local (hosted) repositories: plain files of the generic and terraform package types
//! (upload, download, delete; a terraform upload must be a provider archive,
//! `app::terraform::archive`) here, package formats with indexes in their own files (`pypi`, `npm`),
//! all stored through the content store and recorded in the metadata ports, so every replica
//! serves the same files and indexes.
pub mod alpine;
pub mod archive;
pub mod goproxy;
pub mod helm;
mod ingest;
pub mod npm;
pub mod puppet;
pub mod pypi;
pub mod rpm;
#[cfg(test)]
mod test_support;
use std::sync::Arc;

use crate::app::cas::{ContentStore, IngestError, IngestOptions, Inspected};
use crate::app::quota;
use crate::app::terraform::archive::inspected;
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::formats::terraform::hosted::{ProviderArchive, valid_namespace};
use crate::domain::path::ArtifactPath;
use crate::domain::quota::Room;
use crate::domain::range::{ByteSpan, RangeRequest, conditional_range, resolve_range};
use crate::domain::repository::{Kind, KindSettings, PackageType, Repository};
use crate::ports::{
    BlobStore, ByteStream, Clock, HostedFile, HostedFiles, HostedPackages, PackageRecord, PortError, RepositoryCatalog,
};

/// An upload as it arrives from a client.
pub struct UploadRequest {
    pub repo: String,
    pub path: ArtifactPath,
    pub body: ByteStream,
    /// Declared size (Content-Length), checked against the limit before reading anything.
    pub declared_size: Option<u64>,
    /// `X-Checksum-Sha256`: bare hex or `sha256:<hex>`.
    pub checksum: Option<String>,
    pub content_type: Option<String>,
}

/// Conditional and partial read parameters.
#[derive(Default)]
pub struct ReadRequest<'a> {
    pub range: Option<&'a str>,
    /// `If-Range`: the range applies only while this validator names the current content.
    pub if_range: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    /// HEAD: answer from metadata, open no body.
    pub head_only: bool,
    /// The client's `Accept`, for formats whose indexes have several representations.
    pub accept: Option<&'a str>,
    /// The repository's absolute URL as the client addressed it (from `Host`).
    pub public_base: Option<&'a str>,
    /// The raw query string, for formats whose upstream API takes one (puppet Forge).
    pub query: Option<&'a str>,
}

pub enum ReadOutcome {
    /// 304: the client's copy is current.
    NotModified(HostedFile),
    /// 200 (span `None`) or 206; body `None` for HEAD.
    Content {
        file: HostedFile,
        span: Option<ByteSpan>,
        body: Option<ByteStream>,
    },
}

pub struct HostedService {
    ports: HostedPorts,
    max_upload: u64,
    /// Signs generated indexes that clients verify (rpm's repomd.xml.asc); none in tests.
    signer: Option<Arc<dyn crate::ports::ReleaseSigner>>,
    /// Signs alpine APKINDEX.tar.gz; without it indexes are unsigned (tests).
    apk_signer: Option<Arc<dyn crate::ports::ApkSigner>>,
}

impl std::ops::Deref for HostedService {
    type Target = HostedPorts;

    fn deref(&self) -> &HostedPorts {
        &self.ports
    }
}

/// The ports a hosted repository needs.
pub struct HostedPorts {
    pub catalog: Arc<dyn RepositoryCatalog>,
    pub files: Arc<dyn HostedFiles>,
    pub packages: Arc<dyn HostedPackages>,
    pub blobs: Arc<dyn BlobStore>,
    pub cas: Arc<ContentStore>,
    pub clock: Arc<dyn Clock>,
}

/// What a read of a local repository answers.
pub enum LocalRead {
    File(ReadOutcome),
    /// A rendered index page.
    Page(pypi::Page),
    /// 304 for a rendered page.
    PageNotModified(Digest),
    /// The canonical path of the page asked for, relative to the repository.
    Redirect(String),
}

fn ingest_error(e: IngestError) -> HostedError {
    match e {
        IngestError::TooLarge { limit } => HostedError::TooLarge { limit },
        IngestError::IntegrityMismatch { expected, actual } => HostedError::ChecksumMismatch { expected, actual },
        IngestError::Mismatch { expected, actual } => HostedError::ChecksumMismatch {
            expected: expected.to_string(),
            actual: actual.to_string(),
        },
        IngestError::Interrupted(m) => HostedError::BodyInterrupted(m),
        IngestError::InsufficientStorage(m) => HostedError::InsufficientStorage(m),
        IngestError::Unavailable(m) => HostedError::Unavailable(m),
    }
}

/// The error of an ingest read up to `room`'s limit: a body cut there is over the quota.
fn limited(e: IngestError, room: &Room, by_quota: bool) -> HostedError {
    match (e, room.exceeded()) {
        (IngestError::TooLarge { .. }, Some(exceeded)) if by_quota => HostedError::QuotaExceeded(exceeded),
        (e, _) => ingest_error(e),
    }
}

/// The room a package upload was admitted to, so that a body cut at the quota says so.
struct Admission {
    room: Room,
    by_quota: bool,
}

/// What an upload request declares before its body: checksum header, size and content type.
/// (The request's parts, not the request: its body stream is not `Sync`.)
struct Declared<'a> {
    checksum: Option<&'a str>,
    size: Option<u64>,
    content_type: Option<String>,
}

impl Admission {
    /// An inspected ingest's failure: the inspection's refusal is the client's (400).
    fn error(&self, e: Inspected<String>) -> HostedError {
        match e {
            Inspected::Ingest(e) => limited(e, &self.room, self.by_quota),
            Inspected::Rejected(reason) => HostedError::InvalidPackage(reason),
        }
    }
}

fn unavailable(e: PortError) -> HostedError {
    match e {
        PortError::StorageFull(m) => HostedError::InsufficientStorage(m),
        other => HostedError::Unavailable(other.to_string()),
    }
}

impl HostedService {
    pub fn new(ports: HostedPorts, max_upload: u64) -> Self {
        Self {
            ports,
            max_upload,
            signer: None,
            apk_signer: None,
        }
    }

    /// The instance's signing key (shared by replicas) for the indexes clients verify.
    pub fn with_signer(mut self, signer: Arc<dyn crate::ports::ReleaseSigner>) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The instance's RSA key (shared by replicas) for alpine indexes.
    pub fn with_apk_signer(mut self, signer: Arc<dyn crate::ports::ApkSigner>) -> Self {
        self.apk_signer = Some(signer);
        self
    }

    /// The largest file an upload may store.
    pub fn max_upload(&self) -> u64 {
        self.max_upload
    }

    /// The repository behind `/api/v1/{kind}/{name}`: it must exist and be of that kind.
    pub async fn resolve(&self, kind: Kind, name: &str) -> Result<Repository, HostedError> {
        let repo = self
            .catalog
            .get(name)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| HostedError::RepositoryNotFound(name.to_string()))?;
        if repo.kind() != kind {
            return Err(HostedError::WrongKind {
                name: name.to_string(),
                expected: kind.as_str(),
            });
        }
        Ok(repo)
    }

    /// A local repository whose package type stores plain files.
    async fn resolve_file_local(&self, name: &str) -> Result<Repository, HostedError> {
        let repo = self.resolve(Kind::Local, name).await?;
        if !matches!(repo.package, PackageType::Generic | PackageType::Terraform) {
            return Err(HostedError::UnsupportedPackage(name.to_string()));
        }
        Ok(repo)
    }

    /// A local repository of `package`.
    async fn resolve_local(&self, name: &str, package: PackageType) -> Result<Repository, HostedError> {
        let repo = self.resolve(Kind::Local, name).await?;
        if repo.package != package {
            return Err(HostedError::UnsupportedPackage(name.to_string()));
        }
        Ok(repo)
    }

    /// The admission every upload to `repo` passes before its body is read: the checksum
    /// header parses, the declared size is within the upload limit and the quota's room, and
    /// no file is at `path` unless `overwrite`. Gives the ingest options (the body limited to
    /// what the quota leaves) and what the quota check learned.
    async fn admit(
        &self,
        (repo, path): (&Repository, &str),
        declared: Declared<'_>,
        overwrite: bool,
    ) -> Result<(IngestOptions, Admission), HostedError> {
        let expected = expected_digest(declared.checksum)?;
        if declared.size.is_some_and(|s| s > self.max_upload) {
            return Err(HostedError::TooLarge { limit: self.max_upload });
        }
        let room = quota::room(self.files.as_ref(), repo).await.map_err(unavailable)?;
        room.admit(declared.size)?;
        let (limit, by_quota) = room.limit(self.max_upload);
        if !overwrite
            && self
                .files
                .get(repo.name.as_str(), path)
                .await
                .map_err(unavailable)?
                .is_some()
        {
            return Err(HostedError::AlreadyExists(path.to_string()));
        }
        let options = IngestOptions {
            expected,
            expected_sha512: None,
            limit: Some(limit),
            content_type: declared.content_type,
            size_hint: declared.size,
        };
        Ok((options, Admission { room, by_quota }))
    }

    /// Records a stored package: its record, then its file. The record is taken back when the
    /// file cannot be written, so an index never lists a file that cannot be served; a record
    /// of the same key is 409 with `conflict` as the message.
    async fn commit_package(
        &self,
        record: &PackageRecord,
        content_type: &str,
        conflict: impl FnOnce() -> String,
    ) -> Result<HostedFile, HostedError> {
        match self.packages.create(record).await {
            Ok(()) => {}
            Err(PortError::Conflict) => return Err(HostedError::AlreadyExists(conflict())),
            Err(e) => return Err(unavailable(e)),
        }
        let file = HostedFile {
            repo: record.repo.clone(),
            path: record.path.clone(),
            digest: record.digest.clone(),
            size: record.size,
            content_type: Some(content_type.into()),
            created_at: record.created_at,
        };
        if let Err(e) = self.files.create(&file).await {
            let _ = self.packages.delete(&record.repo, &record.key).await;
            return Err(match e {
                PortError::Conflict => HostedError::AlreadyExists(file.path),
                other => unavailable(other),
            });
        }
        Ok(file)
    }

    /// Removes a package file and its record; the next index no longer lists it.
    async fn package_delete(&self, repo: &str, path: &ArtifactPath) -> Result<(), HostedError> {
        let record = self
            .packages
            .by_path(repo, path.as_str())
            .await
            .map_err(unavailable)?
            .ok_or_else(|| HostedError::NotFound(path.to_string()))?;
        self.packages.delete(repo, &record.key).await.map_err(unavailable)?;
        self.files.delete(repo, &record.path).await.map_err(unavailable)?;
        Ok(())
    }

    pub async fn upload(&self, request: UploadRequest) -> Result<HostedFile, HostedError> {
        match self.resolve(Kind::Local, &request.repo).await?.package {
            PackageType::Helm => return self.helm_put(request).await,
            PackageType::Rpm => return self.rpm_upload(request).await,
            PackageType::Alpine => return self.alpine_upload(request).await,
            PackageType::Goproxy => return self.goproxy_put(request).await,
            PackageType::Puppet => return self.puppet_put(request).await,
            _ => {}
        }
        let repo = self.resolve_file_local(&request.repo).await?;
        let allow_overwrite = matches!(&repo.settings, KindSettings::Local(l) if l.allow_overwrite);
        if request.path.is_directory() {
            return Err(HostedError::InvalidPath(crate::domain::path::PathError::Directory));
        }
        let path = request.path.as_str();
        let archive_check = if repo.package == PackageType::Terraform {
            let archive = ProviderArchive::parse_path(path).map_err(HostedError::InvalidPackage)?;
            if !valid_namespace(repo.name.as_str()) {
                return Err(HostedError::InvalidPackage(format!(
                    "'{}' cannot be a Terraform namespace (letters, digits and dashes only): name the repository so",
                    repo.name
                )));
            }
            Some(archive.check())
        } else {
            None
        };
        let declared = Declared {
            checksum: request.checksum.as_deref(),
            size: request.declared_size,
            content_type: request.content_type.clone(),
        };
        let (options, Admission { room, by_quota }) = self.admit((&repo, path), declared, allow_overwrite).await?;
        let (body, verdict) = match archive_check {
            Some(check) => {
                let (body, verdict) = inspected(request.body, check);
                (body, Some(verdict))
            }
            None => (request.body, None),
        };
        let stored = self.cas.ingest(body, options).await.map_err(|e| match e {
            // The archive check fails the body at its end; say why rather than "interrupted".
            IngestError::Interrupted(_) if let Some(reason) = verdict.as_ref().and_then(|v| v.refusal()) => {
                HostedError::InvalidPackage(reason)
            }
            other => limited(other, &room, by_quota),
        })?;
        let file = HostedFile {
            repo: repo.name.to_string(),
            path: path.to_string(),
            digest: stored.digest,
            size: stored.size,
            content_type: request.content_type,
            created_at: self.clock.now(),
        };
        let written = if allow_overwrite {
            self.files.upsert(&file).await
        } else {
            self.files.create(&file).await
        };
        match written {
            Ok(()) => Ok(file),
            Err(PortError::Conflict) => Err(HostedError::AlreadyExists(path.to_string())),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub async fn read(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<ReadOutcome, HostedError> {
        let repo = self.resolve_file_local(repo).await?;
        self.read_file(repo.name.as_str(), path, request).await
    }

    /// A read of any local repository: a file, or an index page its format renders.
    pub async fn read_local(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<LocalRead, HostedError> {
        let repository = self.resolve(Kind::Local, repo).await?;
        match repository.package {
            PackageType::Generic | PackageType::Terraform => {
                Ok(LocalRead::File(self.read_file(repo, path, request).await?))
            }
            PackageType::Pypi => self.pypi_read(repository.name.as_str(), path, request).await,
            PackageType::Npm => self.npm_read(repository.name.as_str(), path, request).await,
            PackageType::Helm => self.helm_read(repository.name.as_str(), path, request).await,
            PackageType::Rpm => self.rpm_read(repository.name.as_str(), path, request).await,
            PackageType::Alpine => self.alpine_read(repository.name.as_str(), path, request).await,
            PackageType::Goproxy => self.goproxy_read(repository.name.as_str(), path, request).await,
            PackageType::Puppet => self.puppet_read(repository.name.as_str(), path, request).await,
            _ => Err(HostedError::UnsupportedPackage(repo.to_string())),
        }
    }

    /// A stored file of a resolved local repository: 304, HEAD, a range or the whole body.
    async fn read_file(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<ReadOutcome, HostedError> {
        let file = self
            .files
            .get(repo, path.as_str())
            .await
            .map_err(unavailable)?
            .ok_or_else(|| HostedError::NotFound(path.to_string()))?;
        if request
            .if_none_match
            .is_some_and(|tags| etag_matches(tags, &file.digest))
        {
            return Ok(ReadOutcome::NotModified(file));
        }
        let range = conditional_range(request.range, request.if_range, &file.digest, Some(file.created_at));
        let span = match resolve_range(range, file.size) {
            RangeRequest::Full => None,
            RangeRequest::Partial(span) => Some(span),
            RangeRequest::Unsatisfiable => return Err(HostedError::RangeNotSatisfiable { size: file.size }),
        };
        if request.head_only {
            return Ok(ReadOutcome::Content { file, span, body: None });
        }
        let object = self
            .blobs
            .get(&file.digest.blob_key(), span)
            .await
            .map_err(|e| match e {
                PortError::NotFound => {
                    HostedError::Unavailable(format!("blob {} missing from the blob store", file.digest))
                }
                other => unavailable(other),
            })?;
        Ok(ReadOutcome::Content {
            file,
            span,
            body: Some(object.body),
        })
    }

    /// Removes the path; the blob stays until GC finds it unreferenced.
    pub async fn delete(&self, repo: &str, path: &ArtifactPath) -> Result<(), HostedError> {
        let repo = self.resolve(Kind::Local, repo).await?;
        match repo.package {
            PackageType::Generic | PackageType::Terraform => {}
            PackageType::Pypi => return self.pypi_delete(repo.name.as_str(), path).await,
            PackageType::Npm => return self.npm_delete_tarball(repo.name.as_str(), path.as_str()).await,
            PackageType::Helm => return self.helm_delete(repo.name.as_str(), path).await,
            PackageType::Rpm | PackageType::Alpine | PackageType::Goproxy => {
                return self.package_delete(repo.name.as_str(), path).await;
            }
            PackageType::Puppet => return self.puppet_delete(repo.name.as_str(), path).await,
            _ => return Err(HostedError::UnsupportedPackage(repo.name.to_string())),
        }
        if self
            .files
            .delete(repo.name.as_str(), path.as_str())
            .await
            .map_err(unavailable)?
        {
            Ok(())
        } else {
            Err(HostedError::NotFound(path.to_string()))
        }
    }
}

/// `X-Checksum-Sha256` (bare hex or `sha256:<hex>`) as the digest an upload must have.
fn expected_digest(checksum: Option<&str>) -> Result<Option<Digest>, HostedError> {
    checksum
        .map(|c| Digest::parse(c).or_else(|_| Digest::from_sha256_hex(c)))
        .transpose()
        .map_err(|e| HostedError::InvalidChecksum(e.to_string()))
}

/// The strong ETag we send for a file: its digest in quotes.
pub fn etag_of(digest: &Digest) -> String {
    // Built by hand: it is on every response, and `format!` costs more than the copy.
    let mut tag = String::with_capacity(digest.hex().len() + 9);
    tag.push_str("\"sha256:");
    tag.push_str(digest.hex());
    tag.push('"');
    tag
}

/// `If-None-Match` may list several tags, weak or strong, or `*`.
pub fn etag_matches(header: &str, digest: &Digest) -> bool {
    let ours = digest.to_string();
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == ours)
}

#[cfg(test)]
mod tests;
