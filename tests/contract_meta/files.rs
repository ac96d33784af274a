//! `ArtifactIndex` and `HostedFiles` contracts: both are `(repo, path)` tables with the same
//! paged listing, so they share the listing checks.
use std::future::Future;
use std::sync::Arc;

use artifactapi::ports::{
    ArtifactIndex, CacheClass, CachedObject, HostedFile, HostedFiles, PageRequest, PortError, Usage,
};
use chrono::{Duration, SubsecRound, Utc};

use super::{digest, now};

/// Paths chosen to catch `LIKE` wildcards, case folding and locale collation.
const PATHS: &[&str] = &[
    "a/1", "a/2", "a/3", "a%b/x", "a_b/x", "aXb/x", "ab/x", "A/upper", "a", "a/é", "a-b/x", "b/1", "a\\b",
];

fn page(prefix: &str, after: Option<&str>, limit: u64) -> PageRequest {
    PageRequest {
        prefix: prefix.into(),
        after: after.map(str::to_string),
        limit,
    }
}

/// Checks a `list` implementation against `PATHS` stored in repo `r` (and `other/a/1` elsewhere).
async fn check_listing<F, Fut>(list: F)
where
    F: Fn(PageRequest) -> Fut,
    Fut: Future<Output = Result<Vec<String>, PortError>>,
{
    let mut sorted: Vec<&str> = PATHS.to_vec();
    sorted.sort();
    assert_eq!(
        list(page("", None, 100)).await.unwrap(),
        sorted,
        "everything, byte-wise order"
    );
    let table: &[(&str, Option<&str>, u64, &[&str])] = &[
        ("a/", None, 100, &["a/1", "a/2", "a/3", "a/é"]),
        ("a/", None, 2, &["a/1", "a/2"]),
        ("a/", Some("a/2"), 2, &["a/3", "a/é"]),
        ("a/", Some("a/é"), 2, &[]),
        ("a%", None, 100, &["a%b/x"]),
        ("a_", None, 100, &["a_b/x"]),
        ("a\\", None, 100, &["a\\b"]),
        ("A", None, 100, &["A/upper"]),
        ("ab", None, 100, &["ab/x"]),
        ("a/é", None, 100, &["a/é"]),
        ("zz", None, 100, &[]),
        ("", Some("a_b/x"), 3, &["ab/x", "b/1"]),
        ("a/", None, 0, &[]),
    ];
    for (prefix, after, limit, expected) in table {
        let got = list(page(prefix, *after, *limit)).await.unwrap();
        assert_eq!(got, *expected, "prefix={prefix:?} after={after:?} limit={limit}");
    }
}

fn object(repo: &str, path: &str, content: &str) -> CachedObject {
    let t = now();
    CachedObject {
        repo: repo.into(),
        path: path.into(),
        digest: digest(content),
        size: content.len() as u64,
        content_type: Some("application/octet-stream".into()),
        class: CacheClass::Immutable,
        fetched_at: t,
        upstream_etag: Some("\"etag-1\"".into()),
        last_accessed: t,
    }
}

