//! Hosted Puppet modules: the Forge's `POST v3/releases` (multipart `file`) and `PUT` of a
//! release archive both land here, checked against the archive's own `metadata.json` on the
//! content store's temp file before anything is recorded (its md5, the Forge's `file_md5`, is
//! hashed on the same read). The v3 API (`v3/releases`, `v3/releases/{slug}`,
//! `v3/modules/{slug}`) is rendered from the package records on every read, so any replica
//! serves an upload at once; archives are served from `v3/files/`. A release goes by `DELETE` of
//! its `v3/releases/{slug}` or of its archive.
use super::ingest::{ArchiveKind, NamedArchive, stored_file};
use super::pypi::Page;
use super::{HostedService, LocalRead, ReadRequest, unavailable};
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::formats::puppet::api::{
    ApiPath, JSON_TYPE, Release, ReleaseQuery, render_module, render_release, render_releases,
};
use crate::domain::formats::puppet::hosted::{
    FILES_DIR, ModuleMeta, check_names, check_upload_name, parse_metadata, record_key, release_filename, release_path,
};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;
use crate::ports::{HostedFile, PackageRecord};

/// The content type release archives are stored and served with.
pub const ARCHIVE_TYPE: &str = "application/gzip";

/// A release upload.
pub type PuppetUpload = NamedArchive;

/// Releases live under `v3/files/`, where the Forge keeps them.
const RELEASES: ArchiveKind = ArchiveKind {
    package: PackageType::Puppet,
    dir: FILES_DIR,
    content_type: ARCHIVE_TYPE,
};

fn refused(message: impl Into<String>) -> HostedError {
    HostedError::InvalidPackage(message.into())
}

/// A rendered v3 answer (or 304 when the client has it).
fn page(body: Vec<u8>, if_none_match: Option<&str>) -> LocalRead {
    let digest = Digest::of_bytes(&body);
    if if_none_match.is_some_and(|tags| super::etag_matches(tags, &digest)) {
        return LocalRead::PageNotModified(digest);
    }
    LocalRead::Page(Page {
        body,
        content_type: JSON_TYPE,
        digest,
    })
}

impl HostedService {
    /// Stores a release: its `metadata.json` names it (owner-module, SemVer version), its
    /// archive's directory and the file name (when given) must agree; a version already there is
    /// 409 unless the repository allows overwrite.
    pub async fn puppet_upload(&self, upload: PuppetUpload) -> Result<PackageRecord, HostedError> {
        if let Some(filename) = &upload.filename {
            check_upload_name(filename).map_err(|e| refused(e.0))?;
        }
        let filename = upload.filename.clone();
        let archived = self
            .ingest_archive(upload, &RELEASES, move |file| {
                let archive = super::archive::puppet_module(file)?;
                let module = parse_metadata(&archive.metadata).map_err(|e| e.0)?;
                check_names(&archive.top, filename.as_deref(), &module).map_err(|e| e.0)?;
                Ok::<(ModuleMeta, String), String>((module, archive.md5))
            })
            .await?;
        let (module, md5) = archived.found;
        let slug = module.slug();
        let record = PackageRecord {
            repo: archived.repo,
            key: record_key(&slug, &module.version),
            filename: release_filename(&slug, &module.version),
            path: release_path(&slug, &module.version),
            name: slug,
            version: module.version,
            digest: archived.stored.digest,
            size: archived.stored.size,
            meta: serde_json::json!({ "metadata": module.metadata, "md5": md5 }),
            created_at: self.clock.now(),
        };
        self.record_package(record, ARCHIVE_TYPE, archived.allow_overwrite)
            .await
    }

    /// `PUT {repo}/v3/files/{owner}-{module}-{version}.tar.gz` (or the bare file name at the
    /// repository's root): stored at `v3/files/…`, which the answer names.
    pub(super) async fn puppet_put(&self, request: super::UploadRequest) -> Result<HostedFile, HostedError> {
        let path = request.path.as_str();
        let filename = path.strip_prefix(FILES_DIR).unwrap_or(path);
        if filename.contains('/') {
            return Err(refused(format!(
                "PUT a release to {FILES_DIR}<owner>-<module>-<version>.tar.gz, not '{path:.200}'"
            )));
        }
        let filename = filename.to_string();
        let record = self.puppet_upload(NamedArchive::put(request, filename)?).await?;
        Ok(stored_file(record, ARCHIVE_TYPE))
    }

    /// The releases of `module` in the local Puppet repository `repo` (`file_uri` relative to it).
    pub async fn puppet_module_releases(&self, repo: &str, module: &str) -> Result<Vec<Release>, HostedError> {
        let records = self.packages.files(repo, module).await.map_err(unavailable)?;
        Ok(records.iter().map(Release::from_record).collect())
    }

    /// Every release of the local Puppet repository `repo`.
    pub async fn puppet_releases(&self, repo: &str) -> Result<Vec<Release>, HostedError> {
        let records = self.packages.all(repo).await.map_err(unavailable)?;
        Ok(records.iter().map(Release::from_record).collect())
    }

    /// The v3 API, rendered from the records, or a stored archive.
    pub(super) async fn puppet_read(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<LocalRead, HostedError> {
        let not_found = || HostedError::NotFound(path.to_string());
        let body = match ApiPath::of(path.as_str()).ok_or_else(not_found)? {
            ApiPath::File { .. } => return Ok(LocalRead::File(self.read_file(repo, path, request).await?)),
            ApiPath::Releases => {
                let query = ReleaseQuery::parse(request.query);
                let releases = match &query.module {
                    Some(module) => self.puppet_module_releases(repo, module).await?,
                    None => self.puppet_releases(repo).await?,
                };
                render_releases(&releases, &query)
            }
            ApiPath::Release { module, version } => {
                let releases = self.puppet_module_releases(repo, &module).await?;
                let release = releases.iter().find(|r| r.version == version).ok_or_else(not_found)?;
                render_release(release)
            }
            ApiPath::Module(module) => {
                render_module(&self.puppet_module_releases(repo, &module).await?).ok_or_else(not_found)?
            }
        };
        Ok(page(body, request.if_none_match))
    }

    /// `DELETE` of `v3/releases/{slug}` or of `v3/files/{slug}.tar.gz`: the record and the file
    /// go (the blob stays until GC finds it unreferenced).
    pub(super) async fn puppet_delete(&self, repo: &str, path: &ArtifactPath) -> Result<(), HostedError> {
        let not_found = || HostedError::NotFound(path.to_string());
        let (module, version) = match ApiPath::of(path.as_str()) {
            Some(ApiPath::Release { module, version } | ApiPath::File { module, version }) => (module, version),
            _ => return Err(not_found()),
        };
        let record = self
            .packages
            .get(repo, &record_key(&module, &version))
            .await
            .map_err(unavailable)?
            .ok_or_else(not_found)?;
        // The record first: the API stops listing the release before its file goes.
        self.packages.delete(repo, &record.key).await.map_err(unavailable)?;
        self.files.delete(repo, &record.path).await.map_err(unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "puppet_tests.rs"]
mod tests;
