//! Virtual generic repositories: a path is answered by the first member, in order, that has it
//! (a local member's stored file, a remote member's cached or fetched copy). A generic path has
//! no package name, so the dependency-confusion guard works per path: with it on (the default),
//! a path a local member holds is never fetched from a remote member, whatever the order.
use super::{Member, Members, VirtualError, VirtualRead, first_member_file};
use crate::app::hosted::{HostedService, ReadRequest};
use crate::app::proxy::RemoteService;
use crate::domain::error::HostedError;
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;

/// The virtual use cases, over the hosted and the remote services (borrowed per request).
pub struct GenericVirtual<'a> {
    hosted: &'a HostedService,
    remote: &'a RemoteService,
}

impl<'a> GenericVirtual<'a> {
    pub fn new(hosted: &'a HostedService, remote: &'a RemoteService) -> Self {
        Self { hosted, remote }
    }

    pub async fn read(
        &self,
        name: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<VirtualRead, VirtualError> {
        let members = Members::resolve(self.hosted, name, PackageType::Generic).await?;
        let local_has = members.settings.dependency_confusion_guard && self.local_has(&members, path).await?;
        let consulted: Vec<&Member> = members.consulted(local_has).collect();
        first_member_file((self.hosted, self.remote), &consulted, path, &request).await
    }

    /// Whether a local member stores `path`.
    async fn local_has(&self, members: &Members, path: &ArtifactPath) -> Result<bool, VirtualError> {
        for m in members.locals() {
            let stored = self
                .hosted
                .files
                .get(&m.name, path.as_str())
                .await
                .map_err(|e| HostedError::Unavailable(e.to_string()))?;
            if stored.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
#[path = "generic_tests.rs"]
mod tests;
