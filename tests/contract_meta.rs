//! Contract suites of the metadata ports (DESIGN §9), each run against SQLite (a file in a temp
//! dir) and PostgreSQL (a fresh database per test; skipped when unreachable unless
//! `ARTIFACTAPI_REQUIRE_BACKENDS=1`).
// Test code: a failed expectation is meant to panic (clippy.toml only exempts `#[test]` bodies).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

#[path = "contract_meta/blobs.rs"]
mod blobs;
#[path = "contract_meta/catalog.rs"]
mod catalog;
#[path = "contract_meta/credentials.rs"]
mod credentials;
#[path = "contract_meta/files.rs"]
mod files;
#[path = "contract_meta/packages.rs"]
mod packages;
#[path = "contract_meta/uploads.rs"]
mod uploads;

use artifactapi::adapters::hot::catalog::HotCatalog;
use artifactapi::adapters::hot::index::HotIndex;
use artifactapi::adapters::hot::invalidation::Invalidations;
use artifactapi::adapters::meta::{self, MetaStore};
use chrono::{DateTime, SubsecRound, Utc};
use std::sync::Arc;
use support::postgres::{drop_postgres_database, fresh_postgres_url};
use tempfile::TempDir;

pub const KEY: [u8; 32] = [42; 32];

/// Now, at the precision both backends keep, so rows compare equal after a round trip.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub fn digest(content: &str) -> artifactapi::domain::digest::Digest {
    artifactapi::domain::digest::Digest::of_bytes(content.as_bytes())
}

async fn open_sqlite() -> (MetaStore, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    // A nested, missing directory: `connect` creates it. No `mode=`: the file is created too.
    let url = format!("sqlite://{}/nested/dir/meta.db", dir.path().display());
    let store = meta::connect(&url, KEY).await.unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

async fn open_postgres() -> Option<(MetaStore, String)> {
    let url = support::backend_or_skip("PostgreSQL", fresh_postgres_url().await)?;
    let store = meta::connect(&url, KEY).await.unwrap();
    store.migrate().await.unwrap();
    Some((store, url))
}

/// One test per backend for a contract: `on_both!(name, |store| future)`.
macro_rules! on_both {
    ($name:ident, |$store:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use std::sync::Arc;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let ($store, _dir) = open_sqlite().await;
                $body.await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(($store, url)) = open_postgres().await else {
                    return;
                };
                $body.await;
                drop_postgres_database(&url).await;
            }
        }
    };
}

on_both!(repository_catalog, |store| {
    catalog::repository_catalog_contract(Arc::new(store))
});
on_both!(password_at_rest, |store| {
    catalog::password_is_encrypted_at_rest(store)
});
on_both!(artifact_index, |store| files::artifact_index_contract(Arc::new(store)));
on_both!(hosted_files, |store| files::hosted_files_contract(Arc::new(store)));
on_both!(hosted_packages, |store| packages::hosted_packages_contract(Arc::new(
    store
)));
on_both!(blob_records, |store| {
    let store = Arc::new(store);
    let refs = blobs::References {
        artifacts: store.clone(),
        hosted: store.clone(),
        uploads: store.clone(),
    };
    blobs::blob_records_contract(store, refs)
});
on_both!(upload_sessions, |store| uploads::upload_sessions_contract(Arc::new(
    store
)));
on_both!(credentials_contract, |store| {
    credentials::credentials_contract(Arc::new(store))
});
on_both!(signing_keys, |store| credentials::signing_keys_contract(Arc::new(
    store
)));
on_both!(store_lifecycle, |store| lifecycle(store));
// The hot decorators keep the contracts of what they wrap, with and without a shared channel.
on_both!(hot_catalog_local, |store| {
    catalog::repository_catalog_contract(Arc::new(HotCatalog::new(Arc::new(store), Invalidations::local())))
});
on_both!(hot_catalog_shared, |store| async move {
    let hot = HotCatalog::new(Arc::new(store), subscribed_invalidations().await);
    catalog::repository_catalog_contract(Arc::new(hot)).await
});
on_both!(hot_index_local, |store| {
    files::artifact_index_contract(Arc::new(HotIndex::new(Arc::new(store), Invalidations::local())))
});
on_both!(hot_index_shared, |store| async move {
    let hot = HotIndex::new(Arc::new(store), subscribed_invalidations().await);
    files::artifact_index_contract(Arc::new(hot)).await
});

/// Invalidation over a pub/sub channel, once subscribed.
async fn subscribed_invalidations() -> Arc<Invalidations> {
    let shared = Invalidations::shared(Arc::new(artifactapi::adapters::cache::memory::MemoryCache::new()));
    shared.spawn_subscriber();
    while !shared.usable() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    shared
}

/// Adapter-level guarantees: migrations are idempotent (every `serve` start runs them), the
/// store answers pings, and its `Debug` shows no key material.
async fn lifecycle(store: MetaStore) {
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains("42, 42"), "{shown}");
}

#[tokio::test]
async fn sqlite_url_modes() {
    let dir = tempfile::tempdir().unwrap();
    let rwc = format!("sqlite://{}/a/meta.db?mode=rwc", dir.path().display());
    meta::connect(&rwc, KEY).await.unwrap().migrate().await.unwrap();
    assert!(dir.path().join("a/meta.db").exists());
    let rw = format!("sqlite://{}/b/meta.db?mode=rw", dir.path().display());
    assert!(meta::connect(&rw, KEY).await.is_err(), "mode=rw never creates the file");
}

#[tokio::test]
async fn sqlite_in_memory_works() {
    let store = meta::connect("sqlite::memory:", KEY).await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
}

#[tokio::test]
async fn unusable_database_urls_are_backend_errors() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"").unwrap();
    for url in [
        format!("sqlite://{}/meta.db", blocker.display()),
        "mysql://user:s3cr3t-pw@127.0.0.1:1/db".to_string(),
        "postgres://user:s3cr3t-pw@[::1".to_string(),
    ] {
        let err = meta::connect(&url, KEY).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, artifactapi::ports::PortError::Backend(_)), "{text}");
        assert!(!text.contains("s3cr3t-pw"), "{text}");
    }
}
