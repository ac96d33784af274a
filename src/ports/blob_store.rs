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

/// One key of a listing page, with its size and last write as the store reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedKey {
    pub key: String,
    pub meta: BlobMeta,
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
/// - `list(prefix, after, limit)` returns one page: at most `limit` keys under `prefix` that sort
///   after `after` (byte order), in that order; a page shorter than `limit` is the last. Memory
///   is bounded by `limit` whatever the store holds.
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
    async fn list(&self, prefix: &str, after: Option<String>, limit: usize) -> Result<Vec<ListedKey>, PortError>;
    /// Readiness: the store is reachable and writable.
    async fn check(&self) -> Result<(), PortError>;
}
