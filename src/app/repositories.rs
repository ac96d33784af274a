//! Managing repository definitions: through the API and from `[[repository]]` config tables.
use std::sync::Arc;

use crate::domain::error::{FieldError, RepositoryError};
use crate::domain::repository::{Kind, KindSettings, ManagedBy, PackageType, Repository, RepositoryDraft};
use crate::ports::{ArtifactIndex, HostedFiles, HostedPackages, PortError, RepositoryCatalog};

pub struct RepositoryService {
    catalog: Arc<dyn RepositoryCatalog>,
    files: Arc<dyn HostedFiles>,
    packages: Arc<dyn HostedPackages>,
    index: Arc<dyn ArtifactIndex>,
}

fn unavailable(e: PortError) -> RepositoryError {
    RepositoryError::Unavailable(e.to_string())
}

/// Which repositories to list.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    pub kind: Option<Kind>,
    pub package: Option<PackageType>,
    /// Names after this one (the previous page's cursor).
    pub after: Option<String>,
    pub limit: usize,
}

/// What applying the config file did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub deleted: Vec<String>,
}

/// `tls_insecure_skip_verify` is worth a warning every time it is saved.
fn warn_if_unverified(repo: &Repository) {
    if let KindSettings::Remote(settings) = &repo.settings
        && settings.tls.tls_insecure_skip_verify
    {
        tracing::warn!(
            repository = %repo.name,
            "tls_insecure_skip_verify is on: this remote accepts any upstream certificate"
        );
    }
}

impl RepositoryService {
    pub fn new(
        catalog: Arc<dyn RepositoryCatalog>,
        files: Arc<dyn HostedFiles>,
        packages: Arc<dyn HostedPackages>,
        index: Arc<dyn ArtifactIndex>,
    ) -> Self {
        Self {
            catalog,
            files,
            packages,
            index,
        }
    }

    pub async fn list(&self) -> Result<Vec<Repository>, RepositoryError> {
        self.catalog.list().await.map_err(unavailable)
    }

