//! Remote retention end to end: a generic remote with `max_bytes` = 10 MiB in front of a fake
//! upstream fetches 30 MiB of files, ends under 10 MiB with the most recently used files still
//! served from its cache, previews (dry run) a lowered limit without changing anything, enforces
//! it, and garbage collection then frees the evicted bytes from the blob store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::{Value, json};
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

const MIB: u64 = 1024 * 1024;
const FILES: u64 = 30;

fn file(i: u64) -> String {
    format!("pkg/file-{i:02}.bin")
}

async fn admin_post(server: &Server, path: &str) -> Value {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// Enforces now. A fetch-triggered enforcement may hold the repository at that moment (`busy`),
/// so this asks until it is its own run that finished.
async fn enforce(server: &Server) -> Value {
    for _ in 0..200 {
        let done = admin_post(server, "/api/v2/repositories/cache/retention").await;
        if done["busy"] == false {
            return done;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the repository stayed busy");
}

/// The cached paths and their summed size, from the objects listing.
async fn cached(server: &Server) -> (Vec<String>, u64) {
    let listing: Value = server
        .get("/api/v2/repositories/cache/objects?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    let objects = listing.as_array().cloned().unwrap();
    let paths = objects
        .iter()
        .map(|o| o["path"].as_str().unwrap().to_string())
        .collect();
    let bytes = objects.iter().map(|o| o["size"].as_u64().unwrap()).sum();
    (paths, bytes)
}

fn blob_store_bytes(server: &Server) -> u64 {
    std::fs::read_dir(server.data_dir().join("blobs/blobs/sha256"))
        .map(|dir| dir.map(|e| e.unwrap().metadata().unwrap().len()).sum())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_over_max_bytes_keeps_its_most_recently_used_files_under_the_limit() {
    let upstream = FakeUpstream::start().await;
    for i in 0..FILES {
        // Odd seeds: `Generated` bodies of seeds 2k and 2k+1 are the same bytes.
        let seed = 2 * i + 1;
        upstream.put(&format!("files/{}", file(i)), FakeFile::Generated { seed, size: MIB });
    }
    let server = Server::start(&[
        ("ARTIFACTAPI_GC_GRACE_PERIOD", "0".to_string()),
        ("ARTIFACTAPI_GC_INTERVAL", "0".to_string()),
        ("ARTIFACTAPI_RETENTION_INTERVAL", "0".to_string()),
    ])
    .await;
    server
        .create_repository(json!({
            "name": "cache", "kind": "remote", "package": "generic",
            "base_url": format!("{}/files", upstream.base), "max_bytes": 10 * MIB
        }))
        .await;

    for i in 0..FILES {
        let response = server.get(&format!("/api/v1/remote/cache/{}", file(i))).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-artifact-source"], "remote");
        assert_eq!(response.bytes().await.unwrap().len() as u64, MIB);
        // The client has every byte once Content-Length is reached, a moment before the copy
        // is recorded: wait for the row, so the fetches' recorded times follow their order.
        while !cached(&server).await.0.contains(&file(i)) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    let done = enforce(&server).await;
    assert!(done["stored_bytes"].as_u64().unwrap() <= 10 * MIB, "{done}");
    let (paths, bytes) = cached(&server).await;
    assert!(bytes <= 10 * MIB, "{bytes} bytes cached: {paths:?} after {done}");
    // The ten most recently used fit exactly, and are served from the cache.
    let recent: Vec<String> = (FILES - 10..FILES).map(file).collect();
    assert_eq!(paths, recent, "after {done}");
    for path in &recent {
        let response = server.get(&format!("/api/v1/remote/cache/{path}")).await;
        assert_eq!(response.headers()["x-artifact-source"], "cache", "{path}");
        assert_eq!(upstream.hits(&format!("files/{path}")), 1, "{path}");
    }

    // A lower limit, previewed: the least recently used five would go; nothing changes yet.
    let patched = reqwest::Client::new()
        .patch(server.url("/api/v2/repositories/cache"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"max_bytes": 5 * MIB}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let preview: Value = server
        .get("/api/v2/repositories/cache/retention")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(preview["dry_run"], true);
    let listed: Vec<&str> = preview["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        recent[..5].iter().map(String::as_str).collect::<Vec<_>>(),
        "{preview}"
    );
    assert!(
        preview["removed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["reason"] == "max_bytes")
    );
    assert_eq!(preview["stored_bytes"], 5 * MIB);
    assert_eq!(cached(&server).await.0.len(), 10, "a preview changes nothing");

    let done = enforce(&server).await;
    assert_eq!(done["objects"], 5, "{done}");
    assert_eq!(cached(&server).await.0, recent[5..].to_vec());

    // /metrics counts every eviction once: twenty while fetching, five now.
    let metrics = server.get("/metrics").await.text().await.unwrap();
    for line in [
        r#"artifactapi_retention_removed_objects_total{repository="cache",policy="max_bytes"} 25"#,
        r#"artifactapi_retention_removed_bytes_total{repository="cache",policy="max_bytes"} 26214400"#,
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }

    // The evicted copies' bytes are freed by the next GC (no grace period here).
    let before = blob_store_bytes(&server);
    assert!(before >= 25 * MIB, "{before}");
    let gc = admin_post(&server, "/api/v2/gc").await;
    assert!(gc["bytes_freed"].as_u64().unwrap() >= 25 * MIB, "{gc}");
    assert!(
        blob_store_bytes(&server) <= 5 * MIB + MIB / 2,
        "{}",
        blob_store_bytes(&server)
    );
}

/// Two replicas on PostgreSQL + Redis + S3 enforce one remote's limit at the same moment: every
/// evicted copy is evicted exactly once (per-repository lease, conditional deletes), and the ten
/// most recent copies stay, served from the cache through either replica.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_enforcing_at_once_evict_each_copy_once() {
    let Some(database_url) = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)
    else {
        return;
    };
    let s3 = support::s3::TestS3::start().await;
    let mut env = support::shared_backends_env(database_url, &s3, "retention-replicas");
    env.push(("ARTIFACTAPI_RETENTION_INTERVAL", "0".to_string()));
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    let upstream = FakeUpstream::start().await;
    for i in 0..FILES {
        let seed = 2 * i + 1;
        upstream.put(&format!("files/{}", file(i)), FakeFile::Generated { seed, size: MIB });
    }
    // No limit while fetching, so no fetch triggers an enforcement of its own.
    a.create_repository(json!({"name": "cache", "kind": "remote", "package": "generic",
        "base_url": format!("{}/files", upstream.base)}))
        .await;
    for i in 0..FILES {
        let server = if i % 2 == 0 { &a } else { &b };
        let response = server.get(&format!("/api/v1/remote/cache/{}", file(i))).await;
        assert_eq!(response.bytes().await.unwrap().len() as u64, MIB);
        while !cached(&a).await.0.contains(&file(i)) {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
    let patched = reqwest::Client::new()
        .patch(b.url("/api/v2/repositories/cache"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"max_bytes": 10 * MIB}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);

    let (from_a, from_b) = tokio::join!(
        admin_post(&a, "/api/v2/repositories/cache/retention"),
        admin_post(&b, "/api/v2/repositories/cache/retention")
    );
    assert_eq!(
        from_a["objects"].as_u64().unwrap() + from_b["objects"].as_u64().unwrap(),
        FILES - 10,
        "each copy evicted once: {from_a} {from_b}"
    );
    let recent: Vec<String> = (FILES - 10..FILES).map(file).collect();
    assert_eq!(cached(&b).await.0, recent);
    for path in &recent {
        for server in [&a, &b] {
            let response = server.get(&format!("/api/v1/remote/cache/{path}")).await;
            assert_eq!(response.headers()["x-artifact-source"], "cache", "{path}");
        }
        assert_eq!(upstream.hits(&format!("files/{path}")), 1, "{path}");
    }
}
