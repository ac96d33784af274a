//! Untagged manifests on local docker repositories (`untagged_manifest_days`, opt-in): a
//! manifest no tag points at, neither pushed nor pulled by digest for that many days, is deleted
//! with its referrers entry, so GC then frees the layers only it used. Kept anyway: a child of an
//! index manifest that stays, and a referrer (signature, SBOM) whose subject stays. Pulls are
//! noted in batches (`PullRecorder`); retention flushes this replica's notes before it judges.
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};

use super::{Removal, RepositoryRetention, RetentionError, RetentionService, unavailable};
use crate::domain::digest::Digest;
use crate::domain::registry::{keys, manifest};
use crate::domain::retention::{Reason, days_before};
use crate::ports::HostedFile;

impl RetentionService {
    pub(super) async fn retain_untagged(
        &self,
        repo: &str,
        days: u32,
        dry_run: bool,
        done: &mut RepositoryRetention,
    ) -> Result<(), RetentionError> {
        let cutoff = days_before(self.clock.now(), days);
        for marker in self.rows(repo, keys::IMAGES_PREFIX).await? {
            let Some(image) = marker.path.strip_prefix(keys::IMAGES_PREFIX) else {
                continue;
            };
            self.retain_image_untagged(repo, image, cutoff, dry_run, done).await?;
        }
        Ok(())
    }

    async fn retain_image_untagged(
        &self,
        repo: &str,
        image: &str,
        cutoff: DateTime<Utc>,
        dry_run: bool,
        done: &mut RepositoryRetention,
    ) -> Result<(), RetentionError> {
        let tagged: HashSet<Digest> = self
            .rows(repo, &keys::tags_prefix(image))
            .await?
            .into_iter()
            .map(|r| r.digest)
            .collect();
        let manifests = self.rows(repo, &format!("{image}/_manifests/")).await?;
        // Old and untagged, then not pulled since the cutoff either.
        let mut candidates: HashMap<Digest, (HostedFile, Option<DateTime<Utc>>)> = HashMap::new();
        for row in &manifests {
            if tagged.contains(&row.digest) || row.created_at >= cutoff {
                continue;
            }
            let pulled = self.files.last_pulled(repo, &row.path).await.map_err(unavailable)?;
            if pulled.is_none_or(|at| at < cutoff) {
                candidates.insert(row.digest.clone(), (row.clone(), pulled));
            }
        }
        if candidates.is_empty() {
            return Ok(());
        }
        let leaving: Vec<(Digest, u64)> = candidates.keys().map(|d| (d.clone(), 0)).collect();
        let children = self.index_children(repo, image, &leaving).await?;
        let mut order: Vec<&Digest> = candidates.keys().collect();
        order.sort();
        let mut keep: HashSet<Digest> = children;
        for digest in &order {
            let (row, _) = &candidates[*digest];
            let subject = manifest::parse(&self.read_manifest(digest).await?, row.content_type.as_deref())
                .ok()
                .and_then(|m| m.subject);
            // A referrer of a manifest that stays stays with it.
            if let Some(subject) = subject
                && !candidates.contains_key(&subject)
                && manifests.iter().any(|m| m.digest == subject)
            {
                keep.insert((*digest).clone());
            }
        }
        for digest in order {
            if keep.contains(digest) {
                continue;
            }
            let (row, pulled) = &candidates[digest];
            let removed = dry_run || self.delete_manifest(repo, image, digest).await?;
            if removed {
                done.push(Removal {
                    path: format!("{image}@{digest}"),
                    size: row.size,
                    reason: Reason::UntaggedManifest,
                    last_accessed: *pulled,
                });
            }
        }
        Ok(())
    }
}
