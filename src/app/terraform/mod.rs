//! The Terraform provider registry (providers.v1) over local terraform repositories, and over
//! virtual ones that merge their members' versions. A provider's namespace is the repository;
//! its archives are the repository's files (uploaded through the file protocol, checked by
//! [`archive`]); `SHA256SUMS` is generated per version and signed by the [`ReleaseSigner`].
pub mod archive;

use std::sync::Arc;

use crate::domain::error::HostedError;
use crate::domain::formats::terraform::hosted::{
    DownloadLinks, ProviderArchive, ProviderVersion, StoredArchive, Version, download_document, group_versions,
    merge_versions, valid_type, versions_document,
};
use crate::domain::repository::{KindSettings, PackageType, Repository};
use crate::ports::{HostedFiles, PageRequest, PortError, ReleaseSigner, RepositoryCatalog};

/// Files listed per page while collecting a provider's archives.
const PAGE: u64 = 500;

/// One provider of the registry: `{namespace}/{type}`.
#[derive(Clone, Copy, Debug)]
pub struct ProviderName<'a> {
    pub namespace: &'a str,
    pub provider: &'a str,
}

pub struct ProviderRegistry {
    catalog: Arc<dyn RepositoryCatalog>,
    files: Arc<dyn HostedFiles>,
    signer: Arc<dyn ReleaseSigner>,
    protocols: Vec<String>,
}

fn unavailable(e: PortError) -> HostedError {
    HostedError::Unavailable(e.to_string())
}

impl ProviderRegistry {
    /// `protocols`: the plugin protocol versions advertised for every provider version.
    pub fn new(
        catalog: Arc<dyn RepositoryCatalog>,
        files: Arc<dyn HostedFiles>,
        signer: Arc<dyn ReleaseSigner>,
        protocols: Vec<String>,
    ) -> Self {
        Self {
            catalog,
            files,
            signer,
            protocols,
        }
    }

    /// The `versions` document: every version of the provider (a virtual's merged).
    pub async fn versions(&self, name: ProviderName<'_>) -> Result<serde_json::Value, HostedError> {
        let mut members = Vec::new();
        for repo in self.sources(name.namespace).await? {
            members.push(self.archives(repo.name.as_str(), name.provider, None).await?);
        }
        let merged: Vec<ProviderVersion> = merge_versions(members).into_iter().map(|(_, v)| v).collect();
        if merged.is_empty() {
            return Err(not_found(name));
        }
        Ok(versions_document(&merged, &self.protocols))
    }

    /// The download document of one version and platform. `origin` (`https://host:port`, as
    /// the client addressed us) makes the links absolute.
    pub async fn download(
        &self,
        name: ProviderName<'_>,
        version: &str,
        os: &str,
        arch: &str,
        origin: &str,
    ) -> Result<serde_json::Value, HostedError> {
        let (member, found) = self.version(name, version).await?;
        let stored = found.archive(os, arch).ok_or_else(|| {
            HostedError::NotFound(format!(
                "{}/{} {version} for {os}_{arch}",
                name.namespace, name.provider
            ))
        })?;
        let sums = format!(
            "{origin}/terraform/providers/v1/{member}/{}/{}/SHA256SUMS",
            name.provider,
            found.version.as_str()
        );
        let links = DownloadLinks {
            download_url: format!("{origin}/api/v1/local/{member}/{}", stored.archive.path()),
            shasums_signature_url: format!("{sums}.sig"),
            shasums_url: sums,
        };
        Ok(download_document(
            stored,
            &self.protocols,
            &links,
            &self.signer.public_key(),
        ))
    }

    /// `SHA256SUMS` of one version: a line per platform archive.
    pub async fn shasums(&self, name: ProviderName<'_>, version: &str) -> Result<String, HostedError> {
        Ok(self.version(name, version).await?.1.shasums())
    }

    /// The detached binary signature of [`Self::shasums`].
    pub async fn shasums_signature(&self, name: ProviderName<'_>, version: &str) -> Result<Vec<u8>, HostedError> {
        let sums = self.shasums(name, version).await?;
        self.signer.sign_detached(sums.as_bytes()).map_err(unavailable)
    }

    /// The version and the member repository it comes from (the first that holds it).
    async fn version(&self, name: ProviderName<'_>, version: &str) -> Result<(String, ProviderVersion), HostedError> {
        let wanted = Version::parse(version).map_err(|_| not_found(name))?;
        for repo in self.sources(name.namespace).await? {
            let found = self.archives(repo.name.as_str(), name.provider, Some(&wanted)).await?;
            if let Some(v) = found.into_iter().next() {
                return Ok((repo.name.to_string(), v));
            }
        }
        Err(HostedError::NotFound(format!(
            "{}/{} {version}",
            name.namespace, name.provider
        )))
    }

    /// The local repositories behind a namespace: itself, or a virtual's terraform members in
    /// order (members that are missing or not local terraform repositories are skipped).
    async fn sources(&self, namespace: &str) -> Result<Vec<Repository>, HostedError> {
        let repo = self.repository(namespace).await?;
        let members = match &repo.settings {
            KindSettings::Local(_) => return Ok(vec![repo]),
            KindSettings::Virtual(v) => v.members.clone(),
            KindSettings::Remote(_) => return Err(wrong_kind(namespace)),
        };
        let mut locals = Vec::new();
        for member in members {
            if let Some(m) = self.catalog.get(member.as_str()).await.map_err(unavailable)?
                && matches!(m.settings, KindSettings::Local(_))
                && m.package == PackageType::Terraform
            {
                locals.push(m);
            }
        }
        Ok(locals)
    }

    async fn repository(&self, name: &str) -> Result<Repository, HostedError> {
        let repo = self
            .catalog
            .get(name)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| HostedError::RepositoryNotFound(name.to_string()))?;
        if repo.package != PackageType::Terraform {
            return Err(wrong_kind(name));
        }
        Ok(repo)
    }

    /// The provider's archives in one local repository, grouped by version (only `version`'s
    /// when given).
    async fn archives(
        &self,
        repo: &str,
        provider: &str,
        version: Option<&Version>,
    ) -> Result<Vec<ProviderVersion>, HostedError> {
        if !valid_type(provider) {
            return Ok(Vec::new());
        }
        let prefix = match version {
            Some(v) => format!("{provider}/terraform-provider-{provider}_{}_", v.as_str()),
            None => format!("{provider}/"),
        };
        let mut page = PageRequest {
            prefix,
            after: None,
            limit: PAGE,
        };
        let mut stored = Vec::new();
        loop {
            let files = self.files.list(repo, &page).await.map_err(unavailable)?;
            let full = files.len() as u64 == PAGE;
            page.after = files.last().map(|f| f.path.clone());
            for file in files {
                if let Ok(archive) = ProviderArchive::parse_path(&file.path)
                    && version.is_none_or(|v| archive.version == *v)
                {
                    stored.push(StoredArchive {
                        archive,
                        sha256: file.digest.hex().to_string(),
                    });
                }
            }
            if !full {
                break;
            }
        }
        Ok(group_versions(stored))
    }
}

fn not_found(name: ProviderName<'_>) -> HostedError {
    HostedError::NotFound(format!("provider {}/{}", name.namespace, name.provider))
}

fn wrong_kind(name: &str) -> HostedError {
    HostedError::WrongKind {
        name: name.to_string(),
        expected: "local or virtual terraform",
    }
}

#[cfg(test)]
mod tests;
