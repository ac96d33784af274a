use super::*;
use crate::ports::blob_records::MockBlobRecords;
use crate::ports::blob_store::MockBlobStore;
use crate::ports::clock::MockClock;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::repository_catalog::MockRepositoryCatalog;
use crate::ports::telemetry::MockGcTelemetry;
use crate::ports::ttl_cache::MockTtlCache;
use crate::ports::{BlobMeta, Lease, ListedKey};
use std::sync::Mutex;

const HOUR: Duration = Duration::from_secs(3600);

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-02T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn blob(content: &str, size: u64) -> BlobRecord {
    BlobRecord {
        digest: Digest::of_bytes(content.as_bytes()),
        size,
        content_type: None,
        created_at: now() - chrono::Duration::hours(5),
        last_referenced: now() - chrono::Duration::hours(5),
    }
}

/// A TTL cache whose locks are free unless named in `busy`; records published channels.
fn cache(busy: &'static [&'static str], published: Arc<Mutex<Vec<String>>>) -> MockTtlCache {
    let mut cache = MockTtlCache::new();
    cache.expect_try_lock().returning(move |key, _| {
        Ok((!busy.iter().any(|b| key.contains(b))).then(|| Lease {
            key: key.to_string(),
            owner: "me".into(),
        }))
    });
    cache.expect_release().returning(|_| Ok(true));
    cache.expect_publish().returning(move |channel, message| {
        published.lock().unwrap().push(format!("{channel} {message}"));
        Ok(())
    });
    cache
}

struct Parts {
    records: MockBlobRecords,
    catalog: MockRepositoryCatalog,
    files: MockHostedFiles,
    blobs: MockBlobStore,
    cache: MockTtlCache,
    telemetry: MockGcTelemetry,
}

fn service(p: Parts) -> GcService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    let cache: Arc<dyn TtlCache> = Arc::new(p.cache);
    let clock: Arc<dyn Clock> = Arc::new(clock);
    GcService::new(
        GcPorts {
            records: Arc::new(p.records),
            catalog: Arc::new(p.catalog),
            files: Arc::new(p.files),
            blobs: Arc::new(p.blobs),
            events: Arc::new(EventBus::new(cache.clone(), clock.clone())),
            cache,
            clock,
            telemetry: Arc::new(p.telemetry),
        },
        HOUR,
    )
}

fn no_repositories() -> MockRepositoryCatalog {
    let mut catalog = MockRepositoryCatalog::new();
    catalog.expect_list().returning(|| Ok(vec![]));
    catalog
}

fn no_objects(blobs: &mut MockBlobStore) {
    blobs.expect_list().returning(|_, _, _| Ok(vec![]));
}

#[tokio::test]
async fn deletes_the_row_before_the_object_and_reports_the_run() {
    let (a, b) = (blob("a", 10), blob("b", 20));
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut records = MockBlobRecords::new();
    let listed = vec![a.clone(), b.clone()];
    records
        .expect_orphans()
        .withf(|cutoff, after, _| *cutoff == now() - chrono::Duration::hours(1) && after.is_none())
        .times(1)
        .returning(move |_, _, _| Ok(listed.clone()));
    let o = order.clone();
    records.expect_delete_orphan().times(2).returning(move |d, _| {
        o.lock().unwrap().push(format!("row {d}"));
        Ok(true)
    });
    records.expect_existing().returning(|_| Ok(vec![]));
    let mut blobs = MockBlobStore::new();
    let o = order.clone();
    blobs.expect_delete().times(2).returning(move |key| {
        o.lock().unwrap().push(format!("object {key}"));
        Ok(())
    });
    no_objects(&mut blobs);
    let mut telemetry = MockGcTelemetry::new();
    telemetry
        .expect_gc_run()
        .withf(|n, bytes| *n == 2 && *bytes == 30)
        .times(1)
        .return_const(());
    let published = Arc::new(Mutex::new(Vec::new()));
    let gc = service(Parts {
        catalog: no_repositories(),
        files: MockHostedFiles::new(),
        records,
        blobs,
        cache: cache(&[], published.clone()),
        telemetry,
    });
    let report = gc.run(false).await.unwrap();
    assert_eq!((report.blobs_deleted, report.bytes_freed, report.busy), (2, 30, 0));
    let order = order.lock().unwrap().clone();
    assert_eq!(
        order,
        vec![
            format!("row {}", a.digest),
            format!("object {}", a.digest.blob_key()),
            format!("row {}", b.digest),
            format!("object {}", b.digest.blob_key()),
        ]
    );
    let published = published.lock().unwrap();
    assert!(
        published
            .iter()
            .any(|m| m.starts_with("events ") && m.contains("\"gc\"") && m.contains("\"bytes_freed\":30")),
        "{published:?}"
    );
}

