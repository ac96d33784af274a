//! Virtual Puppet repositories: the v3 API over the members (local ones rendered from their
//! records, remote ones as the remote rewrote them, every page of them), a module's releases
//! merged with the first member winning a version, every `file_uri` through the virtual as
//! `/_member/<member>/<module>/…`, archives served by the member their link names, and publishes
//! sent to the first local member. With the dependency-confusion guard on (the default), a module
//! a local member holds is never listed from, nor fetched from, a remote member. Without
//! `module=`, `v3/releases` lists the local members' releases only: remote members are asked
//! about one module at a time, never enumerated.
use super::{Members, VirtualError, VirtualRead, collect, read_member_file};
use crate::app::hosted::pypi::Page;
use crate::app::hosted::{HostedService, ReadRequest, etag_matches};
use crate::app::proxy::{ProxyRead, RemoteService};
use crate::domain::digest::Digest;
use crate::domain::error::{HostedError, ProxyError};
use crate::domain::formats::MAX_INDEX_BYTES;
use crate::domain::formats::puppet::api::{
    ApiPath, JSON_TYPE, Release, ReleaseQuery, render_module, render_release, render_releases,
};
use crate::domain::formats::puppet::merge::{Merged, member_file, merge, next_page_query, parse_member_page};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;

/// The most pages of a remote member's `v3/releases` followed for one module (of 100 each).
const MAX_PAGES: usize = 50;

/// The virtual use cases, over the hosted and the remote services (borrowed per request).
pub struct PuppetVirtual<'a> {
    hosted: &'a HostedService,
    remote: &'a RemoteService,
}

impl<'a> PuppetVirtual<'a> {
    pub fn new(hosted: &'a HostedService, remote: &'a RemoteService) -> Self {
        Self { hosted, remote }
    }

    /// A v3 API page, or a release archive (`_member/…`), through the virtual `name`.
    pub async fn read(
        &self,
        name: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let members = Members::resolve(self.hosted, name, PackageType::Puppet).await?;
        let not_found = || VirtualError::Hosted(HostedError::NotFound(path.to_string()));
        if let Some(file) = member_file(path.as_str()) {
            let module = file.chart.to_string();
            return read_member_file(
                (self.hosted, self.remote),
                &members,
                (file.member, file.path),
                request,
                async || self.local_has(&members, &module).await.map_err(VirtualError::from),
            )
            .await;
        }
        let (body, contributors) = match ApiPath::of(path.as_str()).ok_or_else(not_found)? {
            ApiPath::Releases => {
                let query = ReleaseQuery::parse(request.query);
                let merged = match &query.module {
                    Some(module) => self.module_releases(&members, module).await?,
                    None => self.local_releases(&members).await?,
                };
                (render_releases(&merged.releases, &query), merged.contributors)
            }
            ApiPath::Release { module, version } => {
                let merged = self.module_releases(&members, &module).await?;
                let release = merged
                    .releases
                    .iter()
                    .find(|r| r.version == version)
                    .ok_or_else(not_found)?;
                (render_release(release), merged.contributors)
            }
            ApiPath::Module(module) => {
                let merged = self.module_releases(&members, &module).await?;
                (
                    render_module(&merged.releases).ok_or_else(not_found)?,
                    merged.contributors,
                )
            }
            // The archive's own name: sent on to the member link its release names.
            ApiPath::File { module, version } => {
                let merged = self.module_releases(&members, &module).await?;
                let release = merged
                    .releases
                    .iter()
                    .find(|r| r.version == version)
                    .ok_or_else(not_found)?;
                return Ok(VirtualRead::Redirect(
                    release.file_uri.trim_start_matches('/').to_string(),
                ));
            }
        };
        let digest = Digest::of_bytes(&body);
        if request.if_none_match.is_some_and(|tags| etag_matches(tags, &digest)) {
            return Ok(VirtualRead::PageNotModified(digest));
        }
        let local = members.all_local(&contributors);
        Ok(VirtualRead::Page {
            page: Page {
                body,
                content_type: JSON_TYPE,
                digest,
            },
            members: contributors,
            local,
        })
    }

    /// Whether a local member holds `module`.
    async fn local_has(&self, members: &Members, module: &str) -> Result<bool, HostedError> {
        for m in members.locals() {
            if !self.hosted.puppet_module_releases(&m.name, module).await?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every release of the local members, merged.
    async fn local_releases(&self, members: &Members) -> Result<Merged, VirtualError> {
        let mut per_member = Vec::new();
        for m in members.locals() {
            per_member.push((m.name.clone(), self.hosted.puppet_releases(&m.name).await?));
        }
        Ok(merge(per_member))
    }

    /// The releases of `module` over the members the guard consults, merged. A remote member
    /// that fails is left out, unless nobody else has the module.
    async fn module_releases(&self, members: &Members, module: &str) -> Result<Merged, VirtualError> {
        let mut locals = Vec::new();
        for m in members.locals() {
            locals.push((
                m.name.clone(),
                self.hosted.puppet_module_releases(&m.name, module).await?,
            ));
        }
        let local_has = locals.iter().any(|(_, releases)| !releases.is_empty());
        let mut per_member = Vec::new();
        let mut failure = None;
        for m in members.consulted(local_has) {
            let releases = if m.local {
                locals
                    .iter_mut()
                    .find(|(n, _)| n == &m.name)
                    .map(|(_, r)| std::mem::take(r))
                    .unwrap_or_default()
            } else {
                match self.remote_releases(&m.name, module).await {
                    Ok(releases) => releases,
                    Err(e) => {
                        tracing::warn!(member = %m.name, error = %e, "member unavailable, releases merged without it");
                        failure.get_or_insert(e);
                        continue;
                    }
                }
            };
            per_member.push((m.name.clone(), releases));
        }
        let merged = merge(per_member);
        if let Some(e) = failure
            && merged.releases.is_empty()
        {
            return Err(e);
        }
        Ok(merged)
    }

    /// A remote member's releases of `module`, every page (bounded), as the remote rewrote them;
    /// releases of other modules an upstream may add are dropped. Unknown upstream: none.
    async fn remote_releases(&self, member: &str, module: &str) -> Result<Vec<Release>, VirtualError> {
        let path = ArtifactPath::parse("v3/releases").map_err(HostedError::from)?;
        let mut query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("module", module)
            .append_pair("limit", "100")
            .finish();
        let mut releases = Vec::new();
        for _ in 0..MAX_PAGES {
            let request = ReadRequest {
                query: Some(&query),
                ..ReadRequest::default()
            };
            let body = match self.remote.read(member, &path, request).await {
                Ok(ProxyRead::Cached { body: Some(body), .. } | ProxyRead::Streaming { body, .. }) => body,
                Ok(_) => {
                    return Err(HostedError::Unavailable(format!("no releases body from member '{member}'")).into());
                }
                Err(ProxyError::NotFound(_)) => break,
                Err(e) => return Err(e.into()),
            };
            let bytes = collect(body, MAX_INDEX_BYTES).await?;
            let (page, next) =
                parse_member_page(&bytes).map_err(|e| HostedError::Unavailable(format!("member '{member}': {e}")))?;
            releases.extend(page.into_iter().filter(|r| r.module == module));
            match next.as_deref().and_then(next_page_query) {
                Some(next) => query = next.to_string(),
                None => break,
            }
        }
        Ok(releases)
    }
}

#[cfg(test)]
#[path = "puppet_tests.rs"]
mod tests;
