//! GC's first pass over local docker repositories: `_blobs` links that no manifest of their image
//! references any more (the image's manifests were deleted, or a push never finished) are
//! dropped once older than the grace period, so the blob pass can then free the layers.
//!
//! A manifest pushed while the pass runs may name a link the pass has just dropped (the push
//! checked the link before the delete). Two things keep that from losing data: dropping a link
//! refreshes its blob's last reference, so the blob outlives this run's blob pass and the next
//! grace period; and every pass re-creates the link of any digest a manifest names whose blob
//! is still recorded. Until that next pass, a pull of such a layer may answer BLOB_UNKNOWN.
//!
//! Memory: the digests one image's manifests name, and the names of images with links; never
//! the whole repository.
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::{BTreeSet, HashSet};

use super::{GC_PAGE, GcError, GcReport, GcService, unavailable};
use crate::domain::digest::Digest;
use crate::domain::registry::{keys, manifest};
use crate::domain::repository::{Kind, PackageType};
use crate::ports::{BlobRecord, HostedFile, PageRequest};

const BLOBS_SEGMENT: &str = "/_blobs/";

impl GcService {
    pub(super) async fn unreferenced_links(&self, cutoff: DateTime<Utc>, report: &mut GcReport) -> Result<(), GcError> {
        let repos = self.catalog.list().await.map_err(unavailable)?;
        for repo in repos {
            if repo.package != PackageType::Docker || repo.kind() != Kind::Local {
                continue;
            }
            let name = repo.name.as_str();
            for image in self.images_with_links(name).await? {
                self.sweep_image(name, &image, cutoff, report).await?;
            }
        }
        Ok(())
    }

    /// Names of the images of `repo` that hold at least one `_blobs` link.
    async fn images_with_links(&self, repo: &str) -> Result<BTreeSet<String>, GcError> {
        let mut images = BTreeSet::new();
        self.each_row(repo, "", |row| {
            if let Some((image, _)) = row.path.split_once(BLOBS_SEGMENT) {
                images.insert(image.to_string());
            }
        })
        .await?;
        Ok(images)
    }

    async fn sweep_image(
        &self,
        repo: &str,
        image: &str,
        cutoff: DateTime<Utc>,
        report: &mut GcReport,
    ) -> Result<(), GcError> {
        let referenced = self.referenced_by_manifests(repo, image).await?;
        let mut linked = HashSet::new();
        let mut unreferenced = Vec::new();
        self.each_row(repo, &format!("{image}{BLOBS_SEGMENT}"), |row| {
            linked.insert(row.digest.clone());
            if !referenced.contains(&row.digest) && row.created_at < cutoff {
                unreferenced.push(row);
            }
        })
        .await?;
        for link in unreferenced {
            report.links_deleted += 1;
            if !report.dry_run {
                self.drop_link(&link).await?;
            }
        }
        for digest in referenced.difference(&linked) {
            if !report.dry_run {
                self.restore_link(repo, image, digest).await?;
            }
        }
        Ok(())
    }

    /// Every blob the image's stored manifests name (config and layers). A manifest that cannot
    /// be read or parsed fails the run: dropping links on a partial view could lose layers.
    async fn referenced_by_manifests(&self, repo: &str, image: &str) -> Result<HashSet<Digest>, GcError> {
        let mut manifests = Vec::new();
        self.each_row(repo, &format!("{image}/_manifests/"), |row| manifests.push(row))
            .await?;
        let mut referenced = HashSet::new();
        for row in manifests {
            let body = self.read_manifest(&row.digest).await?;
            let parsed = manifest::parse(&body, row.content_type.as_deref())
                .map_err(|e| GcError::Unavailable(format!("stored manifest {} unreadable: {e}", row.digest)))?;
            referenced.extend(parsed.blobs);
        }
        Ok(referenced)
    }

    async fn read_manifest(&self, digest: &Digest) -> Result<Vec<u8>, GcError> {
        let object = self
            .blobs
            .get(&digest.blob_key(), None)
            .await
            .map_err(|e| GcError::Unavailable(format!("stored manifest {digest}: {e}")))?;
        let mut body = object.body;
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| GcError::Unavailable(format!("stored manifest {digest}: {e}")))?;
            if (out.len() + chunk.len()) as u64 > manifest::MAX_MANIFEST_BYTES {
                return Err(GcError::Unavailable(format!("stored manifest {digest} is too large")));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// The link goes and its blob's last reference becomes now (see the module doc).
    async fn drop_link(&self, link: &HostedFile) -> Result<(), GcError> {
        let now = self.clock.now();
        self.records
            .record(&BlobRecord {
                digest: link.digest.clone(),
                size: link.size,
                content_type: None,
                created_at: now,
                last_referenced: now,
            })
            .await
            .map_err(unavailable)?;
        self.files.delete(&link.repo, &link.path).await.map_err(unavailable)?;
        Ok(())
    }

    async fn restore_link(&self, repo: &str, image: &str, digest: &Digest) -> Result<(), GcError> {
        let Some(blob) = self.records.get(digest).await.map_err(unavailable)? else {
            return Ok(());
        };
        tracing::info!(repository = repo, image, digest = %digest, "GC restores a blob link a manifest names");
        let row = HostedFile {
            repo: repo.to_string(),
            path: keys::blob_link(image, digest),
            digest: digest.clone(),
            size: blob.size,
            content_type: blob.content_type,
            created_at: self.clock.now(),
        };
        self.files.upsert(&row).await.map_err(unavailable)
    }

    /// Pages through the rows of `repo` under `prefix`.
    async fn each_row(&self, repo: &str, prefix: &str, mut visit: impl FnMut(HostedFile)) -> Result<(), GcError> {
        let mut after = None;
        loop {
            let page = PageRequest {
                prefix: prefix.to_string(),
                after: after.clone(),
                limit: GC_PAGE,
            };
            let rows = self.files.list(repo, &page).await.map_err(unavailable)?;
            let last_page = (rows.len() as u64) < GC_PAGE;
            after = rows.last().map(|r| r.path.clone());
            rows.into_iter().for_each(&mut visit);
            if last_page {
                return Ok(());
            }
        }
    }
}
