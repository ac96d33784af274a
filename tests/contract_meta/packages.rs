//! `HostedPackages` contract: create-only records keyed by `(repo, key)`, one package's files in
//! upload order, distinct names, every record at once, metadata updates and deletes.
use std::sync::Arc;

use artifactapi::ports::{HostedPackages, PackageRecord, PortError};
use chrono::Duration;
use serde_json::json;

use super::{digest, now};

fn record(repo: &str, name: &str, key: &str, at: chrono::DateTime<chrono::Utc>) -> PackageRecord {
    PackageRecord {
        repo: repo.into(),
        name: name.into(),
        version: "1.0".into(),
        key: key.into(),
        filename: format!("{key}-file"),
        path: format!("packages/{name}/{key}-file"),
        digest: digest(key),
        size: 42,
        meta: json!({"requires_python": ">=3.8", "yanked": null, "nested": {"a": [1, 2]}}),
        created_at: at,
    }
}

pub async fn hosted_packages_contract(store: Arc<dyn HostedPackages>) {
    let t0 = now();
    assert_eq!(store.get("r", "k").await.unwrap(), None);
    assert!(store.files("r", "demo").await.unwrap().is_empty());
    assert!(store.names("r").await.unwrap().is_empty());
    assert!(store.all("r").await.unwrap().is_empty());

    // Created out of key order: files come back in upload order.
    let later = record("r", "demo", "a-later", t0 + Duration::seconds(2));
    let first = record("r", "demo", "z-first", t0);
    store.create(&later).await.unwrap();
    store.create(&first).await.unwrap();
    store.create(&record("r", "alpha", "alpha-1", t0)).await.unwrap();
    store.create(&record("other", "demo", "z-first", t0)).await.unwrap();
    assert_eq!(
        store.get("r", "z-first").await.unwrap(),
        Some(first.clone()),
        "round trip"
    );
    let files = store.files("r", "demo").await.unwrap();
    assert_eq!(files, vec![first.clone(), later.clone()]);
    assert_eq!(
        store.names("r").await.unwrap(),
        vec!["alpha".to_string(), "demo".to_string()]
    );
    let alpha = store.get("r", "alpha-1").await.unwrap().unwrap();
    assert_eq!(
        store.all("r").await.unwrap(),
        vec![alpha, first.clone(), later.clone()],
        "by name, then upload order; other repositories apart"
    );
    assert_eq!(
        store.by_path("r", &later.path).await.unwrap().map(|r| r.key),
        Some("a-later".to_string())
    );
    assert_eq!(store.by_path("r", "packages/none").await.unwrap(), None);

    // Create-only, also under concurrency: exactly one wins.
    assert!(matches!(store.create(&first).await, Err(PortError::Conflict)));
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let r = record("r", "race", "race-1", t0);
            tokio::spawn(async move { store.create(&r).await })
        })
        .collect();
    let mut won = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(()) => won += 1,
            Err(PortError::Conflict) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(won, 1);

    let yanked = json!({"yanked": "broken"});
    assert!(store.set_meta("r", "z-first", &yanked).await.unwrap());
    assert!(!store.set_meta("r", "missing", &yanked).await.unwrap());
    assert_eq!(store.get("r", "z-first").await.unwrap().unwrap().meta, yanked);
    assert_eq!(
        store.get("other", "z-first").await.unwrap().unwrap().meta,
        first.meta,
        "other repositories untouched"
    );

    assert!(store.delete("r", "z-first").await.unwrap());
    assert!(!store.delete("r", "z-first").await.unwrap());
    assert_eq!(store.files("r", "demo").await.unwrap(), vec![later]);
    assert_eq!(store.delete_repo("r").await.unwrap(), 3);
    assert!(store.names("r").await.unwrap().is_empty());
    assert!(store.all("r").await.unwrap().is_empty());
    assert_eq!(store.names("other").await.unwrap(), vec!["demo".to_string()]);
}
