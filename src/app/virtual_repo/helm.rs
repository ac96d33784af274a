//! Virtual Helm repositories: `index.yaml` merged over the members (local ones rendered from
//! their records, remote ones as the remote rewrote them), every chart URL through the virtual as
//! `_member/<member>/<chart>/…`, charts served by the member their link names, and ChartMuseum
//! uploads sent to the first local member. With the dependency-confusion guard on (the default),
//! a chart name a local member holds is never listed from, nor fetched from, a remote member.
use std::collections::HashSet;

use super::{Members, VirtualError, VirtualRead, collect};
use crate::app::hosted::pypi::Page;
use crate::app::hosted::{HostedService, LocalRead, ReadRequest, etag_matches};
use crate::app::proxy::{ProxyRead, RemoteService};
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::formats::MAX_INDEX_BYTES;
use crate::domain::formats::helm::index::{INDEX_TYPE, IndexEntry, render_index};
use crate::domain::formats::helm::merge::{member_file, merge, parse_member_index};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;
use crate::ports::PortError;

/// The virtual use cases, over the hosted and the remote services (borrowed per request).
pub struct HelmVirtual<'a> {
    hosted: &'a HostedService,
    remote: &'a RemoteService,
}

fn unavailable(e: PortError) -> HostedError {
    HostedError::Unavailable(e.to_string())
}

impl<'a> HelmVirtual<'a> {
    pub fn new(hosted: &'a HostedService, remote: &'a RemoteService) -> Self {
        Self { hosted, remote }
    }

    /// `index.yaml`, or a chart (`_member/…`), through the virtual `name`.
    pub async fn read(
        &self,
        name: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let members = Members::resolve(self.hosted, name, PackageType::Helm).await?;
        if path.as_str() != "index.yaml" {
            return self.read_file(&members, path, request).await;
        }
        let mut per_member = Vec::new();
        let mut locals = Vec::new();
        for m in members.locals() {
            locals.push((m.name.clone(), self.hosted.helm_entries(&m.name, "").await?));
        }
        let local_names: HashSet<String> = locals
            .iter()
            .flat_map(|(_, e)| e.iter().map(|e| e.name.clone()))
            .collect();
        // Who may list a chart a local member holds (the guard keeps remotes out).
        let guarded: Vec<String> = members.consulted(true).map(|m| m.name.clone()).collect();
        let mut failure = None;
        for m in &members.list {
            let entries = if m.local {
                locals
                    .iter_mut()
                    .find(|(n, _)| n == &m.name)
                    .map(|(_, e)| std::mem::take(e))
                    .unwrap_or_default()
            } else {
                match self.remote_entries(&m.name).await {
                    Ok(entries) => entries,
                    Err(e) => {
                        tracing::warn!(member = %m.name, error = %e, "member unavailable, index merged without it");
                        failure.get_or_insert(e);
                        continue;
                    }
                }
            };
            let allowed = |e: &IndexEntry| !local_names.contains(&e.name) || guarded.contains(&m.name);
            per_member.push((m.name.clone(), entries.into_iter().filter(allowed).collect()));
        }
        let merged = merge(per_member);
        // A member that failed only matters when nobody else could answer.
        if let Some(e) = failure
            && merged.entries.is_empty()
        {
            return Err(e);
        }
        let body = render_index(&merged.entries);
        let digest = Digest::of_bytes(&body);
        if request.if_none_match.is_some_and(|tags| etag_matches(tags, &digest)) {
            return Ok(VirtualRead::PageNotModified(digest));
        }
        let local = members.all_local(&merged.contributors);
        Ok(VirtualRead::Page {
            page: Page {
                body,
                content_type: INDEX_TYPE,
                digest,
            },
            members: merged.contributors,
            local,
        })
    }

    /// A remote member's index entries, as the remote rewrote them (bounded).
    async fn remote_entries(&self, member: &str) -> Result<Vec<IndexEntry>, VirtualError> {
        let path = ArtifactPath::parse("index.yaml").map_err(HostedError::from)?;
        let body = match self.remote.read(member, &path, ReadRequest::default()).await? {
            ProxyRead::Cached { body: Some(body), .. } | ProxyRead::Streaming { body, .. } => body,
            _ => return Err(HostedError::Unavailable(format!("no index body from member '{member}'")).into()),
        };
        let bytes = collect(body, MAX_INDEX_BYTES).await?;
        parse_member_index(&bytes).map_err(|e| HostedError::Unavailable(format!("member '{member}': {e}")).into())
    }

    /// Whether a local member holds the chart `name`.
    async fn local_has(&self, members: &Members, name: &str) -> Result<bool, VirtualError> {
        for m in members.locals() {
            if !self
                .hosted
                .packages
                .files(&m.name, name)
                .await
                .map_err(unavailable)?
                .is_empty()
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn read_file(
        &self,
        members: &Members,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let not_found = || VirtualError::Hosted(HostedError::NotFound(path.to_string()));
        let file = member_file(path.as_str()).ok_or_else(not_found)?;
        let member = members.get(file.member).ok_or_else(not_found)?;
        let member_path = ArtifactPath::parse(file.path).map_err(HostedError::from)?;
        if member.local {
            if member_path.as_str() == "index.yaml" {
                return Err(not_found());
            }
            let LocalRead::File(outcome) = self.hosted.read_local(&member.name, &member_path, request).await? else {
                return Err(not_found());
            };
            return Ok(VirtualRead::Local {
                member: member.name.clone(),
                outcome,
            });
        }
        let local_has = self.local_has(members, file.chart).await?;
        if !members.consulted(local_has).any(|m| m.name == member.name) {
            return Err(not_found());
        }
        let read = self.remote.read(&member.name, &member_path, request).await?;
        Ok(VirtualRead::Remote {
            member: member.name.clone(),
            read,
        })
    }
}

#[cfg(test)]
#[path = "helm_tests.rs"]
mod tests;
