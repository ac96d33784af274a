//! Packages of hosted repositories (DESIGN §10): one record per published file, holding what an
//! index needs (name, version, digest, size, format metadata) so indexes are rendered from the
//! database alone, identical on every replica.
use chrono::{DateTime, Utc};

use super::digest::Digest;

/// One published file of a hosted package.
#[derive(Clone, Debug, PartialEq)]
pub struct PackageRecord {
    pub repo: String,
    /// The package's normalised name (PEP 503 for PyPI), which groups its files.
    pub name: String,
    pub version: String,
    /// Unique per repository: two uploads with the same key are the same file, whatever the
    /// spelling of their names (PyPI: normalised name, canonical version and tags).
    pub key: String,
    /// The file name as uploaded.
    pub filename: String,
    /// Where the file lives in the repository's `HostedFiles`.
    pub path: String,
    pub digest: Digest,
    pub size: u64,
    /// Format-specific fields (PyPI: requires-python, core metadata digest, yank reason).
    pub meta: serde_json::Value,
    pub created_at: DateTime<Utc>,
}
