//! Hosted Helm charts: `PUT` of a chart archive and ChartMuseum's `POST api/charts` (both land
//! here), checked against the archive's own `Chart.yaml` on the content store's temp file before
//! anything is recorded; `index.yaml` rendered from the package records on every read, so any
//! replica serves an upload at once; `DELETE api/charts/{name}/{version}`.
use super::pypi::Page;
use super::{HostedService, LocalRead, ReadRequest, ingest_error, unavailable};
use crate::app::cas::{IngestOptions, Inspected};
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::formats::helm::hosted::{
    ChartMeta, chart_filename, chart_path, check_filename, check_upload_name, parse_chart_yaml, record_key,
};
use crate::domain::formats::helm::index::{INDEX_TYPE, IndexEntry, render_index};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::{KindSettings, PackageType};
use crate::ports::{ByteStream, HostedFile, PackageRecord, PortError};

/// The content type chart archives are stored and served with.
pub const CHART_TYPE: &str = "application/gzip";

/// A chart upload.
pub struct HelmUpload {
    pub repo: String,
    /// The file name the client gave (`PUT`'s last path segment); ChartMuseum's form has none
    /// that matters, so `None` there.
    pub filename: Option<String>,
    pub body: ByteStream,
    pub declared_size: Option<u64>,
    /// `X-Checksum-Sha256`, checked as the body arrives.
    pub expected: Option<Digest>,
}

fn refused(message: impl Into<String>) -> HostedError {
    HostedError::InvalidPackage(message.into())
}

impl HostedService {
    /// Stores a chart: its `Chart.yaml` names it, SemVer 2 version, file name (when given) must
    /// agree; a version already there is 409 unless the repository allows overwrite.
    pub async fn helm_upload(&self, upload: HelmUpload) -> Result<PackageRecord, HostedError> {
        let repository = self.resolve_local(&upload.repo, PackageType::Helm).await?;
        let allow_overwrite = matches!(&repository.settings, KindSettings::Local(l) if l.allow_overwrite);
        let repo = repository.name.to_string();
        if let Some(filename) = &upload.filename {
            check_upload_name(filename).map_err(|e| refused(e.0))?;
            // The canonical file of a chart already there: refused before the body is read.
            let taken = self
                .packages
                .by_path(&repo, &format!("charts/{filename}"))
                .await
                .map_err(unavailable)?;
            if taken.is_some() && !allow_overwrite {
                return Err(HostedError::AlreadyExists(filename.clone()));
            }
        }
        if upload.declared_size.is_some_and(|s| s > self.max_upload) {
            return Err(HostedError::TooLarge { limit: self.max_upload });
        }
        let options = IngestOptions {
            limit: Some(self.max_upload),
            content_type: Some(CHART_TYPE.to_string()),
            size_hint: upload.declared_size,
            expected: upload.expected,
            ..IngestOptions::default()
        };
        let filename = upload.filename.clone();
        let (stored, chart) = self
            .cas
            .ingest_inspected(upload.body, options, move |file| {
                let text = super::archive::helm_chart_yaml(file)?;
                let chart = parse_chart_yaml(&text).map_err(|e| e.0)?;
                if let Some(filename) = &filename {
                    check_filename(filename, &chart).map_err(|e| e.0)?;
                }
                Ok::<ChartMeta, String>(chart)
            })
            .await
            .map_err(|e| match e {
                Inspected::Ingest(e) => ingest_error(e),
                Inspected::Rejected(reason) => refused(reason),
            })?;
        let key = record_key(&chart.name, &chart.version);
        let path = chart_path(&chart.name, &chart.version);
        let filename = chart_filename(&chart.name, &chart.version);
        let existing = self.packages.get(&repo, &key).await.map_err(unavailable)?;
        if existing.is_some() && !allow_overwrite {
            return Err(HostedError::AlreadyExists(filename));
        }
        // `a` 1.0.0-1.0.0 and `a-1.0.0` 1.0.0 would share a file name: the first one keeps it.
        if let Some(other) = self.packages.by_path(&repo, &path).await.map_err(unavailable)?
            && other.key != key
        {
            return Err(HostedError::AlreadyExists(format!(
                "{filename} (the file of chart {} {})",
                other.name, other.version
            )));
        }
        let now = self.clock.now();
        let record = PackageRecord {
            repo: repo.clone(),
            name: chart.name,
            version: chart.version,
            key: key.clone(),
            filename,
            path: path.clone(),
            digest: stored.digest.clone(),
            size: stored.size,
            meta: serde_json::json!({ "chart": chart.metadata }),
            created_at: now,
        };
        if existing.is_some() {
            self.packages.delete(&repo, &key).await.map_err(unavailable)?;
        }
        match self.packages.create(&record).await {
            Ok(()) => {}
            Err(PortError::Conflict) => return Err(HostedError::AlreadyExists(record.filename)),
            Err(e) => return Err(unavailable(e)),
        }
        let file = HostedFile {
            repo: repo.clone(),
            path,
            digest: stored.digest,
            size: stored.size,
            content_type: Some(CHART_TYPE.to_string()),
            created_at: now,
        };
        if let Err(e) = self.files.upsert(&file).await {
            // The record goes too, so the index never lists a chart that cannot be served.
            let _ = self.packages.delete(&repo, &key).await;
            return Err(unavailable(e));
        }
        Ok(record)
    }

