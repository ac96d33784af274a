//! `LocalDisk` on the filesystem holding the data directory: free space from statvfs, and the
//! reserve as a file `<data_dir>/reserve.space` whose blocks are really allocated: fallocate
//! where the filesystem has it, else random bytes (which no compression or deduplication
//! shrinks, unlike zeros or a sparse file).
use rand::RngCore;
use std::io::Write;
use std::path::PathBuf;

use crate::ports::{LocalDisk, PortError};

const CHUNK: usize = 1024 * 1024;

pub struct FsDisk {
    dir: PathBuf,
    reserve_file: PathBuf,
    reserve: u64,
}

impl FsDisk {
    /// `dir` must exist; `reserve` bytes are kept in the reserve file (0: no file).
    pub fn new(dir: PathBuf, reserve: u64) -> Self {
        let reserve_file = dir.join("reserve.space");
        Self {
            dir,
            reserve_file,
            reserve,
        }
    }
}

impl LocalDisk for FsDisk {
    fn available(&self) -> Result<u64, PortError> {
        let stat = rustix::fs::statvfs(&self.dir)
            .map_err(|e| PortError::Backend(format!("statvfs {}: {e}", self.dir.display())))?;
        Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
    }

    fn reserve_held(&self) -> bool {
        self.reserve > 0 && std::fs::metadata(&self.reserve_file).is_ok_and(|m| m.len() >= self.reserve)
    }

    fn release_reserve(&self) -> Result<(), PortError> {
        match std::fs::remove_file(&self.reserve_file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(PortError::io(
                format_args!("remove {}", self.reserve_file.display()),
                &e,
            )),
        }
    }

    fn restore_reserve(&self) -> Result<(), PortError> {
        let partial = self.reserve_file.with_extension("part");
        let written = (|| {
            let mut file = std::fs::File::create(&partial)?;
            if rustix::fs::fallocate(&file, rustix::fs::FallocateFlags::empty(), 0, self.reserve).is_ok() {
                file.sync_all()?;
                return std::fs::rename(&partial, &self.reserve_file);
            }
            let mut chunk = vec![0u8; CHUNK];
            let mut left = self.reserve;
            while left > 0 {
                rand::rng().fill_bytes(&mut chunk);
                let n = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
                file.write_all(&chunk[..n])?;
                left -= n as u64;
            }
            file.sync_all()?;
            std::fs::rename(&partial, &self.reserve_file)
        })();
        written.map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            PortError::io(format_args!("write {}", self.reserve_file.display()), &e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_round_trip_and_free_space() {
        let dir = tempfile::tempdir().unwrap();
        let disk = FsDisk::new(dir.path().to_path_buf(), 64 * 1024);
        assert!(disk.available().unwrap() > 0);
        assert!(!disk.reserve_held());
        disk.restore_reserve().unwrap();
        assert!(disk.reserve_held());
        assert_eq!(
            std::fs::metadata(dir.path().join("reserve.space")).unwrap().len(),
            64 * 1024
        );
        disk.release_reserve().unwrap();
        assert!(!disk.reserve_held());
        disk.release_reserve().unwrap();
    }
}
