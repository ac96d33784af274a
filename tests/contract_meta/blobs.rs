//! `BlobRecords` contract: idempotent recording and orphan listing for GC (DESIGN §5).
use std::sync::Arc;

use artifactapi::ports::{ArtifactIndex, BlobRecord, BlobRecords, CacheClass, CachedObject, HostedFile, HostedFiles};
use chrono::Duration;

use super::{digest, now};

fn record(content: &str, age: Duration) -> BlobRecord {
    BlobRecord {
        digest: digest(content),
        size: content.len() as u64,
        content_type: Some("text/plain".into()),
        created_at: now() - age,
    }
}

pub async fn blob_records_contract(
    blobs: Arc<dyn BlobRecords>,
    artifacts: Arc<dyn ArtifactIndex>,
    hosted: Arc<dyn HostedFiles>,
) {
    blobs.check().await.unwrap();
    assert_eq!(blobs.get(&digest("nothing")).await.unwrap(), None);

    let first = record("a", Duration::hours(3));
    blobs.record(&first).await.unwrap();
    blobs
        .record(&BlobRecord {
            content_type: None,
            ..record("a", Duration::zero())
        })
        .await
        .unwrap();
    assert_eq!(
        blobs.get(&first.digest).await.unwrap(),
        Some(first.clone()),
        "the first row is kept"
    );

    // Idempotent under concurrency: every writer succeeds, one row remains.
    let writers = (0..10).map(|i| {
        let blobs = blobs.clone();
        tokio::spawn(async move {
            blobs
                .record(&record("b", Duration::hours(2) + Duration::seconds(i)))
                .await
        })
    });
    for r in futures::future::join_all(writers).await {
        r.unwrap().unwrap();
    }
    assert!(blobs.get(&digest("b")).await.unwrap().is_some());

    // c: referenced by a cached artifact; d: by a hosted file; e: too young; a, b: orphans.
    for (content, age) in [("c", 4), ("d", 5), ("e", 0)] {
        blobs.record(&record(content, Duration::hours(age))).await.unwrap();
    }
    let t = now();
    artifacts
        .upsert(&CachedObject {
            repo: "remote".into(),
            path: "x".into(),
            digest: digest("c"),
            size: 1,
            content_type: None,
            class: CacheClass::Immutable,
            fetched_at: t,
            upstream_etag: None,
            last_accessed: t,
        })
        .await
        .unwrap();
    let hosted_d = HostedFile {
        repo: "local".into(),
        path: "y".into(),
        digest: digest("d"),
        size: 1,
        content_type: None,
        created_at: t,
    };
    hosted.create(&hosted_d).await.unwrap();

    let cutoff = now() - Duration::hours(1);
    let orphans: Vec<_> = blobs
        .orphans(cutoff, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.digest)
        .collect();
    assert_eq!(
        orphans,
        [digest("a"), digest("b")],
        "oldest first; referenced and young blobs excluded"
    );
    assert_eq!(blobs.orphans(cutoff, 1).await.unwrap().len(), 1, "limit");
    assert!(blobs.orphans(cutoff, 0).await.unwrap().is_empty());

    // Dropping the last reference makes a blob an orphan.
    assert!(artifacts.delete("remote", "x").await.unwrap());
    assert!(hosted.delete("local", "y").await.unwrap());
    let orphans: Vec<_> = blobs
        .orphans(cutoff, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.digest)
        .collect();
    assert_eq!(orphans, [digest("d"), digest("c"), digest("a"), digest("b")]);

    assert!(blobs.delete(&digest("a")).await.unwrap());
    assert!(!blobs.delete(&digest("a")).await.unwrap());
    assert_eq!(blobs.get(&digest("a")).await.unwrap(), None);
}