#[tokio::test]
async fn a_row_refreshed_or_referenced_since_the_listing_keeps_its_object() {
    let a = blob("a", 10);
    let mut records = MockBlobRecords::new();
    records.expect_orphans().returning(move |_, _, _| Ok(vec![a.clone()]));
    records.expect_delete_orphan().times(1).returning(|_, _| Ok(false));
    let mut blobs = MockBlobStore::new();
    blobs.expect_delete().times(0);
    no_objects(&mut blobs);
    let mut telemetry = MockGcTelemetry::new();
    telemetry
        .expect_gc_run()
        .withf(|n, bytes| *n == 0 && *bytes == 0)
        .return_const(());
    let gc = service(Parts {
        catalog: no_repositories(),
        files: MockHostedFiles::new(),
        records,
        blobs,
        cache: cache(&[], Arc::default()),
        telemetry,
    });
    assert_eq!(gc.run(false).await.unwrap().blobs_deleted, 0);
}

#[tokio::test]
async fn a_blob_a_writer_holds_is_skipped_until_the_next_run() {
    let (a, b) = (blob("a", 10), blob("b", 20));
    let busy_key: &'static str = Box::leak(a.digest.to_string().into_boxed_str());
    let busy: &'static [&'static str] = Box::leak(vec![busy_key].into_boxed_slice());
    let mut records = MockBlobRecords::new();
    let listed = vec![a.clone(), b.clone()];
    records.expect_orphans().returning(move |_, _, _| Ok(listed.clone()));
    let only_b = b.digest.clone();
    records
        .expect_delete_orphan()
        .withf(move |d, _| *d == only_b)
        .times(1)
        .returning(|_, _| Ok(true));
    let mut blobs = MockBlobStore::new();
    blobs.expect_delete().times(1).returning(|_| Ok(()));
    no_objects(&mut blobs);
    let mut telemetry = MockGcTelemetry::new();
    telemetry.expect_gc_run().return_const(());
    let gc = service(Parts {
        catalog: no_repositories(),
        files: MockHostedFiles::new(),
        records,
        blobs,
        cache: cache(busy, Arc::default()),
        telemetry,
    });
    let report = gc.run(false).await.unwrap();
    assert_eq!((report.blobs_deleted, report.busy), (1, 1));
}

#[tokio::test]
async fn pages_through_orphans_by_digest() {
    let first: Vec<BlobRecord> = (0..GC_PAGE).map(|i| blob(&format!("p{i}"), 1)).collect();
    let last = first.last().unwrap().digest.clone();
    let mut records = MockBlobRecords::new();
    let page = first.clone();
    records
        .expect_orphans()
        .withf(|_, after, _| after.is_none())
        .times(1)
        .returning(move |_, _, _| Ok(page.clone()));
    let tail = blob("tail", 5);
    records
        .expect_orphans()
        .withf(move |_, after, _| *after == Some(last.clone()))
        .times(1)
        .returning(move |_, _, _| Ok(vec![tail.clone()]));
    records.expect_delete_orphan().returning(|_, _| Ok(true));
    let mut blobs = MockBlobStore::new();
    blobs.expect_delete().returning(|_| Ok(()));
    no_objects(&mut blobs);
    let mut telemetry = MockGcTelemetry::new();
    telemetry.expect_gc_run().return_const(());
    let gc = service(Parts {
        catalog: no_repositories(),
        files: MockHostedFiles::new(),
        records,
        blobs,
        cache: cache(&[], Arc::default()),
        telemetry,
    });
    assert_eq!(gc.run(false).await.unwrap().blobs_deleted, GC_PAGE + 1);
}

