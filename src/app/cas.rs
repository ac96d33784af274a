//! The content-addressable write path (DESIGN §5): stream → temp file while hashing → verify →
//! put under `blobs/sha256/<hex>` if absent → blob row. Memory stays at one chunk plus a small
//! write buffer whatever the size; the temp file is deleted on every exit path (drop guard).
use futures::StreamExt;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::domain::digest::{Digest, DigestBuilder};
use crate::ports::{BlobRecord, BlobRecords, BlobStore, ByteStream, Clock, PortError};
use sha2::{Digest as _, Sha512};

const WRITE_BUFFER: usize = 256 * 1024;

/// Where `ingest_forwarding` sends chunks as they are stored.
pub type Forward = tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("digest mismatch: expected {expected}, got {actual}")]
    Mismatch { expected: Digest, actual: Digest },
    #[error("sha512 mismatch: expected {expected}, got {actual}")]
    IntegrityMismatch { expected: String, actual: String },
    #[error("body interrupted: {0}")]
    Interrupted(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

impl From<PortError> for IngestError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::Interrupted(m) => IngestError::Interrupted(m),
            other => IngestError::Unavailable(other.to_string()),
        }
    }
}

/// A blob safely stored and recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    pub digest: Digest,
    pub size: u64,
}

/// What the caller knows about a body before it arrives.
#[derive(Clone, Debug, Default)]
pub struct IngestOptions {
    pub expected: Option<Digest>,
    /// A sha512 (hex) the source promised, checked in addition to the sha256 (npm integrity).
    pub expected_sha512: Option<String>,
    pub limit: Option<u64>,
    pub content_type: Option<String>,
}

pub struct ContentStore {
    blobs: Arc<dyn BlobStore>,
    records: Arc<dyn BlobRecords>,
    clock: Arc<dyn Clock>,
    scratch: PathBuf,
}

