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

/// A blob store that accepts one put of `content` and a record of its digest.
fn accepting(content: Vec<u8>) -> (MockBlobStore, MockBlobRecords) {
    let digest = Digest::of_bytes(&content);
    let key = digest.blob_key();
    let mut blobs = MockBlobStore::new();
    blobs.expect_stat().returning(|_| Ok(None));
    let size = content.len() as u64;
    blobs
        .expect_put_file()
        .withf(move |k, path, n| k == key && *n == size && std::fs::read(path).unwrap() == content)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let mut records = MockBlobRecords::new();
    records
        .expect_record()
        .withf(move |r| r.digest == digest && r.size == size)
        .times(1)
        .returning(|_| Ok(()));
    (blobs, records)
}

/// Runs a forwarding ingest and returns its result with everything the client received.
async fn forwarded(
    store: ContentStore,
    parts: &[&'static [u8]],
    options: IngestOptions,
) -> (Result<Ingested, IngestError>, Vec<Result<Bytes, String>>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let result = store.ingest_forwarding(body(parts), options, Some(tx)).await;
    let mut received = Vec::new();
    while let Some(item) = rx.recv().await {
        received.push(item.map_err(|e| e.to_string()));
    }
    (result, received)
}

#[tokio::test]
async fn forwards_every_chunk_in_order_and_hashes_the_stored_file() {
    let dir = tempfile::tempdir().unwrap();
    let (blobs, records) = accepting(b"hello world".to_vec());
    let (result, received) = forwarded(
        store(blobs, records, &dir),
        &[b"hello ", b"world"],
        IngestOptions::default(),
    )
    .await;
    assert_eq!(result.unwrap().digest, Digest::of_bytes(b"hello world"));
    assert_eq!(
        received,
        vec![Ok(Bytes::from_static(b"hello ")), Ok(Bytes::from_static(b"world"))]
    );
    assert!(scratch_is_empty(&dir));
}

#[tokio::test]
async fn a_verified_body_reaches_the_client_whole_when_it_matches() {
    let dir = tempfile::tempdir().unwrap();
    let (blobs, records) = accepting(b"hello world".to_vec());
    let options = IngestOptions {
        expected: Some(Digest::of_bytes(b"hello world")),
        ..Default::default()
    };
    let (result, received) = forwarded(store(blobs, records, &dir), &[b"hello ", b"world"], options).await;
    result.unwrap();
    assert_eq!(
        received,
        vec![Ok(Bytes::from_static(b"hello ")), Ok(Bytes::from_static(b"world"))]
    );
}

#[tokio::test]
async fn a_mismatching_body_never_reaches_the_client_complete() {
    let dir = tempfile::tempdir().unwrap();
    let mut blobs = MockBlobStore::new();
    blobs.expect_put_file().times(0);
    let mut records = MockBlobRecords::new();
    records.expect_record().times(0);
    let options = IngestOptions {
        expected: Some(Digest::of_bytes(b"something else")),
        ..Default::default()
    };
    let (result, received) = forwarded(store(blobs, records, &dir), &[b"hello ", b"world"], options).await;
    assert!(matches!(result, Err(IngestError::Mismatch { .. })), "{result:?}");
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(received[0], Ok(Bytes::from_static(b"hello ")));
    assert!(received[1].as_ref().is_err_and(|e| e.contains("digest mismatch")));
    assert!(scratch_is_empty(&dir));
}

#[tokio::test]
async fn a_sha512_mismatch_is_caught_and_held_back_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut blobs = MockBlobStore::new();
    blobs.expect_put_file().times(0);
    let records = MockBlobRecords::new();
    let options = IngestOptions {
        expected_sha512: Some("00".repeat(64)),
        ..Default::default()
    };
    let (result, received) = forwarded(store(blobs, records, &dir), &[b"tarball"], options).await;
    assert!(
        matches!(result, Err(IngestError::IntegrityMismatch { .. })),
        "{result:?}"
    );
    assert_eq!(received.len(), 1);
    assert!(received[0].is_err());
}

