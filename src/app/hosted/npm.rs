//! Hosted npm: `npm publish` (the tarball checked against the publish and its own package.json
//! while it sits in the content store's temp file), deprecate, dist-tags and unpublish, and
//! packuments rendered from the package records (any replica, right after a publish).
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::pypi::Page;
use super::{HostedService, LocalRead, ReadRequest, ingest_error, unavailable};
use crate::app::cas::{IngestOptions, Inspected};
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::formats::npm::ABBREVIATED;
use crate::domain::formats::npm::hosted::{
    PACKAGE_RECORD_VERSION, check_name, check_package_json, check_publish, check_tag, check_version, parse_update,
    tarball_package, tarball_path, version_key, with_dist,
};
use crate::domain::formats::npm::packument::{effective_tags, render, stored_tags, tags_path, versions};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;
use crate::ports::{ByteStream, HostedFile, PackageRecord, PortError};

/// A tarball as the HTTP adapter decoded it out of the publish body.
pub struct NpmTarball {
    /// Its name in `_attachments`.
    pub filename: String,
    pub body: ByteStream,
    pub size: u64,
    /// Hex digests the adapter computed while decoding.
    pub sha512: String,
    pub sha1: String,
}

/// `npm publish`: the packument without `_attachments`, and its one tarball.
pub struct NpmPublish {
    pub repo: String,
    /// The package named by the URL.
    pub name: String,
    pub doc: Value,
    pub tarball: NpmTarball,
}

fn refused(message: impl Into<String>) -> HostedError {
    HostedError::InvalidPackage(message.into())
}

fn json_page(doc: &Value, content_type: &'static str) -> Page {
    let body = serde_json::to_vec(doc).unwrap_or_default();
    let digest = Digest::of_bytes(&body);
    Page {
        body,
        content_type,
        digest,
    }
}

impl HostedService {
    pub async fn npm_publish(&self, publish: NpmPublish) -> Result<PackageRecord, HostedError> {
        let repo = self.resolve_local(&publish.repo, PackageType::Npm).await?;
        let repo = repo.name.to_string();
        let tarball = publish.tarball;
        let checked = check_publish(&publish.name, &publish.doc, &tarball.filename).map_err(refused)?;
        if tarball.size > self.max_upload {
            return Err(HostedError::TooLarge { limit: self.max_upload });
        }
        for (promised, actual, what) in [
            (&checked.sha512, &tarball.sha512, "dist.integrity (sha512)"),
            (&checked.shasum, &tarball.sha1, "dist.shasum (sha1)"),
        ] {
            if let Some(promised) = promised
                && !promised.eq_ignore_ascii_case(actual)
            {
                return Err(HostedError::ChecksumMismatch {
                    expected: format!("{what} {promised}"),
                    actual: actual.clone(),
                });
            }
        }
        let key = version_key(&checked.name, &checked.version);
        if self.packages.get(&repo, &key).await.map_err(unavailable)?.is_some() {
            return Err(HostedError::AlreadyExists(key));
        }
        let options = IngestOptions {
            expected: None,
            expected_sha512: Some(tarball.sha512.clone()),
            limit: Some(self.max_upload),
            content_type: Some("application/octet-stream".into()),
            size_hint: Some(tarball.size),
        };
        let (name, version) = (checked.name.clone(), checked.version.clone());
        let (stored, ()) = self
            .cas
            .ingest_inspected(tarball.body, options, move |file| {
                let text = super::archive::npm_package_json(file)?;
                check_package_json(&text, &name, &version)
            })
            .await
            .map_err(|e| match e {
                Inspected::Ingest(e) => ingest_error(e),
                Inspected::Rejected(reason) => refused(reason),
            })?;
        let now = self.clock.now();
        let path = tarball_path(&checked.name, &checked.version);
        let record = PackageRecord {
            repo: repo.clone(),
            name: checked.name.clone(),
            version: checked.version.clone(),
            key: key.clone(),
            filename: tarball.filename,
            path: path.clone(),
            digest: stored.digest.clone(),
            size: stored.size,
            meta: with_dist(checked.manifest, &tarball.sha512, &tarball.sha1),
            created_at: now,
        };
        match self.packages.create(&record).await {
            Ok(()) => {}
            Err(PortError::Conflict) => return Err(HostedError::AlreadyExists(key)),
            Err(e) => return Err(unavailable(e)),
        }
        let file = HostedFile {
            repo: repo.clone(),
            path,
            digest: stored.digest,
            size: stored.size,
            content_type: Some("application/octet-stream".into()),
            created_at: now,
        };
        if let Err(e) = self.files.upsert(&file).await {
            // The record goes too, so the packument never lists a tarball that cannot be served.
            let _ = self.packages.delete(&repo, &key).await;
            return Err(unavailable(e));
        }
        self.update_tags(&repo, &checked.name, |tags| tags.extend(checked.tags))
            .await?;
        Ok(record)
    }

