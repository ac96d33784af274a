//! Virtual Go module proxies: `@v/list` is the union of the members' lists, `@latest` the
//! highest of their answers, and a version file comes from the first member (in order) that has
//! it. GOPROXY paths are the same on every member, so nothing is rewritten. With the
//! dependency-confusion guard on (the default), a module a local member holds is never asked of
//! a remote member.
use serde_json::Value;

use super::{Member, Members, VirtualError, VirtualRead, collect, first_member_file, is_not_found};
use crate::app::hosted::pypi::Page;
use crate::app::hosted::{HostedService, LocalRead, ReadRequest, etag_matches};
use crate::app::proxy::{ProxyRead, RemoteService};
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::formats::goproxy::hosted::{GoPath, check_version, latest, sort_versions};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;

/// Largest member `list` or `@latest` answer read.
const MAX_MEMBER_ANSWER: usize = 4 << 20;

/// The virtual use cases, over the hosted and the remote services (borrowed per request).
pub struct GoproxyVirtual<'a> {
    hosted: &'a HostedService,
    remote: &'a RemoteService,
}

impl<'a> GoproxyVirtual<'a> {
    pub fn new(hosted: &'a HostedService, remote: &'a RemoteService) -> Self {
        Self { hosted, remote }
    }

    pub async fn read(
        &self,
        name: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let members = Members::resolve(self.hosted, name, PackageType::Goproxy).await?;
        let not_found = || VirtualError::Hosted(HostedError::NotFound(path.to_string()));
        let module = match GoPath::parse(path.as_str()) {
            Some(Ok(GoPath::List { module } | GoPath::Latest { module } | GoPath::File { module, .. })) => module,
            _ => return Err(not_found()),
        };
        let local_has = members.local_has(self.hosted, &module).await?;
        let consulted: Vec<&Member> = members.consulted(local_has).collect();
        if path.as_str().ends_with("/@v/list") {
            return self.list(&members, &consulted, path, &request).await;
        }
        if path.as_str().ends_with("/@latest") {
            return self.latest(&members, &consulted, path, &request).await;
        }
        first_member_file((self.hosted, self.remote), &consulted, path, &request).await
    }

    /// One member's answer to a small text path (`list`, `@latest`), bounded.
    async fn member_text(&self, m: &Member, path: &ArtifactPath) -> Result<String, VirtualError> {
        let body = if m.local {
            match self.hosted.read_local(&m.name, path, ReadRequest::default()).await? {
                LocalRead::Page(page) => page.body,
                _ => return Err(HostedError::NotFound(path.to_string()).into()),
            }
        } else {
            match self.remote.read(&m.name, path, ReadRequest::default()).await? {
                ProxyRead::Cached { body: Some(body), .. } | ProxyRead::Streaming { body, .. } => {
                    collect(body, MAX_MEMBER_ANSWER).await?
                }
                _ => return Err(HostedError::Unavailable(format!("no body from member '{}'", m.name)).into()),
            }
        };
        String::from_utf8(body)
            .map_err(|_| HostedError::Unavailable(format!("member '{}' sent non-UTF-8", m.name)).into())
    }

    async fn list(
        &self,
        members: &Members,
        consulted: &[&Member],
        path: &ArtifactPath,
        request: &ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let mut versions: Vec<String> = Vec::new();
        let mut contributors = Vec::new();
        let mut failure = None;
        for m in consulted {
            match self.member_text(m, path).await {
                Ok(text) => {
                    let before = versions.len();
                    for v in text.lines().map(str::trim).filter(|v| check_version(v).is_ok()) {
                        if !versions.iter().any(|known| known == v) {
                            versions.push(v.to_string());
                        }
                    }
                    if versions.len() > before {
                        contributors.push(m.name.clone());
                    }
                }
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    tracing::warn!(member = %m.name, error = %e, "member unavailable, list merged without it");
                    failure.get_or_insert(e);
                }
            }
        }
        if let Some(e) = failure
            && versions.is_empty()
        {
            return Err(e);
        }
        sort_versions(&mut versions);
        let body: String = versions.iter().map(|v| format!("{v}\n")).collect();
        Ok(page(
            body.into_bytes(),
            "text/plain; charset=utf-8",
            request,
            members,
            contributors,
        ))
    }

    async fn latest(
        &self,
        members: &Members,
        consulted: &[&Member],
        path: &ArtifactPath,
        request: &ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let mut answers: Vec<(String, String, String)> = Vec::new();
        let mut failure = None;
        for m in consulted {
            match self.member_text(m, path).await {
                Ok(text) => {
                    let version = serde_json::from_str::<Value>(&text)
                        .ok()
                        .and_then(|d| d.get("Version").and_then(Value::as_str).map(str::to_string));
                    if let Some(version) = version.filter(|v| check_version(v).is_ok()) {
                        answers.push((version, m.name.clone(), text));
                    }
                }
                Err(e) if is_not_found(&e) => {}
                Err(e) => {
                    tracing::warn!(member = %m.name, error = %e, "member unavailable, @latest without it");
                    failure.get_or_insert(e);
                }
            }
        }
        let versions: Vec<String> = answers.iter().map(|(v, _, _)| v.clone()).collect();
        let Some(best) = latest(&versions) else {
            return Err(failure.unwrap_or_else(|| HostedError::NotFound(path.to_string()).into()));
        };
        // The first member (in order) with the winning version answers.
        let Some((_, member, text)) = answers.into_iter().find(|(v, _, _)| v == best) else {
            return Err(HostedError::NotFound(path.to_string()).into());
        };
        Ok(page(
            text.into_bytes(),
            "application/json",
            request,
            members,
            vec![member],
        ))
    }
}

fn page(
    body: Vec<u8>,
    content_type: &'static str,
    request: &ReadRequest<'_>,
    members: &Members,
    contributors: Vec<String>,
) -> VirtualRead {
    let digest = Digest::of_bytes(&body);
    if request.if_none_match.is_some_and(|tags| etag_matches(tags, &digest)) {
        return VirtualRead::PageNotModified(digest);
    }
    let local = members.all_local(&contributors);
    VirtualRead::Page {
        page: Page {
            body,
            content_type,
            digest,
        },
        members: contributors,
        local,
    }
}

#[cfg(test)]
#[path = "goproxy_tests.rs"]
mod tests;