#[tokio::test]
async fn a_dry_run_deletes_nothing_and_counts_what_it_would() {
    let a = blob("a", 10);
    let stray = Digest::of_bytes(b"stray");
    let mut records = MockBlobRecords::new();
    records.expect_orphans().returning(move |_, _, _| Ok(vec![a.clone()]));
    records.expect_delete_orphan().times(0);
    records.expect_existing().returning(|_| Ok(vec![]));
    let mut blobs = MockBlobStore::new();
    let key = stray.blob_key();
    blobs.expect_list().returning(move |_, _, _| {
        Ok(vec![ListedKey {
            key: key.clone(),
            meta: BlobMeta {
                size: 7,
                last_modified: Some(now() - chrono::Duration::hours(2)),
            },
        }])
    });
    blobs.expect_delete().times(0);
    let mut telemetry = MockGcTelemetry::new();
    telemetry.expect_gc_run().times(0);
    let gc = service(Parts {
        catalog: no_repositories(),
        files: MockHostedFiles::new(),
        records,
        blobs,
        cache: cache(&[], Arc::default()),
        telemetry,
    });
    let report = gc.run(true).await.unwrap();
    assert!(report.dry_run);
    assert_eq!(
        (report.blobs_deleted, report.stray_objects_deleted, report.bytes_freed),
        (1, 1, 17)
    );
}

#[tokio::test]
async fn objects_without_a_row_go_once_old_enough_and_still_unrecorded() {
    let (old_stray, young_stray, recorded, raced) = (
        Digest::of_bytes(b"old"),
        Digest::of_bytes(b"young"),
        Digest::of_bytes(b"recorded"),
        Digest::of_bytes(b"raced"),
    );
    let listed: Vec<ListedKey> = [(&old_stray, 2), (&young_stray, 0), (&recorded, 2), (&raced, 2)]
        .into_iter()
        .map(|(d, age)| ListedKey {
            key: d.blob_key(),
            meta: BlobMeta {
                size: 3,
                last_modified: Some(now() - chrono::Duration::minutes(59) - chrono::Duration::hours(age)),
            },
        })
        .chain([ListedKey {
            key: "blobs/sha256/not-a-digest".into(),
            meta: BlobMeta {
                size: 1,
                last_modified: Some(now() - chrono::Duration::hours(9)),
            },
        }])
        .collect();
    let mut records = MockBlobRecords::new();
    records.expect_orphans().returning(|_, _, _| Ok(vec![]));
    let known = recorded.clone();
    records.expect_existing().times(1).returning(move |asked| {
        assert_eq!(asked.len(), 3, "only old, well-formed keys are looked up: {asked:?}");
        Ok(vec![known.clone()])
    });
    // `raced` was recorded by a writer between the batch lookup and its lease.
    let r = raced.clone();
    records
        .expect_get()
        .returning(move |d| Ok((*d == r).then(|| blob("raced", 3))));
    let mut blobs = MockBlobStore::new();
    blobs
        .expect_list()
        .withf(|prefix, after, _| prefix == "blobs/sha256/" && after.is_none())
        .returning(move |_, _, _| Ok(listed.clone()));
    let key = old_stray.blob_key();
    blobs
        .expect_delete()
        .withf(move |k| k == key)
        .times(1)
        .returning(|_| Ok(()));
    let mut telemetry = MockGcTelemetry::new();
    telemetry
        .expect_gc_run()
        .withf(|n, b| *n == 1 && *b == 3)
        .return_const(());
    let gc = service(Parts {
        catalog: no_repositories(),
        files: MockHostedFiles::new(),
        records,
        blobs,
        cache: cache(&[], Arc::default()),
        telemetry,
    });
    let report = gc.run(false).await.unwrap();
    assert_eq!((report.stray_objects_deleted, report.bytes_freed), (1, 3));
}

