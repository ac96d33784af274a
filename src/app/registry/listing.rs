//! `tags/list`, `_catalog` and the referrers API.
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

use super::{Member, RegistryService, unavailable};
use crate::domain::digest::Digest;
use crate::domain::registry::error::RegistryError;
use crate::domain::registry::keys;
use crate::domain::registry::manifest::{self, OCI_INDEX};
use crate::domain::registry::path::ImageName;
use crate::domain::repository::{Kind, PackageType};
use crate::ports::PageRequest;

/// Tags returned when the client gives no `n`.
const MAX_UNPAGED: u64 = 10_000;

/// One page of tags; `next` is the `last` to ask for the following page.
#[derive(Debug, PartialEq, Eq)]
pub struct TagsPage {
    pub tags: Vec<String>,
    pub next: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct CatalogPage {
    pub repositories: Vec<String>,
    pub next: Option<String>,
}

/// Takes at most `n` (all when `None`) of the sorted values, saying where to continue.
fn paginate(all: BTreeSet<String>, n: Option<u64>) -> (Vec<String>, Option<String>) {
    let mut items: Vec<String> = all.into_iter().collect();
    match n {
        Some(n) if (items.len() as u64) > n => {
            items.truncate(n as usize);
            let next = items.last().cloned();
            (items, next)
        }
        _ => (items, None),
    }
}

impl RegistryService {
    /// Tags in lexical order after `last`, at most `n`. An image with no manifest anywhere is
    /// `NAME_UNKNOWN`.
    pub async fn tags(&self, name: &ImageName, n: Option<u64>, last: Option<&str>) -> Result<TagsPage, RegistryError> {
        let prefix = keys::tags_prefix(&name.image);
        let mut known = false;
        let mut all = BTreeSet::new();
        for member in self.members(name).await? {
            match member {
                Member::Local(repo) => {
                    let marker = keys::image_marker(&name.image);
                    if self.files.get(&repo, &marker).await.map_err(unavailable)?.is_none() {
                        continue;
                    }
                    known = true;
                    let page = PageRequest {
                        prefix: prefix.clone(),
                        after: last.map(|l| format!("{prefix}{l}")),
                        // One more than asked, to know whether another page exists.
                        limit: n.map_or(MAX_UNPAGED, |n| n + 1),
                    };
                    let rows = self.files.list(&repo, &page).await.map_err(unavailable)?;
                    all.extend(
                        rows.into_iter()
                            .filter_map(|r| r.path.strip_prefix(&prefix).map(str::to_string)),
                    );
                }
                Member::Remote(repo) => {
                    if let Some(tags) = self.remote_tags(&repo, &name.image).await? {
                        known = true;
                        all.extend(tags.into_iter().filter(|t| last.is_none_or(|l| t.as_str() > l)));
                    }
                }
            }
        }
        if !known {
            return Err(RegistryError::NameUnknown(name.full()));
        }
        let (tags, next) = paginate(all, n);
        Ok(TagsPage { tags, next })
    }

    /// Full names (`repo/image`) of images in local docker repositories that `may_read` allows.
    pub async fn catalog(
        &self,
        may_read: &(dyn Fn(&str) -> bool + Send + Sync),
        n: Option<u64>,
        last: Option<&str>,
    ) -> Result<CatalogPage, RegistryError> {
        let repos = self.catalog.list().await.map_err(unavailable)?;
        let mut all = BTreeSet::new();
        for repo in repos {
            let name = repo.name.as_str();
            if repo.package != PackageType::Docker || repo.kind() != Kind::Local || !may_read(name) {
                continue;
            }
            for row in self.scan(name, keys::IMAGES_PREFIX).await? {
                if let Some(image) = row.path.strip_prefix(keys::IMAGES_PREFIX) {
                    let full = format!("{name}/{image}");
                    if last.is_none_or(|l| full.as_str() > l) {
                        all.insert(full);
                    }
                }
            }
        }
        let (repositories, next) = paginate(all, n);
        Ok(CatalogPage { repositories, next })
    }

    /// The OCI image index of manifests whose `subject` is `subject`, optionally only those of
    /// one `artifactType`. An unknown subject has an empty list.
    pub async fn referrers(
        &self,
        name: &ImageName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Value, RegistryError> {
        let order = self.read_order(name).await?;
        let mut seen = BTreeSet::new();
        let mut descriptors = Vec::new();
        for repo in &order {
            for row in self.scan(repo, &keys::referrers_prefix(&name.image, subject)).await? {
                if !seen.insert(row.digest.to_string()) {
                    continue;
                }
                let body = self.read_small(&row.digest).await?;
                let Ok(parsed) = manifest::parse(&body, row.content_type.as_deref()) else {
                    continue;
                };
                if artifact_type.is_some_and(|want| parsed.artifact_type.as_deref() != Some(want)) {
                    continue;
                }
                let mut d = Map::new();
                d.insert("mediaType".into(), json!(parsed.media_type));
                d.insert("digest".into(), json!(parsed.digest.to_string()));
                d.insert("size".into(), json!(parsed.size));
                if let Some(t) = parsed.artifact_type {
                    d.insert("artifactType".into(), json!(t));
                }
                if let Some(a) = parsed.annotations {
                    d.insert("annotations".into(), Value::Object(a));
                }
                descriptors.push(Value::Object(d));
            }
        }
        Ok(json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": descriptors,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination() {
        let set: BTreeSet<String> = ["c", "a", "b"].iter().map(|s| s.to_string()).collect();
        assert_eq!(
            paginate(set.clone(), Some(2)),
            (vec!["a".into(), "b".into()], Some("b".into()))
        );
        assert_eq!(paginate(set.clone(), Some(3)).1, None);
        assert_eq!(paginate(set, None).0.len(), 3);
    }
}