pub async fn artifact_index_contract(index: Arc<dyn ArtifactIndex>) {
    assert_eq!(index.get("r", "a/1").await.unwrap(), None);
    index.touch("r", "a/1", now()).await.unwrap();
    assert_eq!(index.get("r", "a/1").await.unwrap(), None, "touch never creates");

    let first = object("r", "a/1", "one");
    index.upsert(&first).await.unwrap();
    assert_eq!(index.get("r", "a/1").await.unwrap(), Some(first.clone()));
    let replaced = CachedObject {
        class: CacheClass::Mutable,
        content_type: None,
        upstream_etag: None,
        size: u64::from(u32::MAX) + 7,
        fetched_at: now() + Duration::seconds(5),
        ..object("r", "a/1", "two")
    };
    index.upsert(&replaced).await.unwrap();
    assert_eq!(
        index.get("r", "a/1").await.unwrap(),
        Some(replaced.clone()),
        "upsert replaces"
    );

    let later = now() + Duration::hours(1);
    index.touch("r", "a/1", later).await.unwrap();
    let touched = index.get("r", "a/1").await.unwrap().unwrap();
    assert_eq!(
        touched,
        CachedObject {
            last_accessed: later,
            ..replaced.clone()
        },
        "touch moves last_accessed only"
    );

    // Sub-microsecond input is kept to the microsecond both backends store.
    let precise = Utc::now();
    index
        .upsert(&CachedObject {
            fetched_at: precise,
            ..object("r", "a/2", "p")
        })
        .await
        .unwrap();
    let back = index.get("r", "a/2").await.unwrap().unwrap().fetched_at;
    assert!(
        (back - precise).abs() < Duration::microseconds(1),
        "{back} vs {precise}"
    );

    for path in PATHS {
        index.upsert(&object("r", path, path)).await.unwrap();
    }
    index.upsert(&object("other", "a/1", "x")).await.unwrap();
    check_listing(|p| {
        let index = index.clone();
        async move { Ok(index.list("r", &p).await?.into_iter().map(|o| o.path).collect()) }
    })
    .await;

    let usage = index.usage("r").await.unwrap();
    assert_eq!(usage.objects, PATHS.len() as u64);
    let expected_bytes: u64 = PATHS.iter().map(|p| object("r", p, p).size).sum();
    assert_eq!(usage.bytes, expected_bytes);
    assert_eq!(index.usage("nothing-here").await.unwrap(), Usage::default());
    assert!(index.delete("r", "a/1").await.unwrap());
    assert!(!index.delete("r", "a/1").await.unwrap());
    assert_eq!(index.get("r", "a/1").await.unwrap(), None);
    assert_eq!(index.delete_repo("r").await.unwrap(), PATHS.len() as u64 - 1);
    assert_eq!(index.delete_repo("r").await.unwrap(), 0);
    assert!(
        index.get("other", "a/1").await.unwrap().is_some(),
        "other repositories untouched"
    );

    // Many concurrent writers (SQLite: no "database is locked").
    let writes = (0..40).map(|i| {
        let index = index.clone();
        tokio::spawn(async move { index.upsert(&object("busy", &format!("p/{i}"), "c")).await })
    });
    for r in futures::future::join_all(writes).await {
        r.unwrap().unwrap();
    }
    assert_eq!(index.list("busy", &page("p/", None, 100)).await.unwrap().len(), 40);

    retention_methods(index).await;
}

/// `touch_many`, `least_recent`, `evict` and `stored_bytes`: what retention pages and deletes by.
async fn retention_methods(index: Arc<dyn ArtifactIndex>) {
    // Whole milliseconds: a time whose text form has trailing zeros must still compare equal.
    let t0 = now().trunc_subsecs(0) - Duration::hours(10) + Duration::microseconds(330_600);
    let at = |minutes: i64| t0 + Duration::minutes(minutes);
    let put = |path: &str, content: &str, size: u64, accessed| {
        let index = index.clone();
        let object = CachedObject {
            size,
            last_accessed: accessed,
            ..object("lru", path, content)
        };
        async move { index.upsert(&object).await.unwrap() }
    };
    assert_eq!(index.stored_bytes("lru").await.unwrap(), 0);
    put("c", "c", 30, at(3)).await;
    put("a", "a", 10, at(1)).await;
    put("b2", "b", 20, at(2)).await;
    put("b1", "b", 20, at(2)).await;
    put("d", "d", u64::from(u32::MAX) + 1, at(4)).await;
    index.upsert(&object("other", "z", "z")).await.unwrap();

    // Distinct contents once: b1 and b2 are one 20-byte content.
    assert_eq!(
        index.stored_bytes("lru").await.unwrap(),
        10 + 20 + 30 + u64::from(u32::MAX) + 1
    );

    // Least recently used first, ties by path, paged strictly after the cursor.
    let order = |rows: Vec<CachedObject>| rows.into_iter().map(|o| o.path).collect::<Vec<_>>();
    assert_eq!(
        order(index.least_recent("lru", None, 100).await.unwrap()),
        ["a", "b1", "b2", "c", "d"]
    );
    let first = index.least_recent("lru", None, 2).await.unwrap();
    assert_eq!(order(first.clone()), ["a", "b1"]);
    let cursor = first.last().map(|o| (o.last_accessed, o.path.clone()));
    assert_eq!(order(index.least_recent("lru", cursor, 2).await.unwrap()), ["b2", "c"]);
    assert_eq!(
        order(index.least_recent("lru", Some((at(4), "d".into())), 2).await.unwrap()),
        Vec::<String>::new()
    );
    assert!(index.least_recent("lru", None, 0).await.unwrap().is_empty());
    assert!(index.least_recent("nothing-here", None, 10).await.unwrap().is_empty());

    // touch_many moves the named rows forward, never back, and ignores missing paths.
    let later = at(60);
    index
        .touch_many("lru", &["a".into(), "missing".into()], later)
        .await
        .unwrap();
    index.touch_many("lru", &["c".into()], at(0)).await.unwrap();
    assert_eq!(index.get("lru", "a").await.unwrap().unwrap().last_accessed, later);
    assert_eq!(
        index.get("lru", "c").await.unwrap().unwrap().last_accessed,
        at(3),
        "never back"
    );
    assert!(index.get("lru", "missing").await.unwrap().is_none(), "never creates");
    assert_eq!(
        order(index.least_recent("lru", None, 100).await.unwrap()),
        ["b1", "b2", "c", "d", "a"]
    );
    // Many paths at once (more than one IN list).
    let many: Vec<String> = (0..1200).map(|i| format!("m/{i}")).collect();
    for p in many.iter().take(3) {
        put(p, p, 1, at(0)).await;
    }
    index.touch_many("lru", &many, later).await.unwrap();
    assert_eq!(index.get("lru", "m/2").await.unwrap().unwrap().last_accessed, later);

    // evict: only if not accessed after what the evictor saw, each row on its own.
    assert_eq!(
        index.evict("lru", &[("a".into(), at(1))]).await.unwrap(),
        [false],
        "read since it was listed"
    );
    assert!(index.get("lru", "a").await.unwrap().is_some());
    assert_eq!(index.evict("lru", &[]).await.unwrap(), Vec::<bool>::new());
    assert_eq!(
        index
            .evict(
                "lru",
                &[
                    ("a".into(), later),
                    ("a".into(), later),
                    ("b1".into(), at(2)),
                    ("missing".into(), later)
                ]
            )
            .await
            .unwrap(),
        [true, false, true, false],
        "the second is gone already"
    );
    assert!(index.get("lru", "a").await.unwrap().is_none());
    assert_eq!(
        index.stored_bytes("lru").await.unwrap(),
        20 + 30 + u64::from(u32::MAX) + 1 + 3,
        "b's content is still named by b2"
    );
    assert!(
        index.get("other", "z").await.unwrap().is_some(),
        "other repositories untouched"
    );
    assert_eq!(index.delete_repo("lru").await.unwrap(), 6);
}

