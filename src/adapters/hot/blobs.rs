//! `BlobStore` with small content-addressed blobs kept in memory. `blobs/sha256/<hex>` never
//! changes once written, so a copy can never be stale; only size is bounded. Index pages,
//! manifests and metadata files are small and read on every request: serving them from memory
//! saves a blocking-thread hop and a file open per GET. Everything else passes through.
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use moka::future::Cache;
use std::path::Path;
use std::sync::Arc;

use crate::domain::range::ByteSpan;
use crate::ports::{BlobMeta, BlobObject, BlobStore, ByteStream, ListedKey, PortError};

/// Blobs up to this size are kept.
pub const SMALL_BLOB: u64 = 64 * 1024;
/// Total bytes kept.
pub const SMALL_BLOB_CACHE: u64 = 32 * 1024 * 1024;

pub struct HotBlobs {
    inner: Arc<dyn BlobStore>,
    small: Cache<String, (Bytes, BlobMeta)>,
}

fn immutable(key: &str) -> bool {
    key.starts_with("blobs/")
}

fn once(bytes: Bytes) -> ByteStream {
    Box::pin(futures::stream::once(async move { Ok(bytes) }))
}

fn serve(bytes: &Bytes, meta: &BlobMeta, span: Option<ByteSpan>) -> BlobObject {
    let body = match span {
        None => bytes.clone(),
        Some(s) => bytes.slice((s.start as usize).min(bytes.len())..((s.end + 1) as usize).min(bytes.len())),
    };
    BlobObject {
        meta: meta.clone(),
        body: once(body),
    }
}

impl HotBlobs {
    pub fn new(inner: Arc<dyn BlobStore>) -> Self {
        Self {
            inner,
            small: Cache::builder()
                .max_capacity(SMALL_BLOB_CACHE)
                .weigher(|_key: &String, (bytes, _): &(Bytes, BlobMeta)| u32::try_from(bytes.len()).unwrap_or(u32::MAX))
                .build(),
        }
    }
}

#[async_trait]
impl BlobStore for HotBlobs {
    async fn put(&self, key: &str, body: ByteStream, size_hint: Option<u64>) -> Result<(), PortError> {
        self.small.invalidate(key).await;
        self.inner.put(key, body, size_hint).await
    }

    async fn put_file(&self, key: &str, file: &Path, size: u64) -> Result<(), PortError> {
        self.small.invalidate(key).await;
        self.inner.put_file(key, file, size).await
    }

    async fn get(&self, key: &str, span: Option<ByteSpan>) -> Result<BlobObject, PortError> {
        if let Some((bytes, meta)) = self.small.get(key).await {
            return Ok(serve(&bytes, &meta, span));
        }
        let object = self.inner.get(key, span).await?;
        if !immutable(key) || span.is_some() || object.meta.size > SMALL_BLOB {
            return Ok(object);
        }
        // Small and whole: read it (at most SMALL_BLOB bytes), keep it, serve it.
        let mut body = object.body;
        let mut buffer = Vec::with_capacity(object.meta.size as usize);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| PortError::Backend(format!("read {key}: {e}")))?;
            if (buffer.len() + chunk.len()) as u64 > SMALL_BLOB {
                return Err(PortError::Backend(format!("{key} is larger than its size")));
            }
            buffer.extend_from_slice(&chunk);
        }
        let bytes = Bytes::from(buffer);
        self.small
            .insert(key.to_string(), (bytes.clone(), object.meta.clone()))
            .await;
        Ok(serve(&bytes, &object.meta, None))
    }

    async fn stat(&self, key: &str) -> Result<Option<BlobMeta>, PortError> {
        if let Some((_, meta)) = self.small.get(key).await {
            return Ok(Some(meta));
        }
        self.inner.stat(key).await
    }

    async fn delete(&self, key: &str) -> Result<(), PortError> {
        let result = self.inner.delete(key).await;
        self.small.invalidate(key).await;
        result
    }

    async fn list(&self, prefix: &str, after: Option<String>, limit: usize) -> Result<Vec<ListedKey>, PortError> {
        self.inner.list(prefix, after, limit).await
    }

    async fn check(&self) -> Result<(), PortError> {
        self.inner.check().await
    }
}
