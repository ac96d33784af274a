//! `BlobRecords` contract: idempotent recording that refreshes the last-reference time, and the
//! orphan listing and conditional delete GC relies on (DESIGN §5).
use std::sync::Arc;

use artifactapi::domain::registry::upload::UploadState;
use artifactapi::ports::{
    ArtifactIndex, BlobRecord, BlobRecords, CacheClass, CachedObject, HostedFile, HostedFiles, UploadSession,
    UploadSessions,
};
use chrono::Duration;

use super::{digest, now};

fn record(content: &str, age: Duration) -> BlobRecord {
    let at = now() - age;
    BlobRecord {
        digest: digest(content),
        size: content.len() as u64,
        content_type: Some("text/plain".into()),
        created_at: at,
        last_referenced: at,
    }
}

/// The metadata ports GC reads references from.
pub struct References {
    pub artifacts: Arc<dyn ArtifactIndex>,
    pub hosted: Arc<dyn HostedFiles>,
    pub uploads: Arc<dyn UploadSessions>,
}

async fn orphans(blobs: &dyn BlobRecords, cutoff: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    blobs
        .orphans(cutoff, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.digest.to_string())
        .collect()
}

fn sorted(contents: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = contents.iter().map(|c| digest(c).to_string()).collect();
    all.sort();
    all
}

