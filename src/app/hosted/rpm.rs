//! Hosted rpm: `PUT` of `.rpm` files (the header read on the upload's temp file before anything
//! is recorded) and `repodata/` rendered from the package records on every request for
//! `repomd.xml`. The data files it names are written to the repository (content-addressed, by
//! the sha256 in their names) before repomd.xml is answered, so a client never reads a repomd
//! that names a file not yet stored, whichever replica it asks next; files an older repomd
//! named stay for a grace period, so a client part-way through a refresh still finds them.
use bytes::Bytes;

use super::{HostedService, LocalRead, ReadRequest, UploadRequest, ingest_error, unavailable};
use crate::app::cas::IngestOptions;
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::formats::rpm::hosted::{RpmPackage, check_upload_path, read_package};
use crate::domain::formats::rpm::repodata::{
    DataFile, Entry, REPOMD, REPOMD_ASC, REPOMD_KEY, armor_signature, render_data, render_repomd, superseded,
};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;
use crate::ports::{ByteStream, HostedFile, PackageRecord, PageRequest};

pub const RPM_CONTENT_TYPE: &str = "application/x-rpm";
pub const REPOMD_CONTENT_TYPE: &str = "application/xml";
const DATA_CONTENT_TYPE: &str = "application/gzip";
const SIGNATURE_CONTENT_TYPE: &str = "application/pgp-signature";
const KEY_CONTENT_TYPE: &str = "application/pgp-keys";
/// How long a superseded data file stays for clients that read the repomd.xml naming it.
pub const REPODATA_GRACE: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
/// Data files looked at per render (three per generation kept within the grace period).
const MAX_PRUNED_LISTING: u64 = 1000;

fn refused(message: impl Into<String>) -> HostedError {
    HostedError::InvalidPackage(message.into())
}

/// A package record with its parsed header.
pub struct RpmRecord {
    pub record: PackageRecord,
    pub package: RpmPackage,
}

impl HostedService {
    /// `PUT {repo}/[dir/]name-version-release.arch.rpm`.
    pub(super) async fn rpm_upload(&self, request: UploadRequest) -> Result<HostedFile, HostedError> {
        let repository = self.resolve_local(&request.repo, PackageType::Rpm).await?;
        let repo = repository.name.to_string();
        let path = request.path.as_str().to_string();
        let file_name = check_upload_path(&path).map_err(refused)?.to_string();
        let declared = super::Declared {
            checksum: request.checksum.as_deref(),
            size: request.declared_size,
            content_type: Some(RPM_CONTENT_TYPE.into()),
        };
        let (options, admission) = self.admit((&repository, &path), declared, false).await?;
        let named = file_name.clone();
        let (stored, package) = self
            .cas
            .ingest_inspected(request.body, options, move |file| {
                let opened = std::fs::File::open(file).map_err(|e| e.to_string())?;
                let package = read_package(&mut std::io::BufReader::new(opened))?;
                package.check_file_name(&named)?;
                Ok::<_, String>(package)
            })
            .await
            .map_err(|e| admission.error(e))?;
        let record = PackageRecord {
            repo,
            name: package.name.clone(),
            version: package.evr(),
            key: package.nevra(),
            filename: file_name,
            path: path.clone(),
            digest: stored.digest,
            size: stored.size,
            meta: serde_json::to_value(&package).map_err(|e| HostedError::Unavailable(e.to_string()))?,
            created_at: self.clock.now(),
        };
        self.commit_package(&record, RPM_CONTENT_TYPE, || format!("{} (as {path})", package.nevra()))
            .await
    }

    /// Every package of a local rpm repository, by name then upload order.
    pub async fn rpm_records(&self, repo: &str) -> Result<Vec<RpmRecord>, HostedError> {
        let mut out = Vec::new();
        for record in self.packages.all(repo).await.map_err(unavailable)? {
            let package = serde_json::from_value(record.meta.clone())
                .map_err(|e| HostedError::Unavailable(format!("rpm record {} unreadable: {e}", record.key)))?;
            out.push(RpmRecord { record, package });
        }
        Ok(out)
    }

