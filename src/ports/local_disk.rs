use super::PortError;

/// The local filesystem under the data directory (temp files, the default SQLite database and
/// fs blob store), with a reserve file: space set aside so that deletes, which need a few free
/// pages in SQLite, still work once everything else has filled the disk.
///
/// Contract: `available` is what an unprivileged write could use now (statvfs `f_bavail`);
/// `release_reserve` removes the reserve file (no error when it is not there);
/// `restore_reserve` writes it back with real blocks (not a sparse file); `reserve_held` says
/// whether it is in place. Calls are blocking filesystem operations.
#[cfg_attr(test, mockall::automock)]
pub trait LocalDisk: Send + Sync {
    fn available(&self) -> Result<u64, PortError>;
    fn reserve_held(&self) -> bool;
    fn release_reserve(&self) -> Result<(), PortError>;
    fn restore_reserve(&self) -> Result<(), PortError>;
}
