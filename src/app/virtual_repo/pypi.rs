//! Virtual PyPI repositories: the simple API merged over the members (local pages rendered from
//! their records, remote pages as the remote rewrote them), files served by the member their
//! link names, and uploads sent to the first local member. With the dependency-confusion guard
//! on (the default), a project that exists in a local member is never asked of a remote member:
//! neither its page nor its files.
use super::{Member, Members, VirtualError, VirtualRead, collect, read_member_file};
use crate::app::hosted::pypi::Page;
use crate::app::hosted::{HostedService, ReadRequest};
use crate::app::proxy::{ProxyRead, RemoteService};
use crate::app::registry::MayWrite;
use crate::domain::digest::Digest;
use crate::domain::error::{HostedError, ProxyError};
use crate::domain::formats::pypi::hosted::normalize;
use crate::domain::formats::pypi::index::{IndexPage, ProjectPage, Representation, render_project, render_root};
use crate::domain::formats::pypi::merge::{
    MAX_MEMBER_PAGE, MemberPage, member_file, merge_project, merge_root, parse_project, parse_root,
};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;
use crate::ports::{PackageRecord, PortError};

/// The virtual use cases, over the hosted and the remote services (borrowed per request).
pub struct PypiVirtual<'a> {
    hosted: &'a HostedService,
    remote: &'a RemoteService,
}

fn unavailable(e: PortError) -> HostedError {
    HostedError::Unavailable(e.to_string())
}

/// What a remote member is asked for: its JSON page, HTML when that is all its upstream has.
const MEMBER_ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";

impl<'a> PypiVirtual<'a> {
    pub fn new(hosted: &'a HostedService, remote: &'a RemoteService) -> Self {
        Self { hosted, remote }
    }

    /// The local member an upload through `name` lands in (see `super::write_target`).
    pub async fn write_target(&self, name: &str, may_write: MayWrite<'_>) -> Result<String, VirtualError> {
        super::write_target(self.hosted, name, PackageType::Pypi, may_write).await
    }

    pub async fn read(
        &self,
        name: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let members = Members::resolve(self.hosted, name, PackageType::Pypi).await?;
        let Some(page) = IndexPage::of(path.as_str()) else {
            return self.read_file(&members, path, request).await;
        };
        let canonical = page.canonical_path();
        if canonical != path.as_str() {
            return Ok(VirtualRead::Redirect(canonical));
        }
        let repr = Representation::negotiate(request.accept);
        let (body, contributors) = match &page {
            IndexPage::Root => (render_root(&self.root(&members.list).await?, repr), Vec::new()),
            IndexPage::Project(project) => {
                let merged = self.project(&members, &normalize(project)).await?;
                if merged.page.files.is_empty() {
                    return Err(HostedError::NotFound(path.to_string()).into());
                }
                (render_project(&merged.page, repr), merged.contributors)
            }
        };
        let digest = Digest::of_bytes(&body);
        if request
            .if_none_match
            .is_some_and(|tags| crate::app::hosted::etag_matches(tags, &digest))
        {
            return Ok(VirtualRead::PageNotModified(digest));
        }
        let local = members.all_local(&contributors);
        Ok(VirtualRead::Page {
            page: Page {
                body,
                content_type: repr.content_type(),
                digest,
            },
            members: contributors,
            local,
        })
    }

    /// Whether any local member holds `project`, and the local members' records of it.
    async fn local_records(
        &self,
        members: &Members,
        project: &str,
    ) -> Result<Vec<(String, Vec<PackageRecord>)>, VirtualError> {
        let mut found = Vec::new();
        for m in members.locals() {
            let records = self
                .hosted
                .packages
                .files(&m.name, project)
                .await
                .map_err(unavailable)?;
            found.push((m.name.clone(), records));
        }
        Ok(found)
    }

    async fn project(
        &self,
        members: &Members,
        project: &str,
    ) -> Result<crate::domain::formats::pypi::merge::MergedPage, VirtualError> {
        let mut locals = self.local_records(members, project).await?;
        let local_has = locals.iter().any(|(_, r)| !r.is_empty());
        let mut pages = Vec::new();
        let mut failure = None;
        for m in members.consulted(local_has) {
            if m.local {
                let records = locals
                    .iter_mut()
                    .find(|(n, _)| n == &m.name)
                    .map(|(_, r)| std::mem::take(r))
                    .unwrap_or_default();
                pages.push((
                    m.name.clone(),
                    MemberPage::from(ProjectPage::from_records(project, &records)),
                ));
                continue;
            }
            match self.remote_page(&m.name, &format!("simple/{project}/")).await {
                Ok((body, content_type)) => match parse_project(&body, content_type.as_deref()) {
                    Ok(page) => pages.push((m.name.clone(), page)),
                    Err(e) => tracing::warn!(member = %m.name, project, error = %e, "member page skipped"),
                },
                Err(VirtualError::Remote(ProxyError::NotFound(_))) => {}
                Err(e) => {
                    tracing::warn!(member = %m.name, project, error = %e, "member unavailable, page merged without it");
                    failure.get_or_insert(e);
                }
            }
        }
        let merged = merge_project(project, pages);
        // A member that failed only matters when nobody else could answer.
        match failure {
            Some(e) if merged.page.files.is_empty() => Err(e),
            _ => Ok(merged),
        }
    }

    async fn root(&self, members: &[Member]) -> Result<Vec<String>, VirtualError> {
        let mut lists = Vec::new();
        for m in members {
            if m.local {
                lists.push(self.hosted.packages.names(&m.name).await.map_err(unavailable)?);
                continue;
            }
            match self.remote_page(&m.name, "simple/").await {
                Ok((body, content_type)) => match parse_root(&body, content_type.as_deref()) {
                    Ok(names) => lists.push(names),
                    Err(e) => tracing::warn!(member = %m.name, error = %e, "member root skipped"),
                },
                Err(e) => tracing::warn!(member = %m.name, error = %e, "member root skipped"),
            }
        }
        Ok(merge_root(lists))
    }

    /// A remote member's page (bounded) and its content type.
    async fn remote_page(&self, member: &str, path: &str) -> Result<(Vec<u8>, Option<String>), VirtualError> {
        let path = ArtifactPath::parse(path).map_err(HostedError::from)?;
        let request = ReadRequest {
            accept: Some(MEMBER_ACCEPT),
            ..ReadRequest::default()
        };
        let (content_type, body) = match self.remote.read(member, &path, request).await? {
            ProxyRead::Cached {
                object,
                body: Some(body),
                ..
            } => (object.content_type, body),
            ProxyRead::Streaming { content_type, body, .. } => (content_type, body),
            _ => return Err(HostedError::Unavailable(format!("no page body from member '{member}'")).into()),
        };
        Ok((collect(body, MAX_MEMBER_PAGE).await?, content_type))
    }

    async fn read_file(
        &self,
        members: &Members,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let file = member_file(path.as_str()).ok_or_else(|| HostedError::NotFound(path.to_string()))?;
        let local_has = async || {
            let locals = self.local_records(members, &file.project).await?;
            Ok(locals.iter().any(|(_, r)| !r.is_empty()))
        };
        read_member_file(
            (self.hosted, self.remote),
            members,
            (&file.member, &file.path),
            request,
            local_has,
        )
        .await
    }
}

#[cfg(test)]
#[path = "pypi_tests.rs"]
mod tests;
