//! Virtual repositories of package formats with indexes (one file per format): what every format
//! shares — the members in order, which of them a package's request consults (the
//! dependency-confusion guard), where a write through the virtual lands, and reading a member's
//! index page under a bound. Files are always served by the member a merged index links them to.
pub mod alpine;
pub mod generic;
pub mod goproxy;
pub mod helm;
pub mod npm;
pub mod puppet;
pub mod pypi;
pub mod rpm;
#[cfg(test)]
mod test_support;

use futures::StreamExt;

use crate::app::hosted::pypi::Page;
use crate::app::hosted::{HostedService, LocalRead, ReadOutcome, ReadRequest};
use crate::app::proxy::{ProxyRead, RemoteService};
use crate::app::registry::MayWrite;
use crate::domain::digest::Digest;
use crate::domain::error::{HostedError, ProxyError};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::{Kind, KindSettings, PackageType, VirtualSettings};
use crate::domain::virtual_members::consulted;
use crate::ports::{ByteStream, PortError};

#[derive(Debug, thiserror::Error)]
pub enum VirtualError {
    #[error(transparent)]
    Hosted(#[from] HostedError),
    #[error(transparent)]
    Remote(#[from] ProxyError),
    /// A write to a virtual with no local member to land in.
    #[error("virtual repository '{virtual_repo}' has no local {package} member to publish to")]
    NoLocalMember { virtual_repo: String, package: PackageType },
    /// The caller may write the virtual but not the member the write lands in.
    #[error("writes through '{virtual_repo}' land in '{member}', which this token may not write")]
    Denied { virtual_repo: String, member: String },
}

/// What a read through a virtual answers.
pub enum VirtualRead {
    /// A merged page; `members` are those whose files it lists, `local` when all are local.
    Page {
        page: Page,
        members: Vec<String>,
        local: bool,
    },
    PageNotModified(Digest),
    /// The canonical path of the page asked for, relative to the repository.
    Redirect(String),
    /// A file of a local member.
    Local {
        member: String,
        outcome: ReadOutcome,
    },
    /// A file of a remote member, through its cache.
    Remote {
        member: String,
        read: ProxyRead,
    },
}

/// One member, resolved.
pub struct Member {
    pub name: String,
    pub local: bool,
}

/// A virtual repository of one package type: its settings and its usable members in order
/// (members that are missing, of another package type or themselves virtual are skipped).
pub struct Members {
    pub settings: VirtualSettings,
    pub list: Vec<Member>,
}

fn unavailable(e: PortError) -> HostedError {
    HostedError::Unavailable(e.to_string())
}

impl Members {
    pub async fn resolve(hosted: &HostedService, name: &str, package: PackageType) -> Result<Self, VirtualError> {
        let repo = hosted.resolve(Kind::Virtual, name).await?;
        if repo.package != package {
            return Err(HostedError::UnsupportedPackage(name.to_string()).into());
        }
        let KindSettings::Virtual(settings) = repo.settings else {
            return Err(HostedError::WrongKind {
                name: name.to_string(),
                expected: Kind::Virtual.as_str(),
            }
            .into());
        };
        let mut list = Vec::new();
        for member in &settings.members {
            let Some(m) = hosted.catalog.get(member.as_str()).await.map_err(unavailable)? else {
                continue;
            };
            if m.package != package {
                continue;
            }
            let local = match m.settings {
                KindSettings::Local(_) => true,
                KindSettings::Remote(_) => false,
                KindSettings::Virtual(_) => continue,
            };
            list.push(Member {
                name: m.name.to_string(),
                local,
            });
        }
        Ok(Self { settings, list })
    }

    pub fn locals(&self) -> impl Iterator<Item = &Member> {
        self.list.iter().filter(|m| m.local)
    }

    pub fn get(&self, name: &str) -> Option<&Member> {
        self.list.iter().find(|m| m.name == name)
    }

    /// The members a request about one package asks, in order (`local_has`: a local member
    /// holds the package).
    pub fn consulted(&self, local_has: bool) -> impl Iterator<Item = &Member> {
        let flags: Vec<(String, bool)> = self.list.iter().map(|m| (m.name.clone(), m.local)).collect();
        let names: Vec<String> = consulted(&flags, local_has, self.settings.dependency_confusion_guard)
            .into_iter()
            .map(str::to_string)
            .collect();
        self.list.iter().filter(move |m| names.contains(&m.name))
    }

    /// Whether a local member holds a package of that name (what the guard asks).
    pub async fn local_has(&self, hosted: &HostedService, name: &str) -> Result<bool, VirtualError> {
        for m in self.locals() {
            if !hosted
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

    /// Whether every one of `names` is a local member (and there is at least one).
    pub fn all_local(&self, names: &[String]) -> bool {
        !names.is_empty() && names.iter().all(|n| self.get(n).is_some_and(|m| m.local))
    }
}

/// The local member a write through the virtual `name` lands in (the first), once `may_write`
/// allows it: a write through a virtual needs the write scope on that member, not only on the
/// virtual (as for docker virtuals).
pub async fn write_target(
    hosted: &HostedService,
    name: &str,
    package: PackageType,
    may_write: MayWrite<'_>,
) -> Result<String, VirtualError> {
    let members = Members::resolve(hosted, name, package).await?;
    let member = members
        .locals()
        .next()
        .map(|m| m.name.clone())
        .ok_or_else(|| VirtualError::NoLocalMember {
            virtual_repo: name.to_string(),
            package,
        })?;
    if !may_write(&member) {
        return Err(VirtualError::Denied {
            virtual_repo: name.to_string(),
            member,
        });
    }
    Ok(member)
}

/// A file a merged index links through the virtual as `_member/<member>/<path>`: served by that
/// member. A remote member is asked only when the guard lets it answer for the file's package
/// (`local_has` tells whether a local member holds that package; asked only then).
pub async fn read_member_file(
    (hosted, remote): (&HostedService, &RemoteService),
    members: &Members,
    (member, path): (&str, &str),
    request: ReadRequest<'_>,
    local_has: impl AsyncFnOnce() -> Result<bool, VirtualError>,
) -> Result<VirtualRead, VirtualError> {
    let not_found = || VirtualError::Hosted(HostedError::NotFound(format!("{member}/{path}")));
    let member = members.get(member).ok_or_else(not_found)?;
    let member_path = ArtifactPath::parse(path).map_err(HostedError::from)?;
    if member.local {
        let LocalRead::File(outcome) = hosted.read_local(&member.name, &member_path, request).await? else {
            return Err(not_found());
        };
        return Ok(VirtualRead::Local {
            member: member.name.clone(),
            outcome,
        });
    }
    if !members.consulted(local_has().await?).any(|m| m.name == member.name) {
        return Err(not_found());
    }
    let read = remote.read(&member.name, &member_path, request).await?;
    Ok(VirtualRead::Remote {
        member: member.name.clone(),
        read,
    })
}

/// Whether a member's answer says it does not have the path (so the next member is asked).
pub fn is_not_found(e: &VirtualError) -> bool {
    matches!(
        e,
        VirtualError::Remote(ProxyError::NotFound(_)) | VirtualError::Hosted(HostedError::NotFound(_))
    )
}

/// A file at the same path on every member (formats whose clients fetch files next to the
/// index): the first of `consulted` that has it answers. A member that fails is skipped
/// (logged); its error is the answer when no member has the file.
pub async fn first_member_file(
    services: (&HostedService, &RemoteService),
    consulted: &[&Member],
    path: &ArtifactPath,
    request: &ReadRequest<'_>,
) -> Result<VirtualRead, VirtualError> {
    let mut failure = None;
    for m in consulted {
        match member_file(services, m, path, request).await {
            Ok(read) => return Ok(read),
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                tracing::warn!(member = %m.name, error = %e, "member unavailable");
                failure.get_or_insert(e);
            }
        }
    }
    Err(failure.unwrap_or_else(|| HostedError::NotFound(path.to_string()).into()))
}

/// One member's answer for `path` (a page a local member renders, such as a goproxy `.info`,
/// counts as its file).
async fn member_file(
    (hosted, remote): (&HostedService, &RemoteService),
    m: &Member,
    path: &ArtifactPath,
    request: &ReadRequest<'_>,
) -> Result<VirtualRead, VirtualError> {
    let request = ReadRequest {
        range: request.range,
        if_range: request.if_range,
        if_none_match: request.if_none_match,
        head_only: request.head_only,
        ..ReadRequest::default()
    };
    if m.local {
        return Ok(match hosted.read_local(&m.name, path, request).await? {
            LocalRead::File(outcome) => VirtualRead::Local {
                member: m.name.clone(),
                outcome,
            },
            LocalRead::Page(page) => VirtualRead::Page {
                page,
                members: vec![m.name.clone()],
                local: true,
            },
            LocalRead::PageNotModified(digest) => VirtualRead::PageNotModified(digest),
            LocalRead::Redirect(_) => return Err(HostedError::NotFound(path.to_string()).into()),
        });
    }
    let read = remote.read(&m.name, path, request).await?;
    Ok(VirtualRead::Remote {
        member: m.name.clone(),
        read,
    })
}

/// A member's index page, refused past `limit` bytes (indexes only; files never come here).
pub async fn collect(mut body: ByteStream, limit: usize) -> Result<Vec<u8>, VirtualError> {
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| HostedError::Unavailable(format!("reading a member index: {e}")))?;
        if out.len() + chunk.len() > limit {
            return Err(HostedError::Unavailable(format!("a member index is larger than {limit} bytes")).into());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
