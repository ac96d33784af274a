//! Virtual rpm repositories: `repodata/` merged over the members (see
//! `domain::formats::rpm::merge`), package links through the virtual as `_member/<member>/…`.
//! As for a local repository, the merged data files are stored (under the virtual's name,
//! content-addressed) before the repomd.xml naming them is answered, so a client never sees a
//! repomd naming a file that is not there, on any replica.
use std::io::Read;

use super::{Members, VirtualError, VirtualRead, collect};
use crate::app::hosted::rpm::{PageRead, REPOMD_CONTENT_TYPE, RpmRecord, page};
use crate::app::hosted::{HostedService, LocalRead, ReadRequest};
use crate::app::proxy::{ProxyRead, RemoteService};
use crate::domain::error::HostedError;
use crate::domain::formats::rpm::merge::{
    MAX_MEMBER_DOCUMENT, MAX_MEMBER_REPOMD, MemberData, member_file, merge, repomd_hrefs,
};
use crate::domain::formats::rpm::repodata::{
    DataFile, Entry, REPOMD, REPOMD_ASC, REPOMD_KEY, filelists, is_data_path, other, primary, render_repomd,
};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;

/// The virtual use cases, over the hosted and the remote services (borrowed per request).
pub struct RpmVirtual<'a> {
    hosted: &'a HostedService,
    remote: &'a RemoteService,
}

impl<'a> RpmVirtual<'a> {
    pub fn new(hosted: &'a HostedService, remote: &'a RemoteService) -> Self {
        Self { hosted, remote }
    }

    pub async fn read(
        &self,
        name: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let members = Members::resolve(self.hosted, name, PackageType::Rpm).await?;
        let not_found = || VirtualError::Hosted(HostedError::NotFound(path.to_string()));
        match path.as_str() {
            REPOMD => return self.repomd(name, &members, request).await,
            REPOMD_ASC => {
                let (repomd, contributors) = self.merged_repomd(name, &members).await?;
                let signed = self.hosted.rpm_signature(&repomd, request)?;
                return Ok(virtual_page(signed, &members, contributors));
            }
            REPOMD_KEY => return Ok(virtual_page(self.hosted.rpm_public_key(request)?, &members, Vec::new())),
            _ => {}
        }
        if is_data_path(path.as_str()) {
            return Ok(VirtualRead::Local {
                member: name.to_string(),
                outcome: self.hosted.rpm_stored(name, path, request).await?,
            });
        }
        let (member, member_path) = member_file(path.as_str()).ok_or_else(not_found)?;
        let member = members.get(member).ok_or_else(not_found)?;
        let member_path = ArtifactPath::parse(member_path).map_err(HostedError::from)?;
        if member.local {
            let outcome = match self.hosted.read_local(&member.name, &member_path, request).await? {
                LocalRead::File(outcome) => outcome,
                _ => return Err(not_found()),
            };
            return Ok(VirtualRead::Local {
                member: member.name.clone(),
                outcome,
            });
        }
        if members.settings.dependency_confusion_guard && self.local_has(&members, member_path.as_str()).await? {
            return Err(not_found());
        }
        let read = self.remote.read(&member.name, &member_path, request).await?;
        Ok(VirtualRead::Remote {
            member: member.name.clone(),
            read,
        })
    }