    /// The repodata of `records`, with its data files stored in `repo` (when not already
    /// there) before the repomd.xml naming them is returned.
    pub async fn rpm_repodata(
        &self,
        repo: &str,
        records: &[RpmRecord],
        entries: &[Entry<'_>],
    ) -> Result<Vec<u8>, HostedError> {
        let files = render_data(entries).map_err(|e| HostedError::Unavailable(e.to_string()))?;
        for file in &files {
            self.store_data_file(repo, file).await?;
        }
        self.prune_data_files(repo, &files).await?;
        let revision = records
            .iter()
            .map(|r| r.record.created_at.timestamp())
            .max()
            .unwrap_or(0);
        Ok(render_repomd(&files, revision).into_bytes())
    }

    /// Stores a rendered data file under `repo` (a local repository, or a virtual one for its
    /// merged repodata) unless it is there already.
    pub async fn store_data_file(&self, repo: &str, file: &DataFile) -> Result<(), HostedError> {
        let path = file.path();
        if self.files.get(repo, &path).await.map_err(unavailable)?.is_some() {
            return Ok(());
        }
        let bytes = Bytes::from(file.gz.clone());
        let body: ByteStream = Box::pin(futures::stream::once(async move { Ok(bytes) }));
        let options = IngestOptions {
            expected: Some(file.sha256.clone()),
            content_type: Some(DATA_CONTENT_TYPE.into()),
            size_hint: Some(file.gz.len() as u64),
            ..IngestOptions::default()
        };
        let stored = self.cas.ingest(body, options).await.map_err(ingest_error)?;
        self.files
            .upsert(&HostedFile {
                repo: repo.to_string(),
                path,
                digest: stored.digest,
                size: stored.size,
                content_type: Some(DATA_CONTENT_TYPE.into()),
                created_at: self.clock.now(),
            })
            .await
            .map_err(unavailable)
    }

    /// Deletes the data files older repomd.xml files named once they have been superseded for
    /// [`REPODATA_GRACE`] (`current` are those the repomd.xml being answered names), so a
    /// repository that changes often does not keep every generation of its repodata; GC then
    /// frees their bytes.
    pub async fn prune_data_files(&self, repo: &str, current: &[DataFile]) -> Result<(), HostedError> {
        let page = PageRequest {
            prefix: "repodata/".into(),
            after: None,
            limit: MAX_PRUNED_LISTING,
        };
        let stored: Vec<_> = self
            .files
            .list(repo, &page)
            .await
            .map_err(unavailable)?
            .into_iter()
            .map(|f| (f.path, f.created_at))
            .collect();
        let current: Vec<String> = current.iter().map(DataFile::path).collect();
        for path in superseded(&stored, &current, self.clock.now(), REPODATA_GRACE) {
            self.files.delete(repo, path).await.map_err(unavailable)?;
        }
        Ok(())
    }

    /// `repodata/repomd.xml` rendered now; any other path is a stored file (packages, and the
    /// data files a repomd named).
    pub(super) async fn rpm_read(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<LocalRead, HostedError> {
        let wanted = path.as_str();
        if wanted == REPOMD_KEY {
            return self.rpm_public_key(request).map(LocalRead::from);
        }
        if wanted == REPOMD_ASC && self.signer.is_none() {
            return Err(HostedError::NotFound(REPOMD_ASC.into()));
        }
        if wanted != REPOMD && wanted != REPOMD_ASC {
            return Ok(LocalRead::File(self.read_file(repo, path, request).await?));
        }
        let records = self.rpm_records(repo).await?;
        let entries: Vec<Entry<'_>> = records.iter().map(entry).collect();
        let repomd = self.rpm_repodata(repo, &records, &entries).await?;
        if wanted == REPOMD_ASC {
            return self.rpm_signature(&repomd, request).map(LocalRead::from);
        }
        Ok(LocalRead::from(page(repomd, REPOMD_CONTENT_TYPE, request)))
    }

    /// `repomd.xml.asc` for `repomd` (signed now: the signature carries its time, but it
    /// verifies the repomd.xml rendered from the same records, which is byte-identical).
    pub fn rpm_signature(&self, repomd: &[u8], request: ReadRequest<'_>) -> Result<PageRead, HostedError> {
        let signer = self
            .signer
            .as_ref()
            .ok_or_else(|| HostedError::NotFound(REPOMD_ASC.into()))?;
        let signature = signer
            .sign_detached(repomd)
            .map_err(|e| HostedError::Unavailable(e.to_string()))?;
        Ok(page(
            armor_signature(&signature).into_bytes(),
            SIGNATURE_CONTENT_TYPE,
            request,
        ))
    }

    /// `repomd.xml.key`: the armored public key `repomd.xml.asc` verifies with.
    pub fn rpm_public_key(&self, request: ReadRequest<'_>) -> Result<PageRead, HostedError> {
        let signer = self
            .signer
            .as_ref()
            .ok_or_else(|| HostedError::NotFound(REPOMD_KEY.into()))?;
        Ok(page(
            signer.public_key().ascii_armor.into_bytes(),
            KEY_CONTENT_TYPE,
            request,
        ))
    }
}

/// A rendered page, or 304 when the client's ETag names it.
pub enum PageRead {
    Page(super::pypi::Page),
    NotModified(Digest),
}

impl From<PageRead> for LocalRead {
    fn from(read: PageRead) -> Self {
        match read {
            PageRead::Page(page) => LocalRead::Page(page),
            PageRead::NotModified(digest) => LocalRead::PageNotModified(digest),
        }
    }
}

pub fn page(body: Vec<u8>, content_type: &'static str, request: ReadRequest<'_>) -> PageRead {
    let digest = Digest::of_bytes(&body);
    if request
        .if_none_match
        .is_some_and(|tags| super::etag_matches(tags, &digest))
    {
        return PageRead::NotModified(digest);
    }
    PageRead::Page(super::pypi::Page {
        body,
        content_type,
        digest,
    })
}

impl HostedService {
    /// A stored file of `repo` (the data files of a virtual's merged repodata).
    pub async fn rpm_stored(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<super::ReadOutcome, HostedError> {
        self.read_file(repo, path, request).await
    }
}

/// A record as repodata lists it, at its path in the repository.
pub fn entry(r: &RpmRecord) -> Entry<'_> {
    Entry {
        package: &r.package,
        sha256: r.record.digest.hex(),
        size: r.record.size,
        location: &r.record.path,
        time: r.record.created_at.timestamp(),
    }
}

#[cfg(test)]
#[path = "rpm_tests.rs"]
mod tests;