#[tokio::test]
async fn one_run_at_a_time() {
    let mut cache = MockTtlCache::new();
    cache
        .expect_try_lock()
        .withf(|key, _| key == "gc:run")
        .returning(|_, _| Ok(None));
    let gc = service(Parts {
        catalog: no_repositories(),
        files: MockHostedFiles::new(),
        records: MockBlobRecords::new(),
        blobs: MockBlobStore::new(),
        cache,
        telemetry: MockGcTelemetry::new(),
    });
    assert!(matches!(gc.run(false).await, Err(GcError::AlreadyRunning)));
}

mod links {
    use super::*;
    use crate::domain::registry::keys;
    use crate::domain::repository::{KindSettings, LocalSettings, ManagedBy, PackageType, RepoName, Repository};
    use crate::ports::{BlobObject, HostedFile};

    fn docker_local() -> Repository {
        Repository {
            name: RepoName::new("images").unwrap(),
            package: PackageType::Docker,
            settings: KindSettings::Local(LocalSettings::default()),
            managed_by: ManagedBy::Api,
        }
    }

    fn row(path: String, digest: &Digest, age_hours: i64) -> HostedFile {
        HostedFile {
            repo: "images".into(),
            path,
            digest: digest.clone(),
            size: 5,
            content_type: None,
            created_at: now() - chrono::Duration::hours(age_hours),
        }
    }