    /// Whether a local member has the package named by the file name at the end of `path`
    /// (`name-version-release.arch.rpm`): the guard then keeps the remote's file away, as it
    /// keeps it out of the merged repodata.
    async fn local_has(&self, members: &Members, path: &str) -> Result<bool, VirtualError> {
        let Some(name) = package_name(path) else {
            return Ok(false);
        };
        for m in members.locals() {
            let records = self
                .hosted
                .packages
                .files(&m.name, name)
                .await
                .map_err(|e| HostedError::Unavailable(e.to_string()))?;
            if !records.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn repomd(
        &self,
        name: &str,
        members: &Members,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let (repomd, contributors) = self.merged_repomd(name, members).await?;
        Ok(virtual_page(
            page(repomd, REPOMD_CONTENT_TYPE, request),
            members,
            contributors,
        ))
    }

    /// The merged repomd.xml (its data files stored first) and the members that contributed.
    async fn merged_repomd(&self, name: &str, members: &Members) -> Result<(Vec<u8>, Vec<String>), VirtualError> {
        let mut documents = Vec::new();
        let mut revision = 0;
        for m in &members.list {
            let data = if m.local {
                let records = self.hosted.rpm_records(&m.name).await?;
                revision = records
                    .iter()
                    .map(|r| r.record.created_at.timestamp())
                    .fold(revision, i64::max);
                local_documents(&m.name, &records)
            } else {
                match self.remote_documents(&m.name).await {
                    Ok(data) => data,
                    Err(e) => {
                        tracing::warn!(member = %m.name, error = %e, "member repodata skipped");
                        continue;
                    }
                }
            };
            documents.push(data);
        }
        let merged = merge(&documents, members.settings.dependency_confusion_guard);
        let mut files = Vec::new();
        for (kind, xml) in [
            ("primary", &merged.primary),
            ("filelists", &merged.filelists),
            ("other", &merged.other),
        ] {
            let file = DataFile::new(kind, xml).map_err(|e| HostedError::Unavailable(e.to_string()))?;
            self.hosted.store_data_file(name, &file).await?;
            files.push(file);
        }
        self.hosted.prune_data_files(name, &files).await?;
        Ok((render_repomd(&files, revision).into_bytes(), merged.members))
    }

    /// A remote member's three documents: its repomd.xml, then each gzipped file it names
    /// (bounded before and after decompression).
    async fn remote_documents(&self, member: &str) -> Result<MemberData, VirtualError> {
        let repomd = self.fetch(member, REPOMD, MAX_MEMBER_REPOMD).await?;
        let repomd = String::from_utf8(repomd).map_err(|_| unavailable(member, "repomd.xml is not UTF-8"))?;
        let mut data = MemberData {
            member: member.to_string(),
            local: false,
            primary: String::new(),
            filelists: String::new(),
            other: String::new(),
        };
        for (kind, href) in repomd_hrefs(&repomd) {
            let slot = match kind.as_str() {
                "primary" => &mut data.primary,
                "filelists" => &mut data.filelists,
                "other" => &mut data.other,
                _ => continue,
            };
            if !href.ends_with(".gz") {
                return Err(unavailable(
                    member,
                    &format!("{href}: only gzip-compressed repodata can be merged"),
                ));
            }
            let gz = self.fetch(member, &href, MAX_MEMBER_DOCUMENT as usize).await?;
            let mut xml = String::new();
            flate2::read::GzDecoder::new(gz.as_slice())
                .take(MAX_MEMBER_DOCUMENT + 1)
                .read_to_string(&mut xml)
                .map_err(|e| unavailable(member, &format!("{href}: {e}")))?;
            if xml.len() as u64 > MAX_MEMBER_DOCUMENT {
                return Err(unavailable(
                    member,
                    &format!("{href} is larger than {MAX_MEMBER_DOCUMENT} bytes"),
                ));
            }
            *slot = xml;
        }
        if data.primary.is_empty() {
            return Err(unavailable(member, "repomd.xml names no primary"));
        }
        Ok(data)
    }

    async fn fetch(&self, member: &str, path: &str, limit: usize) -> Result<Vec<u8>, VirtualError> {
        let path = ArtifactPath::parse(path).map_err(HostedError::from)?;
        let body = match self.remote.read(member, &path, ReadRequest::default()).await? {
            ProxyRead::Cached { body: Some(body), .. } | ProxyRead::Streaming { body, .. } => body,
            _ => return Err(unavailable(member, "no body")),
        };
        collect(body, limit).await
    }
}

/// The package name of an rpm file name (`name-version-release.arch.rpm`).
fn package_name(path: &str) -> Option<&str> {
    let file = path.rsplit('/').next()?.strip_suffix(".rpm")?;
    let mut parts = file.rsplitn(3, '-');
    let (_release, _version, name) = (parts.next()?, parts.next()?, parts.next()?);
    (!name.is_empty()).then_some(name)
}

/// A page of the virtual; `contributors` go into `X-Artifact-Member`.
pub(super) fn virtual_page(read: PageRead, members: &Members, contributors: Vec<String>) -> VirtualRead {
    match read {
        PageRead::NotModified(digest) => VirtualRead::PageNotModified(digest),
        PageRead::Page(page) => VirtualRead::Page {
            local: members.all_local(&contributors),
            page,
            members: contributors,
        },
    }
}

fn unavailable(member: &str, why: &str) -> VirtualError {
    HostedError::Unavailable(format!("member '{member}': {why}")).into()
}

/// A local member's documents rendered from its records at their own paths (the merge points
/// every package at `_member/<member>/`).
fn local_documents(member: &str, records: &[RpmRecord]) -> MemberData {
    let entries: Vec<Entry<'_>> = records.iter().map(crate::app::hosted::rpm::entry).collect();
    MemberData {
        member: member.to_string(),
        local: true,
        primary: primary(&entries),
        filelists: filelists(&entries),
        other: other(&entries),
    }
}

#[cfg(test)]
#[path = "rpm_tests.rs"]
mod tests;
