//! Hosted Helm charts: `PUT` of a chart archive and ChartMuseum's `POST api/charts` (both land
//! here), checked against the archive's own `Chart.yaml` on the content store's temp file before
//! anything is recorded; `index.yaml` rendered from the package records on every read, so any
//! replica serves an upload at once; `DELETE api/charts/{name}/{version}`.
use super::ingest::{ArchiveKind, NamedArchive, stored_file};
use super::pypi::Page;
use super::{HostedService, LocalRead, ReadRequest, unavailable};
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::formats::helm::hosted::{
    ChartMeta, chart_filename, chart_path, check_filename, check_upload_name, parse_chart_yaml, record_key,
};
use crate::domain::formats::helm::index::{INDEX_TYPE, IndexEntry, render_index};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;
use crate::ports::{HostedFile, PackageRecord};

/// The content type chart archives are stored and served with.
pub const CHART_TYPE: &str = "application/gzip";

/// A chart upload.
pub type HelmUpload = NamedArchive;

/// Charts live under `charts/`.
const CHARTS: ArchiveKind = ArchiveKind {
    package: PackageType::Helm,
    dir: "charts/",
    content_type: CHART_TYPE,
};

fn refused(message: impl Into<String>) -> HostedError {
    HostedError::InvalidPackage(message.into())
}

impl HostedService {
    /// Stores a chart: its `Chart.yaml` names it, SemVer 2 version, file name (when given) must
    /// agree; a version already there is 409 unless the repository allows overwrite.
    pub async fn helm_upload(&self, upload: HelmUpload) -> Result<PackageRecord, HostedError> {
        if let Some(filename) = &upload.filename {
            check_upload_name(filename).map_err(|e| refused(e.0))?;
        }
        let filename = upload.filename.clone();
        let archived = self
            .ingest_archive(upload, &CHARTS, move |file| {
                let text = super::archive::helm_chart_yaml(file)?;
                let chart = parse_chart_yaml(&text).map_err(|e| e.0)?;
                if let Some(filename) = &filename {
                    check_filename(filename, &chart).map_err(|e| e.0)?;
                }
                Ok::<ChartMeta, String>(chart)
            })
            .await?;
        let chart = archived.found;
        let record = PackageRecord {
            repo: archived.repo,
            name: chart.name.clone(),
            version: chart.version.clone(),
            key: record_key(&chart.name, &chart.version),
            filename: chart_filename(&chart.name, &chart.version),
            path: chart_path(&chart.name, &chart.version),
            digest: archived.stored.digest,
            size: archived.stored.size,
            meta: serde_json::json!({ "chart": chart.metadata }),
            created_at: self.clock.now(),
        };
        self.record_package(record, CHART_TYPE, archived.allow_overwrite).await
    }

    /// `PUT {repo}/{any path}/{name}-{version}.tgz`: the chart is stored at its canonical path
    /// (`charts/{name}-{version}.tgz`), which the answer names.
    pub(super) async fn helm_put(&self, request: super::UploadRequest) -> Result<HostedFile, HostedError> {
        let filename = request.path.as_str().rsplit('/').next().unwrap_or_default().to_string();
        let record = self.helm_upload(NamedArchive::put(request, filename)?).await?;
        Ok(stored_file(record, CHART_TYPE))
    }

    /// The index entries of the local Helm repository `repo`, URLs prefixed with `prefix`
    /// (`""` on the repository itself, the member's path through a virtual).
    pub async fn helm_entries(&self, repo: &str, prefix: &str) -> Result<Vec<IndexEntry>, HostedError> {
        let records = self.packages.all(repo).await.map_err(unavailable)?;
        Ok(records
            .iter()
            .map(|record| IndexEntry::from_record(record, prefix))
            .collect())
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