impl ContentStore {
    /// `scratch` is a local directory for temp files; on the same filesystem as an fs blob
    /// store, the final put is a link rather than a copy.
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        records: Arc<dyn BlobRecords>,
        clock: Arc<dyn Clock>,
        scratch: PathBuf,
    ) -> Self {
        Self {
            blobs,
            records,
            clock,
            scratch,
        }
    }

    pub async fn ingest(&self, body: ByteStream, options: IngestOptions) -> Result<Ingested, IngestError> {
        self.ingest_forwarding(body, options, None).await
    }

    /// Like `ingest`, and also forwards every chunk to `forward` as it is written, so a client
    /// receives the body while it is being stored (pull-through). The channel is bounded, so a
    /// slow client paces the transfer; a client that goes away stops receiving while the
    /// ingest goes on to completion for everyone else. Any failure is forwarded as an error
    /// item, so the client never mistakes a cut body for a complete one.
    pub async fn ingest_forwarding(
        &self,
        body: ByteStream,
        options: IngestOptions,
        forward: Option<Forward>,
    ) -> Result<Ingested, IngestError> {
        let mut forward = forward;
        let result = self.ingest_inner(body, options, &mut forward).await;
        if let (Err(e), Some(tx)) = (&result, forward) {
            let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
        }
        result
    }

    async fn ingest_inner(
        &self,
        mut body: ByteStream,
        options: IngestOptions,
        forward: &mut Option<Forward>,
    ) -> Result<Ingested, IngestError> {
        tokio::fs::create_dir_all(&self.scratch)
            .await
            .map_err(|e| IngestError::Unavailable(format!("scratch dir: {e}")))?;
        let temp = tempfile::Builder::new()
            .prefix("ingest-")
            .tempfile_in(&self.scratch)
            .map_err(|e| IngestError::Unavailable(format!("temp file: {e}")))?;
        let (std_file, temp_path) = temp.into_parts();
        let mut writer = BufWriter::with_capacity(WRITE_BUFFER, tokio::fs::File::from_std(std_file));
        let mut hasher = DigestBuilder::default();
        let mut sha512 = options.expected_sha512.as_ref().map(|_| Sha512::new());
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| IngestError::Interrupted(e.to_string()))?;
            hasher.update(&chunk);
            if let Some(h) = sha512.as_mut() {
                h.update(&chunk);
            }
            if let Some(limit) = options.limit
                && hasher.len() > limit
            {
                return Err(IngestError::TooLarge { limit });
            }
            writer
                .write_all(&chunk)
                .await
                .map_err(|e| IngestError::Unavailable(format!("temp write: {e}")))?;
            if let Some(tx) = forward.as_ref()
                && tx.send(Ok(chunk)).await.is_err()
            {
                *forward = None;
            }
        }
        writer
            .flush()
            .await
            .map_err(|e| IngestError::Unavailable(format!("temp flush: {e}")))?;
        drop(writer);
        let size = hasher.len();
        let digest = hasher.finish();
        if let (Some(expected), Some(h)) = (options.expected_sha512, sha512) {
            let actual = hex::encode(h.finalize());
            if actual != expected {
                return Err(IngestError::IntegrityMismatch { expected, actual });
            }
        }
        if let Some(expected) = options.expected
            && expected != digest
        {
            return Err(IngestError::Mismatch {
                expected,
                actual: digest,
            });
        }
        let key = digest.blob_key();
        if self.blobs.stat(&key).await?.is_none() {
            self.blobs.put_file(&key, &temp_path, size).await?;
        }
        let record = BlobRecord {
            digest: digest.clone(),
            size,
            content_type: options.content_type,
            created_at: self.clock.now(),
        };
        self.records.record(&record).await?;
        drop(temp_path);
        Ok(Ingested { digest, size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::blob_records::MockBlobRecords;
    use crate::ports::blob_store::MockBlobStore;
    use crate::ports::clock::MockClock;
    use bytes::Bytes;

    fn body(parts: &[&'static [u8]]) -> ByteStream {
        let items: Vec<Result<Bytes, std::io::Error>> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Box::pin(futures::stream::iter(items))
    }

    fn clock() -> Arc<MockClock> {
        let mut c = MockClock::new();
        c.expect_now().returning(chrono::Utc::now);
        Arc::new(c)
    }

    fn store(blobs: MockBlobStore, records: MockBlobRecords, dir: &tempfile::TempDir) -> ContentStore {
        ContentStore::new(Arc::new(blobs), Arc::new(records), clock(), dir.path().to_path_buf())
    }

    fn scratch_is_empty(dir: &tempfile::TempDir) -> bool {
        std::fs::read_dir(dir.path()).unwrap().next().is_none()
    }

    #[tokio::test]
    async fn stores_new_content_under_its_digest_and_records_it() {
        let dir = tempfile::tempdir().unwrap();
        let expected = Digest::of_bytes(b"hello world");
        let key = expected.blob_key();
        let mut blobs = MockBlobStore::new();
        blobs.expect_stat().withf(move |k| k == key).returning(|_| Ok(None));
        let key = expected.blob_key();
        blobs
            .expect_put_file()
            .withf(move |k, path, size| k == key && *size == 11 && std::fs::read(path).unwrap() == b"hello world")
            .times(1)
            .returning(|_, _, _| Ok(()));
        let mut records = MockBlobRecords::new();
        let d = expected.clone();
        records
            .expect_record()
            .withf(move |r| r.digest == d && r.size == 11)
            .times(1)
            .returning(|_| Ok(()));
        let got = store(blobs, records, &dir)
            .ingest(
                body(&[b"hello ", b"world"]),
                IngestOptions {
                    expected: Some(expected.clone()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            got,
            Ingested {
                digest: expected,
                size: 11
            }
        );
        assert!(scratch_is_empty(&dir), "temp file must be removed");
    }

    #[tokio::test]
    async fn existing_content_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut blobs = MockBlobStore::new();
        blobs.expect_stat().returning(|_| {
            Ok(Some(crate::ports::BlobMeta {
                size: 3,
                last_modified: None,
            }))
        });
        blobs.expect_put_file().times(0);
        let mut records = MockBlobRecords::new();
        records.expect_record().times(1).returning(|_| Ok(()));
        store(blobs, records, &dir)
            .ingest(body(&[b"abc"]), IngestOptions::default())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn mismatch_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut blobs = MockBlobStore::new();
        blobs.expect_stat().times(0);
        blobs.expect_put_file().times(0);
        let mut records = MockBlobRecords::new();
        records.expect_record().times(0);
        let wrong = Digest::of_bytes(b"something else");
        let err = store(blobs, records, &dir)
            .ingest(
                body(&[b"abc"]),
                IngestOptions {
                    expected: Some(wrong),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, IngestError::Mismatch { .. }), "{err:?}");
        assert!(scratch_is_empty(&dir));
    }

    #[tokio::test]
    async fn limit_stops_the_stream_and_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut blobs = MockBlobStore::new();
        blobs.expect_put_file().times(0);
        let records = MockBlobRecords::new();
        let err = store(blobs, records, &dir)
            .ingest(
                body(&[b"12345", b"67890"]),
                IngestOptions {
                    limit: Some(8),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(err, IngestError::TooLarge { limit: 8 }));
        assert!(scratch_is_empty(&dir));
    }

    #[tokio::test]
    async fn interrupted_body_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut blobs = MockBlobStore::new();
        blobs.expect_put_file().times(0);
        let records = MockBlobRecords::new();
        let items: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("client went away")),
        ];
        let err = store(blobs, records, &dir)
            .ingest(Box::pin(futures::stream::iter(items)), IngestOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, IngestError::Interrupted(_)));
        assert!(scratch_is_empty(&dir));
    }
}
