//! Hosted Go modules: `PUT` of a version's `.mod`, `.zip` and (optional) `.info` at the GOPROXY
//! path the go command reads them from, each checked on the content store's temp file before it
//! is recorded (`go.mod` declares the module, the zip follows the module zip rules, `.info` names
//! the version); `@v/list`, `@latest` and missing `.info` files rendered from the records, so
//! every replica answers at once. A version is listed once it has both its `.mod` and `.zip`.
use super::pypi::Page;
use super::{HostedService, LocalRead, ReadRequest, UploadRequest, ingest_error, unavailable};
use crate::app::cas::{IngestOptions, Inspected};
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::formats::goproxy::hosted::{
    FileKind, GoPath, MAX_GO_MOD_BYTES, MAX_INFO_BYTES, MAX_ZIP_BYTES, check_go_mod, check_info, file_path,
    generated_info, latest, record_key, sort_versions,
};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::{KindSettings, PackageType};
use crate::ports::{HostedFile, PackageRecord, PortError};

fn refused(message: impl Into<String>) -> HostedError {
    HostedError::InvalidPackage(message.into())
}

/// The versions of `module` with both their `.mod` and `.zip`, sorted, with the newest time of
/// each (for a generated `.info`).
pub fn complete_versions(records: &[PackageRecord]) -> Vec<(String, chrono::DateTime<chrono::Utc>)> {
    let has = |version: &str, kind: FileKind| {
        records
            .iter()
            .any(|r| r.version == version && r.meta.get("kind").and_then(|k| k.as_str()) == Some(kind.ext()))
    };
    let mut versions: Vec<String> = records
        .iter()
        .map(|r| r.version.clone())
        .filter(|v| has(v, FileKind::Mod) && has(v, FileKind::Zip))
        .collect();
    sort_versions(&mut versions);
    versions.dedup();
    versions
        .into_iter()
        .map(|v| {
            let time = records
                .iter()
                .filter(|r| r.version == v)
                .map(|r| r.created_at)
                .max()
                .unwrap_or_default();
            (v, time)
        })
        .collect()
}

fn page(body: Vec<u8>, content_type: &'static str, request: &ReadRequest<'_>) -> LocalRead {
    let digest = Digest::of_bytes(&body);
    if request
        .if_none_match
        .is_some_and(|tags| super::etag_matches(tags, &digest))
    {
        return LocalRead::PageNotModified(digest);
    }
    LocalRead::Page(Page {
        body,
        content_type,
        digest,
    })
}