    fn manifest_naming(config: &Digest, layers: &[&Digest]) -> Vec<u8> {
        let layer = |d: &Digest| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d.to_string(), "size": 5});
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": 5},
            "layers": layers.iter().map(|d| layer(d)).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    /// An image `app` with one manifest naming `config` and `kept`, and links to `config`,
    /// `kept`, an old `dropped` and a young `young`; `missing` is named by the manifest but has
    /// no link while its blob is still recorded.
    struct Image {
        config: Digest,
        kept: Digest,
        dropped: Digest,
        young: Digest,
        missing: Digest,
        manifest: Digest,
        body: Vec<u8>,
    }

    fn image() -> Image {
        let d = |s: &str| Digest::of_bytes(s.as_bytes());
        let (config, kept, missing) = (d("config"), d("kept"), d("missing"));
        let body = manifest_naming(&config, &[&kept, &missing]);
        Image {
            manifest: Digest::of_bytes(&body),
            body,
            config,
            kept,
            dropped: d("dropped"),
            young: d("young"),
            missing,
        }
    }

    fn files_of(img: &Image, deleted: Arc<Mutex<Vec<String>>>, upserted: Arc<Mutex<Vec<String>>>) -> MockHostedFiles {
        let rows = [
            row(keys::blob_link("app", &img.config), &img.config, 5),
            row(keys::blob_link("app", &img.dropped), &img.dropped, 5),
            row(keys::blob_link("app", &img.kept), &img.kept, 5),
            row(keys::blob_link("app", &img.young), &img.young, 0),
        ];
        let manifest_rows = [HostedFile {
            content_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
            ..row(keys::manifest_row("app", &img.manifest), &img.manifest, 5)
        }];
        let mut files = MockHostedFiles::new();
        files.expect_list().returning(move |_, page| {
            let all: Vec<HostedFile> = rows.iter().chain(manifest_rows.iter()).cloned().collect();
            Ok(all
                .into_iter()
                .filter(|r| r.path.starts_with(&page.prefix))
                .filter(|r| page.after.as_ref().is_none_or(|a| r.path > *a))
                .collect())
        });
        files.expect_delete().returning(move |_, path| {
            deleted.lock().unwrap().push(path.to_string());
            Ok(true)
        });
        files.expect_upsert().returning(move |f| {
            upserted.lock().unwrap().push(f.path.clone());
            Ok(())
        });
        files
    }

    fn catalog() -> MockRepositoryCatalog {
        let mut catalog = MockRepositoryCatalog::new();
        catalog.expect_list().returning(|| Ok(vec![docker_local()]));
        catalog
    }

    fn blobs_serving(img: &Image) -> MockBlobStore {
        let (key, body) = (img.manifest.blob_key(), img.body.clone());
        let mut blobs = MockBlobStore::new();
        blobs.expect_get().withf(move |k, _| k == key).returning(move |_, _| {
            let body = body.clone();
            Ok(BlobObject {
                meta: BlobMeta {
                    size: body.len() as u64,
                    last_modified: None,
                },
                body: Box::pin(futures::stream::once(async move { Ok(bytes::Bytes::from(body)) })),
            })
        });
        no_objects(&mut blobs);
        blobs
    }

    fn quiet_records(refreshed: Arc<Mutex<Vec<Digest>>>) -> MockBlobRecords {
        let mut records = MockBlobRecords::new();
        records.expect_orphans().returning(|_, _, _| Ok(vec![]));
        records.expect_record().returning(move |b| {
            refreshed.lock().unwrap().push(b.digest.clone());
            assert_eq!(
                b.last_referenced,
                now(),
                "a dropped link refreshes its blob's last reference"
            );
            Ok(())
        });
        records.expect_get().returning(|d| {
            Ok(Some(BlobRecord {
                digest: d.clone(),
                size: 5,
                content_type: None,
                created_at: now(),
                last_referenced: now(),
            }))
        });
        records
    }

    fn telemetry() -> MockGcTelemetry {
        let mut telemetry = MockGcTelemetry::new();
        telemetry.expect_gc_run().return_const(());
        telemetry
    }

    /// What the link pass did to rows and blob records.
    struct Seen {
        deleted: Arc<Mutex<Vec<String>>>,
        upserted: Arc<Mutex<Vec<String>>>,
        refreshed: Arc<Mutex<Vec<Digest>>>,
    }

    /// A GC over one local docker repository holding `img`.
    fn link_gc(img: &Image) -> (GcService, Seen) {
        let seen = Seen {
            deleted: Arc::default(),
            upserted: Arc::default(),
            refreshed: Arc::default(),
        };
        let gc = service(Parts {
            records: quiet_records(Arc::clone(&seen.refreshed)),
            catalog: catalog(),
            files: files_of(img, Arc::clone(&seen.deleted), Arc::clone(&seen.upserted)),
            blobs: blobs_serving(img),
            cache: cache(&[], Arc::default()),
            telemetry: telemetry(),
        });
        (gc, seen)
    }

    #[tokio::test]
    async fn drops_old_links_no_manifest_names_and_restores_named_ones() {
        let img = image();
        let (
            gc,
            Seen {
                deleted,
                upserted,
                refreshed,
            },
        ) = link_gc(&img);
        let report = gc.run(false).await.unwrap();
        assert_eq!(report.links_deleted, 1);
        assert_eq!(*deleted.lock().unwrap(), vec![keys::blob_link("app", &img.dropped)]);
        assert_eq!(*refreshed.lock().unwrap(), vec![img.dropped.clone()]);
        assert_eq!(*upserted.lock().unwrap(), vec![keys::blob_link("app", &img.missing)]);
    }

    #[tokio::test]
    async fn a_dry_run_counts_links_and_changes_nothing() {
        let img = image();
        let (
            gc,
            Seen {
                deleted,
                upserted,
                refreshed,
            },
        ) = link_gc(&img);
        let report = gc.run(true).await.unwrap();
        assert_eq!(report.links_deleted, 1);
        assert!(deleted.lock().unwrap().is_empty());
        assert!(upserted.lock().unwrap().is_empty());
        assert!(refreshed.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_unreadable_manifest_fails_the_run_before_any_link_goes() {
        let img = image();
        let (deleted, upserted) = (Arc::default(), Arc::default());
        let mut blobs = MockBlobStore::new();
        blobs.expect_get().returning(|_, _| Err(PortError::NotFound));
        let gc = service(Parts {
            records: quiet_records(Arc::default()),
            catalog: catalog(),
            files: files_of(&img, Arc::clone(&deleted), upserted),
            blobs,
            cache: cache(&[], Arc::default()),
            telemetry: telemetry(),
        });
        assert!(matches!(gc.run(false).await, Err(GcError::Unavailable(_))));
        assert!(deleted.lock().unwrap().is_empty());
    }
}
