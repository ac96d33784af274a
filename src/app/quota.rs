//! Where uploads meet `quota_bytes`: the room a local repository has left, read from the
//! database (its distinct stored bytes) at the start of every upload, by every upload path
//! (generic, terraform, rpm and alpine PUT, twine, docker blobs and manifests). A declared size
//! that cannot fit is refused before the body is read; an undeclared one is cut off by the CAS
//! limit at the quota. Concurrent uploads each see the room left before them, so together they may go past
//! the quota by what was in flight; the next upload is refused.
use crate::domain::quota::Room;
use crate::domain::repository::{KindSettings, LocalSettings, Repository};
use crate::ports::{HostedFiles, PortError};

/// The room `repo` has now: `Unlimited` without a quota (and for any other kind).
pub async fn room(files: &dyn HostedFiles, repo: &Repository) -> Result<Room, PortError> {
    match &repo.settings {
        KindSettings::Local(LocalSettings {
            quota_bytes: Some(quota),
            ..
        }) => Ok(Room::Limited {
            quota: *quota,
            used: files.stored_bytes(repo.name.as_str()).await?,
        }),
        _ => Ok(Room::Unlimited),
    }
}