    /// The package record of `name` (its dist-tags), created on the first publish.
    /// Read-modify-write: two tag changes of one package at the same instant may lose one.
    async fn update_tags(
        &self,
        repo: &str,
        name: &str,
        change: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> Result<(), HostedError> {
        let now = self.clock.now();
        let existing = self.packages.get(repo, name).await.map_err(unavailable)?;
        let mut tags: BTreeMap<String, String> = existing
            .as_ref()
            .and_then(|r| serde_json::from_value(r.meta["dist-tags"].clone()).ok())
            .unwrap_or_default();
        change(&mut tags);
        let meta = json!({"dist-tags": tags, "modified": now.to_rfc3339()});
        if existing.is_some() {
            self.packages.set_meta(repo, name, &meta).await.map_err(unavailable)?;
            return Ok(());
        }
        let record = PackageRecord {
            repo: repo.to_string(),
            name: name.to_string(),
            version: PACKAGE_RECORD_VERSION.to_string(),
            key: name.to_string(),
            filename: String::new(),
            path: String::new(),
            digest: Digest::of_bytes(b""),
            size: 0,
            meta: meta.clone(),
            created_at: now,
        };
        match self.packages.create(&record).await {
            Ok(()) => Ok(()),
            // Another publish made it first: change that one.
            Err(PortError::Conflict) => {
                self.packages.set_meta(repo, name, &meta).await.map_err(unavailable)?;
                Ok(())
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// A package's records, 404 when it has no version.
    async fn npm_records(&self, repo: &str, name: &str) -> Result<Vec<PackageRecord>, HostedError> {
        check_name(name).map_err(|_| HostedError::NotFound(name.to_string()))?;
        let records = self.packages.files(repo, name).await.map_err(unavailable)?;
        if versions(&records).next().is_none() {
            return Err(HostedError::NotFound(name.to_string()));
        }
        Ok(records)
    }

    /// The packument of a local npm package, its links under `base` (`None`: no such package).
    pub async fn npm_packument(
        &self,
        repo: &str,
        name: &str,
        base: &str,
        abbreviated: bool,
    ) -> Result<Option<Value>, HostedError> {
        match self.npm_records(repo, name).await {
            Ok(records) => Ok(render(name, &records, base, abbreviated)),
            Err(HostedError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether a local npm repository holds any version of `name`.
    pub async fn npm_has(&self, repo: &str, name: &str) -> Result<bool, HostedError> {
        let records = self.packages.files(repo, name).await.map_err(unavailable)?;
        Ok(versions(&records).next().is_some())
    }

    /// A metadata-only `PUT` of the packument: deprecations and dist-tags; with `removal`
    /// (npm unpublish's `PUT …/-rev/…`) versions the document no longer lists are unpublished.
    /// Versions the document names but this repository lacks are ignored (a concurrent unpublish).
    pub async fn npm_update(&self, repo: &str, name: &str, doc: &Value, removal: bool) -> Result<(), HostedError> {
        let repo = self.resolve_local(repo, PackageType::Npm).await?;
        let repo = repo.name.as_str();
        let update = parse_update(name, doc).map_err(refused)?;
        let records = self.npm_records(repo, name).await?;
        for record in versions(&records) {
            match update.versions.get(&record.version) {
                None if removal => self.remove_version(repo, record).await?,
                None => {}
                Some(deprecated) => {
                    let current = record.meta.get("deprecated").and_then(Value::as_str);
                    if current != deprecated.as_deref() {
                        let mut meta = record.meta.clone();
                        match (meta.as_object_mut(), deprecated) {
                            (Some(object), Some(message)) => {
                                object.insert("deprecated".into(), Value::String(message.clone()));
                            }
                            (Some(object), None) => {
                                object.remove("deprecated");
                            }
                            (None, _) => {}
                        }
                        self.packages
                            .set_meta(repo, &record.key, &meta)
                            .await
                            .map_err(unavailable)?;
                    }
                }
            }
        }
        if let Some(tags) = update.tags {
            self.update_tags(repo, name, |stored| *stored = tags).await?;
        }
        Ok(())
    }

    async fn remove_version(&self, repo: &str, record: &PackageRecord) -> Result<(), HostedError> {
        self.packages.delete(repo, &record.key).await.map_err(unavailable)?;
        self.files.delete(repo, &record.path).await.map_err(unavailable)?;
        Ok(())
    }

    /// `npm unpublish <name> --force`: every version, its tarball and its tags.
    pub async fn npm_unpublish(&self, repo: &str, name: &str) -> Result<(), HostedError> {
        let repo = self.resolve_local(repo, PackageType::Npm).await?;
        let repo = repo.name.as_str();
        let records = self.npm_records(repo, name).await?;
        for record in versions(&records) {
            self.remove_version(repo, record).await?;
        }
        self.packages.delete(repo, name).await.map_err(unavailable)?;
        Ok(())
    }

    /// `DELETE` of a tarball: the version it holds is unpublished; a tarball already gone (npm
    /// unpublish removes the version first, then deletes its tarball) is not an error.
    pub(super) async fn npm_delete_tarball(&self, repo: &str, path: &str) -> Result<(), HostedError> {
        if tarball_package(path).is_none() {
            return Err(HostedError::NotFound(path.to_string()));
        }
        if let Some(record) = self.packages.by_path(repo, path).await.map_err(unavailable)? {
            self.remove_version(repo, &record).await?;
        }
        Ok(())
    }

    /// `npm dist-tag add`: `tag` names `version`, which must exist.
    pub async fn npm_set_tag(&self, repo: &str, name: &str, tag: &str, version: &str) -> Result<(), HostedError> {
        let repo = self.resolve_local(repo, PackageType::Npm).await?;
        let repo = repo.name.as_str();
        check_tag(tag).map_err(refused)?;
        let version = check_version(version).map_err(refused)?.to_string();
        let records = self.npm_records(repo, name).await?;
        if !versions(&records).any(|r| r.version == version) {
            return Err(HostedError::NotFound(format!("{name}@{version}")));
        }
        self.update_tags(repo, name, |tags| {
            tags.insert(tag.to_string(), version);
        })
        .await
    }

    /// `npm dist-tag rm`.
    pub async fn npm_remove_tag(&self, repo: &str, name: &str, tag: &str) -> Result<(), HostedError> {
        let repo = self.resolve_local(repo, PackageType::Npm).await?;
        let repo = repo.name.as_str();
        let records = self.npm_records(repo, name).await?;
        if !stored_tags(&records).contains_key(tag) {
            return Err(HostedError::NotFound(format!("dist-tag '{tag:.64}' of {name}")));
        }
        self.update_tags(repo, name, |tags| {
            tags.remove(tag);
        })
        .await
    }

    /// A packument, a package's dist-tags or a tarball of the local repository `repo`.
    pub(super) async fn npm_read(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<LocalRead, HostedError> {
        if tarball_package(path.as_str()).is_some() {
            return Ok(LocalRead::File(self.read_file(repo, path, request).await?));
        }
        let page = if let Some(name) = tags_path(path.as_str()) {
            let records = self.npm_records(repo, name).await?;
            let present: Vec<&str> = versions(&records).map(|r| r.version.as_str()).collect();
            let tags = effective_tags(&stored_tags(&records), &present);
            json_page(&json!(tags), "application/json")
        } else {
            let name = path.as_str();
            let base = request
                .public_base
                .ok_or_else(|| HostedError::Unavailable("no public URL to link tarballs to".into()))?;
            let abbreviated = request.accept.is_some_and(|a| a.contains(ABBREVIATED));
            let records = self.npm_records(repo, name).await?;
            let doc = render(name, &records, base, abbreviated).ok_or_else(|| HostedError::NotFound(name.into()))?;
            json_page(&doc, if abbreviated { ABBREVIATED } else { "application/json" })
        };
        if request
            .if_none_match
            .is_some_and(|tags| super::etag_matches(tags, &page.digest))
        {
            return Ok(LocalRead::PageNotModified(page.digest));
        }
        Ok(LocalRead::Page(page))
    }
}

#[cfg(test)]
#[path = "npm_tests.rs"]
mod tests;