impl HostedService {
    /// `PUT {module}/@v/{version}.{mod,zip,info}`.
    pub(super) async fn goproxy_put(&self, request: UploadRequest) -> Result<HostedFile, HostedError> {
        let repository = self.resolve_local(&request.repo, PackageType::Goproxy).await?;
        let allow_overwrite = matches!(&repository.settings, KindSettings::Local(l) if l.allow_overwrite);
        let repo = repository.name.to_string();
        let (module, version, kind) = match GoPath::parse(request.path.as_str()) {
            Some(Ok(GoPath::File { module, version, kind })) => (module, version, kind),
            Some(Err(e)) => return Err(refused(e.0)),
            _ => {
                return Err(refused(format!(
                    "'{}' is not a module version file ({{module}}/@v/{{version}}.mod, .zip or .info)",
                    request.path
                )));
            }
        };
        let path = file_path(&module, &version, kind);
        if path != request.path.as_str() {
            return Err(refused(format!("use the canonical case-encoded path '{path}'")));
        }
        let expected = super::expected_digest(request.checksum.as_deref())?;
        let limit = match kind {
            FileKind::Zip => MAX_ZIP_BYTES,
            FileKind::Mod => MAX_GO_MOD_BYTES,
            FileKind::Info => MAX_INFO_BYTES,
        }
        .min(self.max_upload);
        if request.declared_size.is_some_and(|s| s > limit) {
            return Err(HostedError::TooLarge { limit });
        }
        let key = record_key(&module, &version, kind);
        let existing = self.packages.get(&repo, &key).await.map_err(unavailable)?;
        if existing.is_some() && !allow_overwrite {
            return Err(HostedError::AlreadyExists(path));
        }
        let options = IngestOptions {
            expected,
            limit: Some(limit),
            content_type: Some(kind.content_type().to_string()),
            size_hint: request.declared_size,
            ..IngestOptions::default()
        };
        let (m, v) = (module.clone(), version.clone());
        let (stored, ()) = self
            .cas
            .ingest_inspected(request.body, options, move |file| match kind {
                FileKind::Zip => super::archive::go_module_zip(file, &m, &v),
                FileKind::Mod => {
                    let text = super::archive::small_text(file, MAX_GO_MOD_BYTES, "go.mod")?;
                    check_go_mod(&text, &m, &v).map_err(|e| e.0)
                }
                FileKind::Info => {
                    let text = super::archive::small_text(file, MAX_INFO_BYTES, ".info")?;
                    check_info(&text, &v).map_err(|e| e.0)
                }
            })
            .await
            .map_err(|e| match e {
                Inspected::Ingest(e) => ingest_error(e),
                Inspected::Rejected(reason) => refused(reason),
            })?;
        let now = self.clock.now();
        let record = PackageRecord {
            repo: repo.clone(),
            name: module,
            version,
            key: key.clone(),
            filename: path.rsplit('/').next().unwrap_or_default().to_string(),
            path: path.clone(),
            digest: stored.digest.clone(),
            size: stored.size,
            meta: serde_json::json!({ "kind": kind.ext() }),
            created_at: now,
        };
        if existing.is_some() {
            self.packages.delete(&repo, &key).await.map_err(unavailable)?;
        }
        // The record first (the conflict check between racing uploads), then the file; a
        // failed file write takes the record with it.
        match self.packages.create(&record).await {
            Ok(()) => {}
            Err(PortError::Conflict) => return Err(HostedError::AlreadyExists(path)),
            Err(e) => return Err(unavailable(e)),
        }
        let file = HostedFile {
            repo: repo.clone(),
            path,
            digest: stored.digest,
            size: stored.size,
            content_type: Some(kind.content_type().to_string()),
            created_at: now,
        };
        if let Err(e) = self.files.upsert(&file).await {
            let _ = self.packages.delete(&repo, &key).await;
            return Err(unavailable(e));
        }
        Ok(file)
    }

    /// `@v/list`, `@latest`, a version file (a missing `.info` generated), or any other file.
    pub(super) async fn goproxy_read(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<LocalRead, HostedError> {
        let not_found = || HostedError::NotFound(path.to_string());
        let parsed = match GoPath::parse(path.as_str()) {
            None => return Ok(LocalRead::File(self.read_file(repo, path, request).await?)),
            Some(Err(_)) => return Err(not_found()),
            Some(Ok(p)) => p,
        };
        match parsed {
            GoPath::List { module } => {
                let records = self.packages.files(repo, &module).await.map_err(unavailable)?;
                let mut body = String::new();
                for (version, _) in complete_versions(&records) {
                    body.push_str(&version);
                    body.push('\n');
                }
                Ok(page(body.into_bytes(), "text/plain; charset=utf-8", &request))
            }
            GoPath::Latest { module } => {
                let records = self.packages.files(repo, &module).await.map_err(unavailable)?;
                let versions = complete_versions(&records);
                let names: Vec<String> = versions.iter().map(|(v, _)| v.clone()).collect();
                let newest = latest(&names).ok_or_else(not_found)?;
                let time = versions
                    .iter()
                    .find(|(v, _)| v == newest)
                    .map(|(_, t)| *t)
                    .unwrap_or_default();
                Ok(page(generated_info(newest, time), "application/json", &request))
            }
            GoPath::File { module, version, kind } => {
                if file_path(&module, &version, kind) != path.as_str() {
                    return Err(not_found());
                }
                if kind == FileKind::Info
                    && self
                        .packages
                        .get(repo, &record_key(&module, &version, FileKind::Info))
                        .await
                        .map_err(unavailable)?
                        .is_none()
                {
                    let records = self.packages.files(repo, &module).await.map_err(unavailable)?;
                    let (_, time) = complete_versions(&records)
                        .into_iter()
                        .find(|(v, _)| *v == version)
                        .ok_or_else(not_found)?;
                    return Ok(page(generated_info(&version, time), "application/json", &request));
                }
                Ok(LocalRead::File(self.read_file(repo, path, request).await?))
            }
        }
    }
}

#[cfg(test)]
#[path = "goproxy_tests.rs"]
mod tests;
