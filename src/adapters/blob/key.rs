//! Key checks shared by the blob adapters.
//!
//! The core only builds keys such as `blobs/sha256/<hex>` and `uploads/<uuid>`, and path traversal
//! is rejected at the HTTP edge; this is defence in depth so a bug upstream can never make an
//! adapter write outside its root.

use crate::ports::PortError;

/// Name of the filesystem staging directory; no key may start with it.
pub(crate) const STAGING_DIR: &str = ".tmp";

/// Accepts a `/`-separated relative key with no empty, `.` or `..` segments, no backslash or NUL,
/// and not inside the staging directory.
pub(crate) fn check_key(key: &str) -> Result<(), PortError> {
    if key.is_empty() {
        return Err(refused(key, "is empty"));
    }
    check_segments(key, false)
}

/// Like [`check_key`], but an empty prefix and a trailing `/` (a "directory" prefix) are allowed.
pub(crate) fn check_prefix(prefix: &str) -> Result<(), PortError> {
    if prefix.is_empty() {
        return Ok(());
    }
    check_segments(prefix, true)
}

fn check_segments(key: &str, trailing_slash_ok: bool) -> Result<(), PortError> {
    if key.starts_with('/') {
        return Err(refused(key, "is absolute"));
    }
    if key.contains('\\') {
        return Err(refused(key, "contains a backslash"));
    }
    if key.contains('\0') {
        return Err(refused(key, "contains a NUL byte"));
    }
    let body = if trailing_slash_ok {
        key.strip_suffix('/').unwrap_or(key)
    } else {
        key
    };
    for (i, segment) in body.split('/').enumerate() {
        match segment {
            "" => return Err(refused(key, "has an empty segment")),
            "." | ".." => return Err(refused(key, "has a `.` or `..` segment")),
            STAGING_DIR if i == 0 => return Err(refused(key, "is inside the staging directory")),
            _ => {}
        }
    }
    Ok(())
}

fn refused(key: &str, why: &str) -> PortError {
    PortError::Backend(format!("blob key {key:?} refused: it {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in ["a", "blobs/sha256/ab12", "uploads/0-1", "a/.b", "a..b"] {
            assert!(check_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/a", "a/../b", "..", "./a", "a//b", "a/", "a\\b", "a\0b", ".tmp/x", ".tmp",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn prefixes() {
        for ok in ["", "blobs/", "blobs/sha256/ab", "uploads"] {
            assert!(check_prefix(ok).is_ok(), "{ok}");
        }
        for bad in ["/", "/blobs", "../", "a//", "a\\", ".tmp/"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
