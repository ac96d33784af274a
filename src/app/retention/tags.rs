//! Tag retention on local docker repositories (`keep_last_tags`, `keep_tag_patterns`): per
//! image, the tags beyond the most recently pushed ones that no pattern keeps are deleted, each
//! by a conditional delete that spares a tag re-pushed since it was read. A manifest left with no
//! tag (and named by no remaining index of the image) is deleted with its referrers entry, so
//! the next GC drops its layer links and then frees the blobs no other manifest uses. Manifests
//! that had no tag to begin with are not this policy's business.
use futures::StreamExt;
use regex::Regex;
use std::collections::HashSet;

use super::{PAGE, Removal, RepositoryRetention, RetentionError, RetentionService, unavailable};
use crate::domain::digest::Digest;
use crate::domain::registry::{keys, manifest};
use crate::domain::retention::{Reason, Tagged, tags_to_remove};
use crate::ports::{HostedFile, PageRequest};

impl RetentionService {
    pub(super) async fn retain_tags(
        &self,
        repo: &str,
        keep_last: u32,
        patterns: &[String],
        dry_run: bool,
    ) -> Result<RepositoryRetention, RetentionError> {
        // Validated when the repository was saved; one that no longer compiles keeps nothing
        // from being deleted by mistake: it is an error.
        let keep = patterns
            .iter()
            .map(|p| Regex::new(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RetentionError::Unavailable(format!("keep_tag_patterns of '{repo}': {e}")))?;
        let mut done = RepositoryRetention {
            name: repo.to_string(),
            ..RepositoryRetention::default()
        };
        for marker in self.rows(repo, keys::IMAGES_PREFIX).await? {
            let Some(image) = marker.path.strip_prefix(keys::IMAGES_PREFIX) else {
                continue;
            };
            self.retain_image_tags(repo, image, keep_last, &keep, dry_run, &mut done)
                .await?;
        }
        Ok(done)
    }

    async fn retain_image_tags(
        &self,
        repo: &str,
        image: &str,
        keep_last: u32,
        keep: &[Regex],
        dry_run: bool,
        done: &mut RepositoryRetention,
    ) -> Result<(), RetentionError> {
        let prefix = keys::tags_prefix(image);
        let rows = self.rows(repo, &prefix).await?;
        let tags: Vec<Tagged> = rows
            .iter()
            .map(|r| Tagged {
                tag: r.path[prefix.len()..].to_string(),
                pushed_at: r.created_at,
            })
            .collect();
        let remove = tags_to_remove(&tags, keep_last, keep);
        if remove.is_empty() {
            return Ok(());
        }
        let mut untagged: Vec<(Digest, u64)> = Vec::new();
        for &i in &remove {
            let row = &rows[i];
            let removed = dry_run || self.files.delete_unchanged(row).await.map_err(unavailable)?;
            if removed {
                done.push(Removal {
                    path: format!("{image}:{}", tags[i].tag),
                    size: row.size,
                    reason: Reason::KeepLastTags,
                    last_accessed: None,
                });
                if !untagged.iter().any(|(d, _)| *d == row.digest) {
                    untagged.push((row.digest.clone(), row.size));
                }
            }
        }
        // What still holds each manifest: a remaining tag (read again, so a push meanwhile
        // counts), or an index manifest of the image that names it.
        let still_tagged: HashSet<Digest> = if dry_run {
            rows.iter()
                .enumerate()
                .filter(|(i, _)| !remove.contains(i))
                .map(|(_, r)| r.digest.clone())
                .collect()
        } else {
            self.rows(repo, &prefix).await?.into_iter().map(|r| r.digest).collect()
        };
        untagged.retain(|(d, _)| !still_tagged.contains(d));
        if untagged.is_empty() {
            return Ok(());
        }
        let children = self.index_children(repo, image, &untagged).await?;
        for (digest, size) in untagged {
            if children.contains(&digest) {
                continue;
            }
            let removed = dry_run || self.delete_manifest(repo, image, &digest).await?;
            if removed {
                done.push(Removal {
                    path: format!("{image}@{digest}"),
                    size,
                    reason: Reason::KeepLastTags,
                    last_accessed: None,
                });
            }
        }
        Ok(())
    }

    /// The manifests the image's index manifests (other than `leaving`) name.
    pub(super) async fn index_children(
        &self,
        repo: &str,
        image: &str,
        leaving: &[(Digest, u64)],
    ) -> Result<HashSet<Digest>, RetentionError> {
        let mut children = HashSet::new();
        for row in self.rows(repo, &format!("{image}/_manifests/")).await? {
            let index_type = row
                .content_type
                .as_deref()
                .is_some_and(|t| t.contains("index") || t.contains("manifest.list"));
            if !index_type || leaving.iter().any(|(d, _)| *d == row.digest) {
                continue;
            }
            let parsed = manifest::parse(&self.read_manifest(&row.digest).await?, row.content_type.as_deref())
                .map_err(|e| RetentionError::Unavailable(format!("stored manifest {} unreadable: {e}", row.digest)))?;
            children.extend(parsed.manifests);
        }
        Ok(children)
    }

    /// The manifest row and its referrers entry go; its blob and layer links stay for GC.
    pub(super) async fn delete_manifest(
        &self,
        repo: &str,
        image: &str,
        digest: &Digest,
    ) -> Result<bool, RetentionError> {
        let Some(row) = self
            .files
            .get(repo, &keys::manifest_row(image, digest))
            .await
            .map_err(unavailable)?
        else {
            return Ok(false);
        };
        let subject = manifest::parse(&self.read_manifest(digest).await?, row.content_type.as_deref())
            .ok()
            .and_then(|m| m.subject);
        if let Some(subject) = subject {
            self.files
                .delete(repo, &keys::referrer_row(image, &subject, digest))
                .await
                .map_err(unavailable)?;
        }
        self.files.delete_unchanged(&row).await.map_err(unavailable)
    }

    pub(super) async fn read_manifest(&self, digest: &Digest) -> Result<Vec<u8>, RetentionError> {
        let failed = |e: &dyn std::fmt::Display| RetentionError::Unavailable(format!("stored manifest {digest}: {e}"));
        let object = self.blobs.get(&digest.blob_key(), None).await.map_err(|e| failed(&e))?;
        let mut body = object.body;
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| failed(&e))?;
            if (out.len() + chunk.len()) as u64 > manifest::MAX_MANIFEST_BYTES {
                return Err(failed(&"too large"));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Every row of `repo` under `prefix`, page by page (one image's tags or manifests, or the
    /// image markers).
    pub(super) async fn rows(&self, repo: &str, prefix: &str) -> Result<Vec<HostedFile>, RetentionError> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = PageRequest {
                prefix: prefix.to_string(),
                after: after.clone(),
                limit: PAGE,
            };
            let rows = self.files.list(repo, &page).await.map_err(unavailable)?;
            let last_page = (rows.len() as u64) < PAGE;
            after = rows.last().map(|r| r.path.clone());
            all.extend(rows);
            if last_page {
                return Ok(all);
            }
        }
    }
}
