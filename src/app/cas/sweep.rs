//! Temp files of ingests that never finished (the process was killed mid-upload): each live
//! ingest holds an exclusive lock on its temp file, so a file nobody holds is garbage. The sweep
//! runs at start and periodically; `min_age` spares a file created a moment ago whose creator
//! has not locked it yet.
use std::fs::{File, TryLockError};
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Prefix of every ingest temp file.
pub(super) const TEMP_PREFIX: &str = "ingest-";
/// A temp file whose lock cannot be tested (a filesystem without locks) is removed only after
/// this long untouched: no ingest goes a day without writing.
const UNLOCKABLE_AGE: Duration = Duration::from_secs(24 * 3600);

/// What a sweep removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub files: u64,
    pub bytes: u64,
}

/// Takes an exclusive lock on the temp file at `path` for as long as the returned handle lives.
/// `None` where the filesystem has no locks: the file is then swept by age only.
pub(super) fn hold(path: &Path) -> Option<File> {
    let file = File::open(path).ok()?;
    file.try_lock().ok()?;
    Some(file)
}

/// Removes the `ingest-*` files in `dir` that no live ingest holds and that were last written
/// `min_age` ago or more.
pub fn sweep(dir: &Path, min_age: Duration) -> io::Result<Swept> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Swept::default()),
        Err(e) => return Err(e),
    };
    let mut swept = Swept::default();
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() {
            continue;
        }
        let age = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .unwrap_or_default();
        let Ok(file) = File::open(&path) else { continue };
        let unheld = match file.try_lock() {
            Ok(()) => age >= min_age,
            Err(TryLockError::WouldBlock) => false,
            Err(TryLockError::Error(_)) => age >= UNLOCKABLE_AGE.max(min_age),
        };
        if unheld && std::fs::remove_file(&path).is_ok() {
            swept.files += 1;
            swept.bytes += meta.len();
        }
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(dir: &Path, name: &str, age: Duration) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, b"12345").unwrap();
        let file = File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        path
    }

    #[test]
    fn removes_only_unheld_temp_files_old_enough() {
        let dir = tempfile::tempdir().unwrap();
        let hour = Duration::from_secs(3600);
        let abandoned = temp(dir.path(), "ingest-abandoned", 2 * hour);
        let young = temp(dir.path(), "ingest-young", Duration::ZERO);
        let live = temp(dir.path(), "ingest-live", 2 * hour);
        let other = temp(dir.path(), "not-ours", 2 * hour);
        let _held = hold(&live).unwrap();

        let swept = sweep(dir.path(), hour).unwrap();
        assert_eq!(swept, Swept { files: 1, bytes: 5 });
        assert!(!abandoned.exists());
        assert!(young.exists() && live.exists() && other.exists());

        // At start any unheld one goes, however young; a held one never does.
        assert_eq!(sweep(dir.path(), Duration::ZERO).unwrap().files, 1);
        assert!(!young.exists() && live.exists());
        assert_eq!(
            sweep(&dir.path().join("missing"), Duration::ZERO).unwrap(),
            Swept::default()
        );
    }
}
