use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::path::Path;

use super::{ByteStream, PortError};
use crate::domain::range::ByteSpan;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobMeta {
    pub size: u64,
    pub last_modified: Option<DateTime<Utc>>,
}

/// A body being read, with the size of the whole object (not of the span).
pub struct BlobObject {
    pub meta: BlobMeta,
    pub body: ByteStream,
}

/// Byte storage addressed by key (`blobs/sha256/<hex>`, `uploads/<uuid>`).
///
/// Contract:
/// - `put`/`put_file` make the object visible atomically: a reader sees the whole object or
///   `NotFound`, never a prefix. Overwriting a key replaces it. A failed or interrupted body
///   leaves nothing behind (`Interrupted`).
/// - `get` with a span returns exactly those bytes (the caller resolved the span against the
///   size); a missing key is `NotFound`.
/// - `stat` of a missing key is `Ok(None)`; `delete` of a missing key is `Ok(())`.
/// - `list` returns every key under `prefix` (optionally only those last modified before
///   `older_than`), in no particular order.
/// - Keys are `/`-separated relative paths made by the core; adapters may still refuse odd keys.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, key: &str, body: ByteStream, size_hint: Option<u64>) -> Result<(), PortError>;
    /// Stores a local file (the CAS temp file) under `key`; the file is left in place for the
    /// caller to remove. Adapters may link instead of copying.
    async fn put_file(&self, key: &str, file: &Path, size: u64) -> Result<(), PortError>;
    async fn get(&self, key: &str, span: Option<ByteSpan>) -> Result<BlobObject, PortError>;
    async fn stat(&self, key: &str) -> Result<Option<BlobMeta>, PortError>;
    async fn delete(&self, key: &str) -> Result<(), PortError>;
    async fn list(&self, prefix: &str, older_than: Option<DateTime<Utc>>) -> Result<Vec<String>, PortError>;
    /// Readiness: the store is reachable and writable.
    async fn check(&self) -> Result<(), PortError>;
}