    pub async fn get(&self, name: &str) -> Result<Repository, RepositoryError> {
        self.catalog
            .get(name)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| RepositoryError::NotFound(name.to_string()))
    }

    pub async fn create(&self, draft: RepositoryDraft) -> Result<Repository, RepositoryError> {
        let repo = draft.validate(ManagedBy::Api).map_err(RepositoryError::Invalid)?;
        warn_if_unverified(&repo);
        self.check_members(&repo).await?;
        match self.catalog.create(&repo).await {
            Ok(()) => Ok(repo),
            Err(PortError::Conflict) => Err(RepositoryError::AlreadyExists(repo.name.to_string())),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// One page of the repositories `visible` allows (the caller's read scope), ordered by name
    /// and filtered by kind and package; the second value is the cursor of the next page.
    pub async fn list_page(
        &self,
        filter: &ListFilter,
        visible: &(dyn Fn(&str) -> bool + Send + Sync),
    ) -> Result<(Vec<Repository>, Option<String>), RepositoryError> {
        let mut page: Vec<Repository> = self
            .list()
            .await?
            .into_iter()
            .filter(|r| visible(r.name.as_str()))
            .filter(|r| filter.kind.is_none_or(|k| r.kind() == k))
            .filter(|r| filter.package.is_none_or(|p| r.package == p))
            .filter(|r| filter.after.as_deref().is_none_or(|after| r.name.as_str() > after))
            .take(filter.limit + 1)
            .collect();
        let next = if page.len() > filter.limit {
            page.truncate(filter.limit);
            page.last().map(|r| r.name.to_string())
        } else {
            None
        };
        Ok((page, next))
    }

    /// Replaces a definition (`PUT`). Config-managed repositories need `take_over`, after which
    /// the API manages them.
    pub async fn replace(
        &self,
        name: &str,
        draft: RepositoryDraft,
        take_over: bool,
    ) -> Result<Repository, RepositoryError> {
        if draft.name != name {
            return Err(RepositoryError::Invalid(FieldError::new(
                "name",
                "must match the repository in the URL",
            )));
        }
        let existing = self.get(name).await?;
        if existing.managed_by == ManagedBy::Config && !take_over {
            return Err(RepositoryError::ManagedByConfig(name.to_string()));
        }
        let repo = draft.validate(ManagedBy::Api).map_err(RepositoryError::Invalid)?;
        warn_if_unverified(&repo);
        self.check_members(&repo).await?;
        self.check_shape(&existing, &repo).await?;
        if let KindSettings::Virtual(v) = &repo.settings
            && self.reaches(&v.members, name).await?
        {
            return Err(RepositoryError::Invalid(FieldError::new(
                "members",
                "members would form a cycle",
            )));
        }
        self.catalog.update(&repo).await.map_err(unavailable)?;
        Ok(repo)
    }

    /// Partial update (`PATCH`, RFC 7386 merge patch over the stored definition). The password
    /// is write-only: a string sets it, leaving it out keeps it.
    pub async fn patch(
        &self,
        name: &str,
        patch: &serde_json::Value,
        take_over: bool,
    ) -> Result<Repository, RepositoryError> {
        let existing = self.get(name).await?;
        let mut merged =
            serde_json::to_value(existing.to_draft()).map_err(|e| RepositoryError::Unavailable(e.to_string()))?;
        crate::domain::repository::merge_patch(&mut merged, patch);
        let draft: RepositoryDraft = serde_json::from_value(merged)
            .map_err(|e| RepositoryError::Invalid(FieldError::new("body", e.to_string())))?;
        self.replace(name, draft, take_over).await
    }

    /// True when `target` is reachable from `members` through virtual repositories.
    async fn reaches(
        &self,
        members: &[crate::domain::repository::RepoName],
        target: &str,
    ) -> Result<bool, RepositoryError> {
        let mut pending: Vec<String> = members.iter().map(|m| m.to_string()).collect();
        let mut seen = std::collections::HashSet::new();
        while let Some(next) = pending.pop() {
            if next == target {
                return Ok(true);
            }
            if !seen.insert(next.clone()) {
                continue;
            }
            if let Some(Repository {
                settings: KindSettings::Virtual(v),
                ..
            }) = self.catalog.get(&next).await.map_err(unavailable)?
            {
                pending.extend(v.members.iter().map(|m| m.to_string()));
            }
        }
        Ok(false)
    }

    /// Deletes the definition and drops its file and cache rows, so GC can reclaim the blobs.
    /// Repositories defined in the config file are refused: the file would recreate them. A
    /// member of virtual repositories is refused unless `force`, which removes it from them.
    pub async fn delete(&self, name: &str, force: bool) -> Result<(), RepositoryError> {
        let repo = self.get(name).await?;
        if repo.managed_by == ManagedBy::Config {
            return Err(RepositoryError::ManagedByConfig(name.to_string()));
        }
        self.remove(name, force).await
    }

    async fn remove(&self, name: &str, force: bool) -> Result<(), RepositoryError> {
        let referrers: Vec<Repository> = self
            .list()
            .await?
            .into_iter()
            .filter(|r| matches!(&r.settings, KindSettings::Virtual(v) if v.members.iter().any(|m| m.as_str() == name)))
            .collect();
        if !referrers.is_empty() && !force {
            return Err(RepositoryError::InUse {
                name: name.to_string(),
                by: referrers.iter().map(|r| r.name.to_string()).collect(),
            });
        }
        for mut referrer in referrers {
            if let KindSettings::Virtual(v) = &mut referrer.settings {
                v.members.retain(|m| m.as_str() != name);
            }
            self.catalog.update(&referrer).await.map_err(unavailable)?;
        }
        self.packages.delete_repo(name).await.map_err(unavailable)?;
        self.files.delete_repo(name).await.map_err(unavailable)?;
        self.index.delete_repo(name).await.map_err(unavailable)?;
        if self.catalog.delete(name).await.map_err(unavailable)? {
            Ok(())
        } else {
            Err(RepositoryError::NotFound(name.to_string()))
        }
    }

    /// Config as code: creates or updates every listed repository (marked `managed_by: config`).
    /// Everything is validated before anything is written; virtual repositories go last so their
    /// members exist.
    /// With `prune`, config-managed repositories no longer listed are deleted (and removed from
    /// virtual repositories that list them); repositories managed by the API are never touched.
    pub async fn apply_config(
        &self,
        drafts: Vec<RepositoryDraft>,
        prune: bool,
    ) -> Result<ApplyReport, RepositoryError> {
        let mut repos = drafts
            .into_iter()
            .map(|d| d.validate(ManagedBy::Config).map_err(RepositoryError::Invalid))
            .collect::<Result<Vec<_>, _>>()?;
        repos.sort_by_key(|r| matches!(r.settings, KindSettings::Virtual(_)));
        let mut report = ApplyReport::default();
        for repo in repos {
            warn_if_unverified(&repo);
            self.check_members(&repo).await?;
            let name = repo.name.to_string();
            match self.catalog.get(&name).await.map_err(unavailable)? {
                None => {
                    self.catalog.create(&repo).await.map_err(unavailable)?;
                    report.created.push(name);
                }
                Some(existing) if existing == repo => report.unchanged.push(name),
                Some(existing) => {
                    self.check_shape(&existing, &repo).await?;
                    self.catalog.update(&repo).await.map_err(unavailable)?;
                    report.updated.push(name);
                }
            }
        }
        if prune {
            let listed: std::collections::HashSet<&String> = report
                .created
                .iter()
                .chain(&report.updated)
                .chain(&report.unchanged)
                .collect();
            let stale: Vec<String> = self
                .list()
                .await?
                .into_iter()
                .filter(|r| r.managed_by == ManagedBy::Config && !listed.contains(&r.name.to_string()))
                .map(|r| r.name.to_string())
                .collect();
            for name in stale {
                self.remove(&name, true).await?;
                report.deleted.push(name);
            }
        }
        Ok(report)
    }

    /// Kind and package decide how a repository's rows are read (hosted files, cached copies,
    /// registry layout); changing either while it holds any would hide them, so it is refused
    /// (`NotEmpty`) until the repository is emptied. Virtual repositories hold nothing.
    async fn check_shape(&self, existing: &Repository, next: &Repository) -> Result<(), RepositoryError> {
        if existing.kind() == next.kind() && existing.package == next.package {
            return Ok(());
        }
        let name = existing.name.as_str();
        let objects = match existing.kind() {
            Kind::Local => self.files.usage(name).await.map_err(unavailable)?.objects,
            Kind::Remote => self.index.usage(name).await.map_err(unavailable)?.objects,
            Kind::Virtual => 0,
        };
        if objects > 0 {
            return Err(RepositoryError::NotEmpty {
                name: name.to_string(),
                objects,
            });
        }
        Ok(())
    }

    /// Virtual members must exist and share the virtual repository's package type.
    async fn check_members(&self, repo: &Repository) -> Result<(), RepositoryError> {
        let KindSettings::Virtual(v) = &repo.settings else {
            return Ok(());
        };
        for member in &v.members {
            let found = self.catalog.get(member.as_str()).await.map_err(unavailable)?;
            match found {
                None => {
                    return Err(RepositoryError::Invalid(FieldError::new(
                        "members",
                        format!("member '{member}' does not exist"),
                    )));
                }
                Some(m) if m.package != repo.package => {
                    return Err(RepositoryError::Invalid(FieldError::new(
                        "members",
                        format!("member '{member}' is a {} repository, not {}", m.package, repo.package),
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