    /// `PUT {repo}/{any path}/{name}-{version}.tgz`: the chart is stored at its canonical path
    /// (`charts/{name}-{version}.tgz`), which the answer names.
    pub(super) async fn helm_put(&self, request: super::UploadRequest) -> Result<HostedFile, HostedError> {
        let expected = super::expected_digest(request.checksum.as_deref())?;
        let filename = request.path.as_str().rsplit('/').next().unwrap_or_default().to_string();
        let record = self
            .helm_upload(HelmUpload {
                repo: request.repo,
                filename: Some(filename),
                body: request.body,
                declared_size: request.declared_size,
                expected,
            })
            .await?;
        Ok(HostedFile {
            repo: record.repo,
            path: record.path,
            digest: record.digest,
            size: record.size,
            content_type: Some(CHART_TYPE.to_string()),
            created_at: record.created_at,
        })
    }

    /// The index entries of the local Helm repository `repo`, URLs prefixed with `prefix`
    /// (`""` on the repository itself, the member's path through a virtual).
    pub async fn helm_entries(&self, repo: &str, prefix: &str) -> Result<Vec<IndexEntry>, HostedError> {
        let mut entries = Vec::new();
        for name in self.packages.names(repo).await.map_err(unavailable)? {
            for record in self.packages.files(repo, &name).await.map_err(unavailable)? {
                entries.push(IndexEntry::from_record(&record, prefix));
            }
        }
        Ok(entries)
    }

    /// `index.yaml`, rendered from the records, or a stored chart.
    pub(super) async fn helm_read(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<LocalRead, HostedError> {
        if path.as_str() != "index.yaml" {
            return Ok(LocalRead::File(self.read_file(repo, path, request).await?));
        }
        let body = render_index(&self.helm_entries(repo, "").await?);
        let digest = Digest::of_bytes(&body);
        if request
            .if_none_match
            .is_some_and(|tags| super::etag_matches(tags, &digest))
        {
            return Ok(LocalRead::PageNotModified(digest));
        }
        Ok(LocalRead::Page(Page {
            body,
            content_type: INDEX_TYPE,
            digest,
        }))
    }

    /// ChartMuseum's `DELETE api/charts/{name}/{version}`: the record and the file go (the blob
    /// stays until GC finds it unreferenced).
    pub async fn helm_delete_version(&self, repo: &str, name: &str, version: &str) -> Result<(), HostedError> {
        let repository = self.resolve_local(repo, PackageType::Helm).await?;
        let repo = repository.name.as_str();
        let record = self
            .packages
            .get(repo, &record_key(name, version))
            .await
            .map_err(unavailable)?
            .ok_or_else(|| HostedError::NotFound(format!("chart {name} {version}")))?;
        self.helm_remove(repo, &record).await
    }

    /// `DELETE` of a chart archive's path.
    pub(super) async fn helm_delete(&self, repo: &str, path: &ArtifactPath) -> Result<(), HostedError> {
        let record = self
            .packages
            .by_path(repo, path.as_str())
            .await
            .map_err(unavailable)?
            .ok_or_else(|| HostedError::NotFound(path.to_string()))?;
        self.helm_remove(repo, &record).await
    }

    async fn helm_remove(&self, repo: &str, record: &PackageRecord) -> Result<(), HostedError> {
        // The record first: the index stops listing the chart before its file goes.
        self.packages.delete(repo, &record.key).await.map_err(unavailable)?;
        self.files.delete(repo, &record.path).await.map_err(unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "helm_tests.rs"]
mod tests;