#[tokio::test]
async fn a_client_that_goes_away_does_not_stop_the_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let (blobs, records) = accepting(b"hello world".to_vec());
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    drop(rx);
    let stored = store(blobs, records, &dir)
        .ingest_forwarding(body(&[b"hello ", b"world"]), IngestOptions::default(), Some(tx))
        .await
        .unwrap();
    assert_eq!(stored.size, 11);
}

#[tokio::test]
async fn a_body_larger_than_the_write_queue_is_stored_intact() {
    let dir = tempfile::tempdir().unwrap();
    // 12 MiB in 64 KiB chunks: three times the writer's queue, so pushes wait for the disk.
    let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    let content: Vec<u8> = chunk.iter().copied().cycle().take(12 * 1024 * 1024).collect();
    let (blobs, records) = accepting(content.clone());
    let items: Vec<Result<Bytes, std::io::Error>> = content
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stored = store(blobs, records, &dir)
        .ingest(
            Box::pin(futures::stream::iter(items)),
            IngestOptions {
                expected: Some(Digest::of_bytes(&content)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(stored.size, 12 * 1024 * 1024);
}

mod leases {
    use super::*;
    use crate::ports::ttl_cache::MockTtlCache;
    use std::sync::Mutex;

    fn existing_blob() -> MockBlobStore {
        let mut blobs = MockBlobStore::new();
        blobs.expect_stat().returning(|_| {
            Ok(Some(crate::ports::BlobMeta {
                size: 3,
                last_modified: None,
            }))
        });
        blobs
    }

    /// The dedupe-and-record runs under the digest's lease: taken (after waiting out GC's hold,
    /// announced on the release channel) before the stat, released after the row.
    #[tokio::test]
    async fn a_dedupe_waits_for_the_digest_lease_and_records_under_it() {
        let dir = tempfile::tempdir().unwrap();
        let digest = Digest::of_bytes(b"abc");
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut cache = MockTtlCache::new();
        let (l, d) = (log.clone(), digest.clone());
        let mut tries = 0;
        cache.expect_try_lock().returning(move |key, _| {
            assert_eq!(key, format!("blob-lease:{d}"));
            tries += 1;
            l.lock().unwrap().push(format!("try {tries}"));
            // GC holds it for the first two tries (before and after subscribing).
            Ok((tries > 2).then(|| Lease {
                key: key.to_string(),
                owner: "w".into(),
            }))
        });
        let l = log.clone();
        cache.expect_subscribe().times(1).returning(move |channel| {
            l.lock().unwrap().push(format!("wait {channel}"));
            Ok(futures::stream::iter(vec!["released".to_string()]).boxed())
        });
        let l = log.clone();
        cache.expect_release().times(1).returning(move |_| {
            l.lock().unwrap().push("release".into());
            Ok(true)
        });
        cache.expect_publish().times(1).returning(|_, _| Ok(()));
        let mut records = MockBlobRecords::new();
        let l = log.clone();
        records.expect_record().times(1).returning(move |r| {
            assert_eq!(
                r.last_referenced, r.created_at,
                "a dedupe hit refreshes the reference time"
            );
            l.lock().unwrap().push("record".into());
            Ok(())
        });
        store(existing_blob(), records, &dir)
            .with_locks(Arc::new(cache))
            .ingest(body(&[b"abc"]), IngestOptions::default())
            .await
            .unwrap();
        assert_eq!(
            *log.lock().unwrap(),
            vec![
                "try 1".to_string(),
                format!("wait blob-released:{digest}"),
                "try 2".into(),
                "try 3".into(),
                "record".into(),
                "release".into(),
            ]
        );
    }

    /// With the TTL cache down a write still goes through (GC cannot lease, so deletes nothing).
    #[tokio::test]
    async fn a_write_goes_on_without_a_lease_when_the_cache_is_down() {
        let dir = tempfile::tempdir().unwrap();
        let mut cache = MockTtlCache::new();
        cache
            .expect_try_lock()
            .returning(|_, _| Err(PortError::Backend("redis down".into())));
        cache.expect_release().times(0);
        let mut records = MockBlobRecords::new();
        records.expect_record().times(1).returning(|_| Ok(()));
        store(existing_blob(), records, &dir)
            .with_locks(Arc::new(cache))
            .ingest(body(&[b"abc"]), IngestOptions::default())
            .await
            .unwrap();
    }
}
