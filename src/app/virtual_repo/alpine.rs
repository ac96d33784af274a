//! Virtual alpine repositories: `<dir>/APKINDEX.tar.gz` merges the members' indexes of the same
//! directory (see `domain::formats::alpine::merge`) and is signed with the instance's key (the
//! merged index is ours; remote members' signatures cannot cover it), and the key is served
//! under `keys/` as for a local repository. apk fetches `<dir>/<name>-<version>.apk` next to
//! the index, so a package file comes from the first member (in order) that has it, which is
//! the member whose block the merge kept. With the dependency-confusion guard on, a package a
//! local member holds is never asked of a remote member.
use super::rpm::virtual_page;
use super::{Member, Members, VirtualError, VirtualRead, collect, first_member_file, is_not_found};
use crate::app::hosted::alpine::{INDEX_CONTENT_TYPE, KEYS_DIR, description, newest};
use crate::app::hosted::rpm::page;
use crate::app::hosted::{HostedService, ReadRequest};
use crate::app::proxy::{ProxyRead, RemoteService};
use crate::domain::error::HostedError;
use crate::domain::formats::alpine::index::{Entry, MAX_MEMBER_INDEX, index_dir, parse_text, read_index};
use crate::domain::formats::alpine::merge::{MemberIndex, merge, package_name};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;

/// The largest compressed member index read.
const MAX_MEMBER_ARCHIVE: usize = 64 << 20;

/// The virtual use cases, over the hosted and the remote services (borrowed per request).
pub struct AlpineVirtual<'a> {
    hosted: &'a HostedService,
    remote: &'a RemoteService,
}

impl<'a> AlpineVirtual<'a> {
    pub fn new(hosted: &'a HostedService, remote: &'a RemoteService) -> Self {
        Self { hosted, remote }
    }

    pub async fn read(
        &self,
        name: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let members = Members::resolve(self.hosted, name, PackageType::Alpine).await?;
        if let Some(key_file) = path.as_str().strip_prefix(KEYS_DIR) {
            let key = self.hosted.alpine_public_key(key_file, request).await?;
            return Ok(virtual_page(key, &members, Vec::new()));
        }
        if let Some(dir) = index_dir(path.as_str()) {
            return self.index(name, dir, path, &members, request).await;
        }
        let not_found = || VirtualError::Hosted(HostedError::NotFound(path.to_string()));
        let file_name = path.file_name();
        let Some(package) = package_name(file_name) else {
            return Err(not_found());
        };
        let local_has = members.local_has(self.hosted, package).await?;
        let consulted: Vec<&Member> = members.consulted(local_has).collect();
        first_member_file((self.hosted, self.remote), &consulted, path, &request).await
    }

    /// The merged, re-signed index of `dir`. A remote member that cannot be read is left out
    /// (logged), as for the other formats' merged indexes.
    async fn index(
        &self,
        name: &str,
        dir: &str,
        path: &ArtifactPath,
        members: &Members,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let mut indexes = Vec::new();
        let mut mtime = 0;
        for m in &members.list {
            let entries = if m.local {
                let records = self.hosted.alpine_records(&m.name, dir).await?;
                mtime = mtime.max(newest(&records));
                records.iter().map(|r| Entry::of(&r.package)).collect()
            } else {
                match self.remote_entries(&m.name, path).await {
                    Ok(entries) => entries,
                    Err(e) if is_not_found(&e) => continue,
                    Err(e) => {
                        tracing::warn!(member = %m.name, error = %e, "member APKINDEX skipped");
                        continue;
                    }
                }
            };
            indexes.push(MemberIndex {
                member: m.name.clone(),
                local: m.local,
                entries,
            });
        }
        let merged = merge(&indexes, members.settings.dependency_confusion_guard);
        let body = self
            .hosted
            .alpine_index(&description(name, dir), &merged.entries, mtime)
            .await?;
        Ok(virtual_page(
            page(body, INDEX_CONTENT_TYPE, request),
            members,
            merged.members,
        ))
    }

    /// A remote member's index blocks, read through its cache (bounded before and after
    /// decompression). Its signature is not checked here: apk checks ours.
    async fn remote_entries(&self, member: &str, path: &ArtifactPath) -> Result<Vec<Entry>, VirtualError> {
        let body = match self.remote.read(member, path, ReadRequest::default()).await? {
            ProxyRead::Cached { body: Some(body), .. } | ProxyRead::Streaming { body, .. } => body,
            _ => return Err(HostedError::Unavailable(format!("member '{member}': no body")).into()),
        };
        let archive = collect(body, MAX_MEMBER_ARCHIVE).await?;
        let text = read_index(&archive, MAX_MEMBER_INDEX)
            .map_err(|e| HostedError::Unavailable(format!("member '{member}': {e}")))?;
        Ok(parse_text(&text))
    }
}

#[cfg(test)]
#[path = "alpine_tests.rs"]
mod tests;
