//! Hosted alpine: `PUT` of `.apk` files at `[dir/]<arch>/<name>-<version>.apk` (the package read
//! on the upload's temp file before anything is recorded), and `<dir>/APKINDEX.tar.gz` rendered
//! from the package records of that directory on every request, signed with the instance's RSA
//! key, whose public half is served at `keys/<key file>` for `/etc/apk/keys`. Rendering needs
//! only the metadata store, so any replica answers with the same bytes right after an upload.
use super::rpm::{PageRead, page};
use super::{HostedService, LocalRead, ReadRequest, UploadRequest, unavailable};
use crate::domain::error::HostedError;
use crate::domain::formats::alpine::index::{Entry, index_dir, index_stream, render_text, signature_stream};
use crate::domain::formats::alpine::package::{ApkPackage, check_upload_path, read_package};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;
use crate::ports::{HostedFile, PackageRecord};

/// apk packages are gzip streams; `octet-stream` rather than Android's `.apk` type, which
/// browsers and proxies would take for an Android application.
pub const APK_CONTENT_TYPE: &str = "application/octet-stream";
pub const INDEX_CONTENT_TYPE: &str = "application/gzip";
const KEY_CONTENT_TYPE: &str = "application/x-pem-file";
/// Where the public key is served, relative to the repository.
pub const KEYS_DIR: &str = "keys/";

fn refused(message: impl Into<String>) -> HostedError {
    HostedError::InvalidPackage(message.into())
}

/// A package record with its parsed control data.
pub struct ApkRecord {
    pub record: PackageRecord,
    pub package: ApkPackage,
}

impl ApkRecord {
    /// The directory the package lies in (its index's directory).
    pub fn dir(&self) -> &str {
        self.record.path.rsplit_once('/').map_or("", |(dir, _)| dir)
    }
}

impl HostedService {
    /// `PUT {repo}/[dir/]<arch>/<name>-<version>.apk`.
    pub(super) async fn alpine_upload(&self, request: UploadRequest) -> Result<HostedFile, HostedError> {
        let repository = self.resolve_local(&request.repo, PackageType::Alpine).await?;
        let repo = repository.name.to_string();
        let path = request.path.as_str().to_string();
        let (dir, file_name) = check_upload_path(&path).map_err(refused)?;
        let (dir, file_name) = (dir.to_string(), file_name.to_string());
        let declared = super::Declared {
            checksum: request.checksum.as_deref(),
            size: request.declared_size,
            content_type: Some(APK_CONTENT_TYPE.into()),
        };
        let (options, admission) = self.admit((&repository, &path), declared, false).await?;
        let (stored, package) = self
            .cas
            .ingest_inspected(request.body, options, move |file| {
                let opened = std::fs::File::open(file).map_err(|e| e.to_string())?;
                let package = read_package(&mut std::io::BufReader::new(opened))?;
                package.check_path(&dir, &file_name)?;
                Ok::<_, String>(package)
            })
            .await
            .map_err(|e| admission.error(e))?;
        let record = PackageRecord {
            repo,
            name: package.name.clone(),
            version: package.version.clone(),
            // One package per path: the same name and version may sit in other directories.
            key: path.clone(),
            filename: package.file_name(),
            path: path.clone(),
            digest: stored.digest,
            size: stored.size,
            meta: serde_json::to_value(&package).map_err(|e| HostedError::Unavailable(e.to_string()))?,
            created_at: self.clock.now(),
        };
        self.commit_package(&record, APK_CONTENT_TYPE, || path).await
    }

    /// The packages of a local alpine repository that lie directly in `dir`.
    pub async fn alpine_records(&self, repo: &str, dir: &str) -> Result<Vec<ApkRecord>, HostedError> {
        let mut out = Vec::new();
        for record in self.packages.all(repo).await.map_err(unavailable)? {
            let package = serde_json::from_value(record.meta.clone())
                .map_err(|e| HostedError::Unavailable(format!("apk record {} unreadable: {e}", record.key)))?;
            let record = ApkRecord { record, package };
            if record.dir() == dir {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// `APKINDEX.tar.gz` of `entries`: signed when the instance has a key. `mtime` dates the tar
    /// entries so that the same packages always give the same bytes (and ETag).
    pub async fn alpine_index(&self, description: &str, entries: &[Entry], mtime: u64) -> Result<Vec<u8>, HostedError> {
        let failed = |e: String| HostedError::Unavailable(e);
        let index = index_stream(description, &render_text(entries), mtime).map_err(failed)?;
        let Some(signer) = &self.apk_signer else {
            return Ok(index);
        };
        let signature = signer.sign_sha1(&index).await.map_err(unavailable)?;
        let key_file = signer.key_file().await.map_err(unavailable)?;
        let mut out = signature_stream(&key_file, &signature, mtime).map_err(failed)?;
        out.extend_from_slice(&index);
        Ok(out)
    }

    /// `keys/<key file>`: the PEM public key the indexes verify with; `keys/` names that file
    /// (apk finds a key by its file name, so users need the name as well as the key).
    pub async fn alpine_public_key(&self, key_file: &str, request: ReadRequest<'_>) -> Result<PageRead, HostedError> {
        let not_found = || HostedError::NotFound(format!("{KEYS_DIR}{key_file}"));
        let signer = self.apk_signer.as_ref().ok_or_else(not_found)?;
        let ours = signer.key_file().await.map_err(unavailable)?;
        if key_file.is_empty() {
            return Ok(page(format!("{ours}\n").into_bytes(), "text/plain", request));
        }
        if ours != key_file {
            return Err(not_found());
        }
        let pem = signer.public_key_pem().await.map_err(unavailable)?;
        Ok(page(pem.into_bytes(), KEY_CONTENT_TYPE, request))
    }

    /// `<dir>/APKINDEX.tar.gz` rendered now, the key under `keys/`; any other path is a file.
    pub(super) async fn alpine_read(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<LocalRead, HostedError> {
        let wanted = path.as_str();
        if let Some(key_file) = wanted.strip_prefix(KEYS_DIR) {
            return self.alpine_public_key(key_file, request).await.map(LocalRead::from);
        }
        let Some(dir) = index_dir(wanted) else {
            return Ok(LocalRead::File(self.read_file(repo, path, request).await?));
        };
        let records = self.alpine_records(repo, dir).await?;
        let entries: Vec<Entry> = records.iter().map(|r| Entry::of(&r.package)).collect();
        let body = self
            .alpine_index(&description(repo, dir), &entries, newest(&records))
            .await?;
        Ok(LocalRead::from(page(body, INDEX_CONTENT_TYPE, request)))
    }
}

/// The index's `DESCRIPTION`: which repository and directory it lists.
pub fn description(repo: &str, dir: &str) -> String {
    if dir.is_empty() {
        repo.to_string()
    } else {
        format!("{repo} {dir}")
    }
}

/// The newest upload among `records`, as the index entries' mtime (0 when empty).
pub fn newest(records: &[ApkRecord]) -> u64 {
    records
        .iter()
        .map(|r| u64::try_from(r.record.created_at.timestamp()).unwrap_or(0))
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "alpine_tests.rs"]
mod tests;