fn file(repo: &str, path: &str, content: &str) -> HostedFile {
    HostedFile {
        repo: repo.into(),
        path: path.into(),
        digest: digest(content),
        size: content.len() as u64,
        content_type: Some("application/gzip".into()),
        created_at: now(),
    }
}

pub async fn hosted_files_contract(files: Arc<dyn HostedFiles>) {
    assert_eq!(files.get("r", "pkg/1.0.tgz").await.unwrap(), None);
    let original = file("r", "pkg/1.0.tgz", "v1");
    files.create(&original).await.unwrap();
    assert_eq!(files.get("r", "pkg/1.0.tgz").await.unwrap(), Some(original.clone()));
    assert!(matches!(
        files.create(&file("r", "pkg/1.0.tgz", "evil")).await,
        Err(PortError::Conflict)
    ));
    assert_eq!(
        files.get("r", "pkg/1.0.tgz").await.unwrap(),
        Some(original.clone()),
        "create-only"
    );
    files.create(&file("other", "pkg/1.0.tgz", "v1")).await.unwrap();

    let tag = file("r", "tags/latest", "v1");
    files.upsert(&tag).await.unwrap();
    let moved = HostedFile {
        content_type: None,
        ..file("r", "tags/latest", "v2")
    };
    files.upsert(&moved).await.unwrap();
    assert_eq!(
        files.get("r", "tags/latest").await.unwrap(),
        Some(moved),
        "upsert replaces"
    );

    assert!(files.delete("r", "tags/latest").await.unwrap());
    assert!(!files.delete("r", "tags/latest").await.unwrap());

    // delete_unchanged: only the row as it was read.
    let read = file("r", "tags/v1", "v1");
    files.upsert(&read).await.unwrap();
    let retagged = HostedFile {
        created_at: read.created_at + Duration::seconds(1),
        ..file("r", "tags/v1", "v2")
    };
    files.upsert(&retagged).await.unwrap();
    assert!(
        !files.delete_unchanged(&read).await.unwrap(),
        "re-tagged since it was read"
    );
    let repushed = HostedFile {
        created_at: retagged.created_at + Duration::seconds(1),
        ..retagged.clone()
    };
    files.upsert(&repushed).await.unwrap();
    assert!(
        !files.delete_unchanged(&retagged).await.unwrap(),
        "same digest pushed again"
    );
    assert!(files.get("r", "tags/v1").await.unwrap().is_some());
    assert!(files.delete_unchanged(&repushed).await.unwrap());
    assert!(!files.delete_unchanged(&repushed).await.unwrap(), "gone already");
    assert!(files.get("r", "tags/v1").await.unwrap().is_none());

    // Concurrent creates of one path: exactly one wins, the rest are conflicts.
    let attempts = (0..10).map(|i| {
        let files = files.clone();
        tokio::spawn(async move { files.create(&file("r", "race.tgz", &format!("c{i}"))).await })
    });
    let results: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results.iter().all(|r| matches!(r, Ok(()) | Err(PortError::Conflict))),
        "{results:?}"
    );
    assert_eq!(files.delete_repo("r").await.unwrap(), 2);

    for path in PATHS {
        files.create(&file("r", path, path)).await.unwrap();
    }
    check_listing(|p| {
        let files = files.clone();
        async move { Ok(files.list("r", &p).await?.into_iter().map(|f| f.path).collect()) }
    })
    .await;
    let usage = files.usage("r").await.unwrap();
    assert_eq!(usage.objects, PATHS.len() as u64);
    assert_eq!(usage.bytes, PATHS.iter().map(|p| file("r", p, p).size).sum::<u64>());
    assert_eq!(files.usage("nothing-here").await.unwrap(), Usage::default());
    assert_eq!(files.delete_repo("r").await.unwrap(), PATHS.len() as u64);
    assert!(files.get("other", "pkg/1.0.tgz").await.unwrap().is_some());

    pulls_are_recorded(files.clone()).await;
    stored_bytes_count_each_content_once(files).await;
}

