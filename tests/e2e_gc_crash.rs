//! GC killed mid-run (SIGKILL), end to end with the real binary: thousands of unreferenced blob
//! rows and objects and one uploaded file; `artifactapi gc` is killed while it deletes, then run
//! again. Nothing referenced is lost, and nothing unreferenced is left once past the grace period
//! (the second run uses a zero grace period so that objects whose rows the killed run had just
//! deleted count as old enough).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::path::Path;
use std::time::Duration;

use artifactapi::adapters::meta;
use artifactapi::domain::digest::Digest;
use artifactapi::ports::{BlobRecord, BlobRecords};
use chrono::Utc;
use support::server::{ADMIN_TOKEN, Server, command};

const ORPHANS: usize = 4000;

fn objects(data: &Path) -> usize {
    std::fs::read_dir(data.join("blobs/blobs/sha256")).unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gc_killed_mid_run_is_finished_by_the_next_and_loses_nothing_referenced() {
    let server = Server::start(&[]).await;
    server
        .create_repository(serde_json::json!({"name": "kept", "kind": "local", "package": "generic"}))
        .await;
    let content = b"a file every GC run must keep\n".to_vec();
    let put = server
        .http
        .put(server.url("/api/v1/local/kept/keep.txt"))
        .bearer_auth(ADMIN_TOKEN)
        .body(content.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let dir = server.kill();
    let data = dir.path().join("data");

    // Unreferenced rows two days old, each with its object.
    let store = meta::connect(&format!("sqlite://{}/meta.db", data.display()), [0; 32])
        .await
        .unwrap();
    let old = Utc::now() - chrono::Duration::days(2);
    for i in 0..ORPHANS {
        let body = format!("orphan {i}\n");
        let digest = Digest::of_bytes(body.as_bytes());
        std::fs::write(data.join("blobs").join(digest.blob_key()), &body).unwrap();
        store
            .record(&BlobRecord {
                digest,
                size: body.len() as u64,
                content_type: None,
                created_at: old,
                last_referenced: old,
            })
            .await
            .unwrap();
    }
    drop(store);
    assert_eq!(objects(&data), ORPHANS + 1);

    // Kill the run once it has deleted some, while it is still running.
    let mut gc = command(dir.path(), &["gc"], &[]).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while objects(&data) > ORPHANS + 1 - 50 {
        assert!(
            gc.try_wait().unwrap().is_none(),
            "gc finished before it could be killed"
        );
        assert!(std::time::Instant::now() < deadline, "gc deleted nothing");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(
        gc.try_wait().unwrap().is_none(),
        "gc finished before it could be killed"
    );
    gc.kill().unwrap();
    gc.wait().unwrap();
    let left = objects(&data);
    assert!(left > 1 && left < ORPHANS + 1, "killed mid-run: {left} objects left");

    let rerun = command(dir.path(), &["gc"], &[("ARTIFACTAPI_GC_GRACE_PERIOD", "0".to_string())])
        .output()
        .unwrap();
    assert!(rerun.status.success(), "{}", String::from_utf8_lossy(&rerun.stderr));
    assert_eq!(objects(&data), 1, "only the uploaded file's blob is left");

    let server = Server::start_in(dir, &[], &[]).await;
    let got = server.get("/api/v1/local/kept/keep.txt").await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().to_vec(), content);
    let store = meta::connect(&format!("sqlite://{}/meta.db", server.data_dir().display()), [0; 32])
        .await
        .unwrap();
    assert!(
        store.orphans(Utc::now(), None, 10).await.unwrap().is_empty(),
        "no unreferenced row is left"
    );
}