pub async fn blob_records_contract(blobs: Arc<dyn BlobRecords>, refs: References) {
    blobs.check().await.unwrap();
    assert_eq!(blobs.get(&digest("nothing")).await.unwrap(), None);

    // A second record keeps the first row and takes only its last-reference time.
    let first = record("a", Duration::hours(3));
    blobs.record(&first).await.unwrap();
    let hit = BlobRecord {
        content_type: None,
        size: 99,
        ..record("a", Duration::minutes(10))
    };
    blobs.record(&hit).await.unwrap();
    assert_eq!(
        blobs.get(&first.digest).await.unwrap(),
        Some(BlobRecord {
            last_referenced: hit.last_referenced,
            ..first.clone()
        }),
        "the first row is kept, its last reference refreshed"
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

    // c: referenced by a cached artifact; d: by a hosted file; s: by an open upload session's
    // parts; e: too young; a: created long ago but referenced 10 minutes ago; b and f: orphans.
    for (content, age) in [("c", 4), ("d", 5), ("e", 0), ("f", 6), ("s", 7)] {
        blobs.record(&record(content, Duration::hours(age))).await.unwrap();
    }
    let t = now();
    refs.artifacts
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
    refs.hosted
        .create(&HostedFile {
            repo: "local".into(),
            path: "y".into(),
            digest: digest("d"),
            size: 1,
            content_type: None,
            created_at: t,
        })
        .await
        .unwrap();
    refs.uploads
        .create(&UploadSession {
            id: "u1".into(),
            repo: "docker-local".into(),
            image: "app".into(),
            state: UploadState::Receiving { offset: 1 },
            parts: vec![digest("other").to_string(), digest("s").to_string()],
            version: 0,
            created_at: t,
            updated_at: t,
        })
        .await
        .unwrap();

    let cutoff = now() - Duration::hours(1);
    assert_eq!(
        orphans(blobs.as_ref(), cutoff).await,
        sorted(&["b", "f"]),
        "by digest; referenced, young and recently referenced blobs excluded"
    );
    // Pages: `after` and `limit`.
    let page = blobs.orphans(cutoff, None, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    let rest = blobs.orphans(cutoff, Some(page[0].digest.clone()), 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert!(rest[0].digest > page[0].digest);
    assert!(blobs.orphans(cutoff, None, 0).await.unwrap().is_empty());

    // The conditional delete re-checks everything at the moment it runs.
    for referenced in ["a", "c", "d", "e", "s"] {
        assert!(
            !blobs.delete_orphan(&digest(referenced), cutoff).await.unwrap(),
            "{referenced} is not an orphan"
        );
    }
    assert!(!blobs.delete_orphan(&digest("nothing"), cutoff).await.unwrap());
    // f is an orphan, but a dedupe hit just now refreshes it: the delete no longer applies.
    blobs.record(&record("f", Duration::zero())).await.unwrap();
    assert!(!blobs.delete_orphan(&digest("f"), cutoff).await.unwrap());
    assert!(blobs.get(&digest("f")).await.unwrap().is_some());
    assert!(blobs.delete_orphan(&digest("b"), cutoff).await.unwrap());
    assert_eq!(blobs.get(&digest("b")).await.unwrap(), None);
    assert!(
        !blobs.delete_orphan(&digest("b"), cutoff).await.unwrap(),
        "already gone"
    );

    // Dropping the last reference makes a blob an orphan.
    assert!(refs.artifacts.delete("remote", "x").await.unwrap());
    assert!(refs.hosted.delete("local", "y").await.unwrap());
    assert!(refs.uploads.delete("u1").await.unwrap());
    assert_eq!(orphans(blobs.as_ref(), cutoff).await, sorted(&["c", "d", "s"]));

    // Which digests have rows, in batches larger than one statement's list.
    let mut asked: Vec<_> = (0..1200).map(|i| digest(&format!("absent{i}"))).collect();
    asked.extend([digest("c"), digest("e")]);
    let mut found = blobs.existing(&asked).await.unwrap();
    found.sort();
    let mut expected = vec![digest("c"), digest("e")];
    expected.sort();
    assert_eq!(found, expected);
    assert!(blobs.existing(&[]).await.unwrap().is_empty());

    assert!(blobs.delete(&digest("a")).await.unwrap());
    assert!(!blobs.delete(&digest("a")).await.unwrap());
    assert_eq!(blobs.get(&digest("a")).await.unwrap(), None);

    referenced_bytes(blobs, refs).await;
}

/// `referenced_bytes`: each referenced blob once, over all repositories or the ones named.
async fn referenced_bytes(blobs: Arc<dyn BlobRecords>, refs: References) {
    // What the contract above left referenced: nothing (c, d and s lost their references).
    assert_eq!(blobs.referenced_bytes(None).await.unwrap(), 0);
    let big = BlobRecord {
        size: u64::from(u32::MAX) + 1,
        ..record("big", Duration::zero())
    };
    blobs.record(&big).await.unwrap();
    blobs.record(&record("0123456789", Duration::zero())).await.unwrap();
    blobs.record(&record("unreferenced", Duration::zero())).await.unwrap();
    let t = now();
    let cached = |repo: &str, path: &str, content: &str| CachedObject {
        repo: repo.into(),
        path: path.into(),
        digest: digest(content),
        size: 1,
        content_type: None,
        class: CacheClass::Immutable,
        fetched_at: t,
        upstream_etag: None,
        last_accessed: t,
    };
    let hosted = |repo: &str, path: &str, content: &str| HostedFile {
        repo: repo.into(),
        path: path.into(),
        digest: digest(content),
        size: 1,
        content_type: None,
        created_at: t,
    };
    // "big" in a remote twice and a local once; "0123456789" in two locals.
    refs.artifacts.upsert(&cached("remote", "a", "big")).await.unwrap();
    refs.artifacts.upsert(&cached("remote", "b", "big")).await.unwrap();
    refs.hosted.create(&hosted("local", "big", "big")).await.unwrap();
    refs.hosted.create(&hosted("local", "ten", "0123456789")).await.unwrap();
    refs.hosted
        .create(&hosted("local2", "ten", "0123456789"))
        .await
        .unwrap();
    let everything = u64::from(u32::MAX) + 1 + 10;
    assert_eq!(
        blobs.referenced_bytes(None).await.unwrap(),
        everything,
        "each blob once"
    );
    let some = |names: &[&str]| Some(names.iter().map(|n| n.to_string()).collect::<Vec<_>>());
    assert_eq!(
        blobs
            .referenced_bytes(some(&["remote", "local", "local2"]))
            .await
            .unwrap(),
        everything
    );
    assert_eq!(
        blobs.referenced_bytes(some(&["remote"])).await.unwrap(),
        u64::from(u32::MAX) + 1
    );
    assert_eq!(blobs.referenced_bytes(some(&["local2", "nope"])).await.unwrap(), 10);
    assert_eq!(blobs.referenced_bytes(some(&[])).await.unwrap(), 0);
}
