//! Virtual npm repositories: a package's packument merged over the members (local ones rendered
//! from their records, remote ones as the remote rewrote them), every tarball link through the
//! virtual as `_member/<member>/…`, tarballs served by the member their link names, and writes
//! (publish, dist-tags, deprecate, unpublish) sent to the first local member. With the
//! dependency-confusion guard on (the default), a package that exists in a local member is never
//! asked of a remote member: neither its packument nor its tarballs.
use serde_json::Value;

use super::{Members, VirtualError, VirtualRead, collect, read_member_file};
use crate::app::hosted::pypi::Page;
use crate::app::hosted::{HostedService, ReadRequest, etag_matches};
use crate::app::proxy::{ProxyRead, RemoteService};
use crate::domain::digest::Digest;
use crate::domain::error::{HostedError, ProxyError};
use crate::domain::formats::npm::ABBREVIATED;
use crate::domain::formats::npm::hosted::check_name;
use crate::domain::formats::npm::merge::{
    MAX_MEMBER_PACKUMENT, local_member_base, member_file, merge, remote_member_base,
};
use crate::domain::formats::npm::packument::tags_path;
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;

/// The virtual use cases, over the hosted and the remote services (borrowed per request).
pub struct NpmVirtual<'a> {
    hosted: &'a HostedService,
    remote: &'a RemoteService,
}

fn json_page(doc: &Value, content_type: &'static str) -> Result<Page, VirtualError> {
    let body = serde_json::to_vec(doc).map_err(|e| HostedError::Unavailable(format!("rendering a packument: {e}")))?;
    let digest = Digest::of_bytes(&body);
    Ok(Page {
        body,
        content_type,
        digest,
    })
}

impl<'a> NpmVirtual<'a> {
    pub fn new(hosted: &'a HostedService, remote: &'a RemoteService) -> Self {
        Self { hosted, remote }
    }

    /// A packument, a package's dist-tags, or a tarball (`_member/…`) through the virtual `name`.
    pub async fn read(
        &self,
        name: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let members = Members::resolve(self.hosted, name, PackageType::Npm).await?;
        if member_file(path.as_str()).is_some() {
            return self.read_file(&members, path, request).await;
        }
        let not_found = || VirtualError::Hosted(HostedError::NotFound(path.to_string()));
        let (package, tags_only) = match tags_path(path.as_str()) {
            Some(package) => (package, true),
            None => (path.as_str(), false),
        };
        check_name(package).map_err(|_| not_found())?;
        let base = request
            .public_base
            .ok_or_else(|| HostedError::Unavailable("no public URL to link tarballs to".into()))?;
        let abbreviated = !tags_only && request.accept.is_some_and(|a| a.contains(ABBREVIATED));
        let merged = self
            .packument(&members, package, base, abbreviated)
            .await?
            .ok_or_else(not_found)?;
        let page = if tags_only {
            json_page(&merged.doc["dist-tags"], "application/json")?
        } else {
            json_page(&merged.doc, if abbreviated { ABBREVIATED } else { "application/json" })?
        };
        if request
            .if_none_match
            .is_some_and(|tags| etag_matches(tags, &page.digest))
        {
            return Ok(VirtualRead::PageNotModified(page.digest));
        }
        let local = members.all_local(&merged.contributors);
        Ok(VirtualRead::Page {
            page,
            members: merged.contributors,
            local,
        })
    }

    /// Whether a local member holds `package`.
    async fn local_has(&self, members: &Members, package: &str) -> Result<bool, VirtualError> {
        for m in members.locals() {
            if self.hosted.npm_has(&m.name, package).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The packument of `package` merged over the members it consults (`None`: nobody has it).
    async fn packument(
        &self,
        members: &Members,
        package: &str,
        base: &str,
        abbreviated: bool,
    ) -> Result<Option<crate::domain::formats::npm::merge::Merged>, VirtualError> {
        let local_has = self.local_has(members, package).await?;
        let mut docs = Vec::new();
        let mut failure = None;
        for m in members.consulted(local_has) {
            if m.local {
                let member_base = local_member_base(base, &m.name);
                if let Some(doc) = self
                    .hosted
                    .npm_packument(&m.name, package, &member_base, abbreviated)
                    .await?
                {
                    docs.push((m.name.clone(), doc));
                }
                continue;
            }
            let member_base = remote_member_base(base, &m.name, package);
            match self.remote_packument(&m.name, package, &member_base, abbreviated).await {
                Ok(doc) => docs.push((m.name.clone(), doc)),
                Err(VirtualError::Remote(ProxyError::NotFound(_))) => {}
                Err(e) => {
                    tracing::warn!(member = %m.name, package, error = %e, "member unavailable, packument merged without it");
                    failure.get_or_insert(e);
                }
            }
        }
        let merged = merge(package, docs, abbreviated);
        // A member that failed only matters when nobody else could answer.
        match (merged, failure) {
            (None, Some(e)) => Err(e),
            (merged, _) => Ok(merged),
        }
    }

    /// A remote member's packument, its tarball links rewritten under `member_base`.
    async fn remote_packument(
        &self,
        member: &str,
        package: &str,
        member_base: &str,
        abbreviated: bool,
    ) -> Result<Value, VirtualError> {
        let path = ArtifactPath::parse(package).map_err(HostedError::from)?;
        let request = ReadRequest {
            accept: Some(if abbreviated { ABBREVIATED } else { "application/json" }),
            public_base: Some(member_base),
            ..ReadRequest::default()
        };
        let body = match self.remote.read(member, &path, request).await? {
            ProxyRead::Cached { body: Some(body), .. } | ProxyRead::Streaming { body, .. } => body,
            _ => return Err(HostedError::Unavailable(format!("no packument body from member '{member}'")).into()),
        };
        let bytes = collect(body, MAX_MEMBER_PACKUMENT).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            HostedError::Unavailable(format!("member '{member}' sent a packument that is not JSON: {e}")).into()
        })
    }

    async fn read_file(
        &self,
        members: &Members,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let file = member_file(path.as_str()).ok_or_else(|| HostedError::NotFound(path.to_string()))?;
        let local_has = async || self.local_has(members, file.package).await;
        read_member_file(
            (self.hosted, self.remote),
            members,
            (file.member, file.path),
            request,
            local_has,
        )
        .await
    }
}

#[cfg(test)]
#[path = "npm_tests.rs"]
mod tests;
