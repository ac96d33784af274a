//! Free space on the data directory's disk. Writes (uploads, pushes, cached copies) are refused
//! with 507 once less than `reserve` bytes would be left; at that point the reserve file is
//! released, so that deletes (whose SQLite pages need a little room) keep working and space can
//! be freed through the API. The reserve comes back once the disk has room for it and `reserve`
//! free bytes besides. A `reserve` of 0 turns both off (a write that hits a full disk is still a
//! clean 507).
use std::sync::Arc;

use crate::ports::LocalDisk;

/// What `DiskGuard` saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskStatus {
    /// Bytes writes may use: what the filesystem has, less the released reserve's share.
    pub free: u64,
    /// Below `reserve`: writes are refused.
    pub low: bool,
}

pub struct DiskGuard {
    disk: Arc<dyn LocalDisk>,
    reserve: u64,
}

impl DiskGuard {
    pub fn new(disk: Arc<dyn LocalDisk>, reserve: u64) -> Self {
        Self { disk, reserve }
    }

    /// Measures, and releases the reserve when the disk runs low. Cheap (one statvfs) unless
    /// the reserve is released; safe to call on every write request.
    pub fn check(&self) -> DiskStatus {
        let status = self.status();
        if status.low && self.disk.reserve_held() {
            match self.disk.release_reserve() {
                Ok(()) => tracing::warn!(
                    free = status.free,
                    reserve = self.reserve,
                    "disk almost full: writes refused, reserve released so deletes keep working"
                ),
                Err(e) => tracing::error!(error = %e, "could not release the disk reserve"),
            }
        }
        status
    }

    /// `check`, and puts the reserve back once there is room for it (writes `reserve` bytes:
    /// for the periodic tick and readiness, not the request path).
    pub fn maintain(&self) -> DiskStatus {
        let status = self.check();
        if !status.low && self.reserve > 0 && !self.disk.reserve_held() {
            match self.disk.restore_reserve() {
                Ok(()) => tracing::info!(free = status.free, "disk has room again: reserve restored"),
                Err(e) => tracing::warn!(error = %e, "could not restore the disk reserve"),
            }
        }
        status
    }

    /// Whether a write of `size` bytes (unknown: `None`) may start: refused while low, or when
    /// it would leave less than `reserve` free.
    pub fn admits(&self, size: Option<u64>) -> Result<(), DiskStatus> {
        let status = self.check();
        let room = status.free.saturating_sub(self.reserve);
        if status.low || size.is_some_and(|s| s > room) {
            return Err(status);
        }
        Ok(())
    }

    fn status(&self) -> DiskStatus {
        if self.reserve == 0 {
            return DiskStatus {
                free: self.available(),
                low: false,
            };
        }
        let available = self.available();
        // A released reserve's space is kept for deletes, not counted as free for writes.
        let free = if self.disk.reserve_held() {
            available
        } else {
            available.saturating_sub(self.reserve)
        };
        DiskStatus {
            free,
            low: free < self.reserve,
        }
    }

    /// An unreadable filesystem counts as roomy: failing writes for a statvfs error would turn a
    /// monitoring glitch into an outage, and a real full disk still answers 507 on ENOSPC.
    fn available(&self) -> u64 {
        self.disk.available().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read free disk space");
            u64::MAX
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::local_disk::MockLocalDisk;
    use std::sync::Mutex;

    /// A disk of `available` free bytes whose reserve file takes `reserve` when present.
    struct FakeDisk {
        state: Mutex<(u64, bool)>,
        reserve: u64,
    }

    impl LocalDisk for FakeDisk {
        fn available(&self) -> Result<u64, crate::ports::PortError> {
            Ok(self.state.lock().unwrap().0)
        }
        fn reserve_held(&self) -> bool {
            self.state.lock().unwrap().1
        }
        fn release_reserve(&self) -> Result<(), crate::ports::PortError> {
            let mut s = self.state.lock().unwrap();
            if s.1 {
                *s = (s.0 + self.reserve, false);
            }
            Ok(())
        }
        fn restore_reserve(&self) -> Result<(), crate::ports::PortError> {
            let mut s = self.state.lock().unwrap();
            if !s.1 {
                *s = (s.0 - self.reserve, true);
            }
            Ok(())
        }
    }

    fn guard(available: u64) -> (DiskGuard, Arc<FakeDisk>) {
        let disk = Arc::new(FakeDisk {
            state: Mutex::new((available, true)),
            reserve: 10,
        });
        (DiskGuard::new(disk.clone(), 10), disk)
    }

    #[test]
    fn low_space_refuses_writes_and_releases_the_reserve_until_there_is_room() {
        let (guard, disk) = guard(100);
        assert_eq!(guard.admits(Some(90)), Ok(()));
        assert!(guard.admits(Some(91)).is_err(), "would leave less than the reserve");
        assert_eq!(guard.admits(None), Ok(()));

        disk.state.lock().unwrap().0 = 3;
        assert_eq!(guard.check(), DiskStatus { free: 3, low: true });
        assert_eq!(*disk.state.lock().unwrap(), (13, false), "reserve released");
        assert!(guard.admits(None).is_err());
        assert_eq!(
            guard.maintain(),
            DiskStatus { free: 3, low: true },
            "no room to restore"
        );
        assert!(!disk.reserve_held());

        disk.state.lock().unwrap().0 = 25;
        assert_eq!(guard.maintain(), DiskStatus { free: 15, low: false });
        assert_eq!(*disk.state.lock().unwrap(), (15, true), "reserve restored");
        assert_eq!(guard.admits(Some(5)), Ok(()));
    }

    #[test]
    fn no_reserve_means_no_low_state_and_an_unreadable_disk_is_not_low() {
        let mut disk = MockLocalDisk::new();
        disk.expect_available().returning(|| Ok(0));
        disk.expect_reserve_held().return_const(false);
        disk.expect_release_reserve().times(0);
        let guard = DiskGuard::new(Arc::new(disk), 0);
        assert_eq!(guard.admits(None), Ok(()));

        let mut disk = MockLocalDisk::new();
        disk.expect_available()
            .returning(|| Err(crate::ports::PortError::Backend("statvfs failed".into())));
        disk.expect_reserve_held().return_const(true);
        let guard = DiskGuard::new(Arc::new(disk), 10);
        assert_eq!(guard.admits(Some(1 << 40)), Ok(()));
    }
}
