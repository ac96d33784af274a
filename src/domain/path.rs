//! Artifact paths inside a repository, validated before any storage call (DESIGN §9).
use std::fmt;

/// Longest accepted path, in bytes.
pub const MAX_PATH_LEN: usize = 1024;

/// A relative, normalised path: no `..`/`.` segments, no empty segments, no backslashes,
/// no control characters, not absolute. Percent-decoding happens before this (once).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArtifactPath(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("path is empty")]
    Empty,
    #[error("path is longer than {MAX_PATH_LEN} bytes")]
    TooLong,
    #[error("absolute paths are not allowed")]
    Absolute,
    #[error("path segments '.' and '..' are not allowed")]
    Traversal,
    #[error("empty path segments are not allowed")]
    EmptySegment,
    #[error("backslashes are not allowed in paths")]
    Backslash,
    #[error("control characters (including NUL) are not allowed in paths")]
    ControlCharacter,
    #[error("a file path cannot end with '/'")]
    Directory,
    #[error("path is not valid percent-encoded UTF-8")]
    BadEncoding,
}

impl ArtifactPath {
    pub fn parse(raw: &str) -> Result<Self, PathError> {
        if raw.is_empty() {
            return Err(PathError::Empty);
        }
        if raw.len() > MAX_PATH_LEN {
            return Err(PathError::TooLong);
        }
        if raw.chars().any(char::is_control) {
            return Err(PathError::ControlCharacter);
        }
        if raw.contains('\\') {
            return Err(PathError::Backslash);
        }
        if raw.starts_with('/') || looks_like_drive(raw) {
            return Err(PathError::Absolute);
        }
        // One trailing slash names a directory-style resource (e.g. a PyPI simple page).
        let segments = raw.strip_suffix('/').unwrap_or(raw);
        for segment in segments.split('/') {
            match segment {
                "" => return Err(PathError::EmptySegment),
                "." | ".." => return Err(PathError::Traversal),
                _ => {}
            }
        }
        Ok(Self(raw.to_string()))
    }

    /// Decodes percent-escapes once, then validates. `%2e%2e` therefore becomes `..` and is refused.
    pub fn from_url_encoded(raw: &str) -> Result<Self, PathError> {
        let decoded = percent_decode(raw).ok_or(PathError::BadEncoding)?;
        Self::parse(&decoded)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for a directory-style path (trailing slash), which names an index, never a file.
    pub fn is_directory(&self) -> bool {
        self.0.ends_with('/')
    }

    /// Last segment, used as a download file name.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn looks_like_drive(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// Strict percent-decoding: a `%` must be followed by two hex digits; the result must be UTF-8.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let s = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(s, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let long = "a".repeat(MAX_PATH_LEN + 1);
        let table: &[(&str, Result<&str, PathError>)] = &[
            ("file.txt", Ok("file.txt")),
            ("a/b/c-1.0.tar.gz", Ok("a/b/c-1.0.tar.gz")),
            ("@scope%2fname", Ok("@scope/name")),
            ("with%20space", Ok("with space")),
            ("..", Err(PathError::Traversal)),
            ("a/../b", Err(PathError::Traversal)),
            ("a/./b", Err(PathError::Traversal)),
            ("%2e%2e/etc/passwd", Err(PathError::Traversal)),
            ("%2E%2E", Err(PathError::Traversal)),
            ("a/%2e%2e%2fb", Err(PathError::Traversal)),
            ("/etc/passwd", Err(PathError::Absolute)),
            ("%2fetc", Err(PathError::Absolute)),
            ("C:/windows", Err(PathError::Absolute)),
            ("a\\b", Err(PathError::Backslash)),
            ("a%5c..%5cb", Err(PathError::Backslash)),
            ("a%00b", Err(PathError::ControlCharacter)),
            ("a\nb", Err(PathError::ControlCharacter)),
            ("a//b", Err(PathError::EmptySegment)),
            ("a/", Ok("a/")),
            ("simple/demo/", Ok("simple/demo/")),
            ("/", Err(PathError::Absolute)),
            ("a//", Err(PathError::EmptySegment)),
            ("", Err(PathError::Empty)),
            ("%zz", Err(PathError::BadEncoding)),
            ("%", Err(PathError::BadEncoding)),
            ("%ff", Err(PathError::BadEncoding)),
            (long.as_str(), Err(PathError::TooLong)),
        ];
        for (input, expected) in table {
            let got = ArtifactPath::from_url_encoded(input);
            assert_eq!(
                got.as_ref().map(|p| p.as_str()),
                expected.as_ref().map(|s| *s),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn file_name_is_last_segment() {
        assert_eq!(ArtifactPath::parse("a/b/c.txt").unwrap().file_name(), "c.txt");
        assert_eq!(ArtifactPath::parse("c.txt").unwrap().file_name(), "c.txt");
    }
}