/// `touch_pulled` / `last_pulled`: never back, missing rows ignored, kept across upserts.
async fn pulls_are_recorded(files: Arc<dyn HostedFiles>) {
    let manifest = file("p", "img/_manifests/m", "m");
    files.create(&manifest).await.unwrap();
    assert_eq!(
        files.last_pulled("p", "img/_manifests/m").await.unwrap(),
        None,
        "never pulled"
    );
    assert_eq!(files.last_pulled("p", "missing").await.unwrap(), None);
    let t = now();
    files
        .touch_pulled("p", &["img/_manifests/m".into(), "missing".into()], t)
        .await
        .unwrap();
    assert_eq!(files.last_pulled("p", "img/_manifests/m").await.unwrap(), Some(t));
    assert!(files.get("p", "missing").await.unwrap().is_none(), "never creates");
    files
        .touch_pulled("p", &["img/_manifests/m".into()], t - Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        files.last_pulled("p", "img/_manifests/m").await.unwrap(),
        Some(t),
        "never back"
    );
    files.upsert(&manifest).await.unwrap();
    assert_eq!(
        files.last_pulled("p", "img/_manifests/m").await.unwrap(),
        Some(t),
        "a re-push keeps it"
    );
    assert_eq!(files.get("p", "img/_manifests/m").await.unwrap(), Some(manifest));
    assert!(files.delete("p", "img/_manifests/m").await.unwrap());
}

/// `stored_bytes`: distinct digests of one repository, each once, whatever paths name them.
async fn stored_bytes_count_each_content_once(files: Arc<dyn HostedFiles>) {
    assert_eq!(files.stored_bytes("q").await.unwrap(), 0, "empty");
    let big = "x".repeat(3000);
    files.create(&file("q", "img/_manifests/m", "manifest")).await.unwrap();
    files.upsert(&file("q", "img/_tags/v1", "manifest")).await.unwrap();
    files.upsert(&file("q", "img/_tags/v2", "manifest")).await.unwrap();
    files.create(&file("q", "a.bin", &big)).await.unwrap();
    files.create(&file("q", "copy-of-a.bin", &big)).await.unwrap();
    // The same contents in another repository count there, not here.
    files.create(&file("q2", "a.bin", &big)).await.unwrap();
    files.create(&file("q2", "only-q2", "other")).await.unwrap();
    assert_eq!(files.stored_bytes("q").await.unwrap(), 3000 + "manifest".len() as u64);
    assert_eq!(files.stored_bytes("q2").await.unwrap(), 3000 + "other".len() as u64);
    assert_eq!(
        files.usage("q").await.unwrap().bytes,
        6000 + 3 * "manifest".len() as u64
    );
    assert!(files.delete("q", "a.bin").await.unwrap());
    assert_eq!(
        files.stored_bytes("q").await.unwrap(),
        3000 + "manifest".len() as u64,
        "still named by the copy"
    );
    assert!(files.delete("q", "copy-of-a.bin").await.unwrap());
    assert_eq!(files.stored_bytes("q").await.unwrap(), "manifest".len() as u64);
    // Sizes past 32 bits sum without overflow.
    let huge = HostedFile {
        size: u64::from(u32::MAX) + 1,
        ..file("q", "huge", "huge")
    };
    files.create(&huge).await.unwrap();
    assert_eq!(
        files.stored_bytes("q").await.unwrap(),
        u64::from(u32::MAX) + 1 + "manifest".len() as u64
    );
}
