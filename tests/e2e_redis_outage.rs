//! End to end: a remote keeps serving while Redis (the shared TTL cache) is down: cached copies
//! are served (stale ones marked as for an upstream outage) and misses are fetched without the
//! cross-replica lock, which the log and `/metrics` say; readiness reports the cache down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use support::redis::PrivateRedis;
use support::server::Server;
use support::upstream::{FakeFile, FakeUpstream};

#[tokio::test]
async fn remote_reads_degrade_instead_of_failing_when_redis_is_down() {
    let Some(mut redis) = support::backend_or_skip("redis-server", PrivateRedis::start().await) else {
        return;
    };
    let upstream = FakeUpstream::start().await;
    upstream.put("files/latest.txt", FakeFile::Bytes(Bytes::from_static(b"v1")));
    upstream.put("files/a.bin", FakeFile::Bytes(Bytes::from_static(b"aaaa")));
    upstream.put("files/b.bin", FakeFile::Bytes(Bytes::from_static(b"bbbb")));
    let server = Server::start(&[("ARTIFACTAPI_CACHE_URL", redis.url.clone())]).await;
    server
        .create_repository(json!({"name": "r", "kind": "remote", "package": "generic",
            "base_url": format!("{}/files", upstream.base), "mutable_patterns": ["latest\\.txt$"], "mutable_ttl": 1}))
        .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let get = |path: &str| client.get(server.url(&format!("/api/v1/remote/r/{path}"))).send();
    for path in ["latest.txt", "a.bin"] {
        assert_eq!(get(path).await.unwrap().status(), StatusCode::OK);
        // A second read waits for the first fetch to be recorded.
        let again = get(path).await.unwrap();
        assert_eq!(again.headers()["x-artifact-source"], "cache");
    }

    redis.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let expired = get("latest.txt").await.unwrap();
    assert_eq!(expired.status(), StatusCode::OK, "an expired copy is served");
    assert_eq!(expired.headers()["x-artifact-stale"], "true");
    assert_eq!(expired.bytes().await.unwrap().as_ref(), b"v1");
    let fresh = get("a.bin").await.unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(fresh.headers()["x-artifact-source"], "cache");

    let miss = get("b.bin").await.unwrap();
    assert_eq!(miss.status(), StatusCode::OK, "a miss is fetched without the lock");
    assert_eq!(miss.bytes().await.unwrap().as_ref(), b"bbbb");
    // The copy is recorded just after its body went out; no fetch lock to wait on here.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let listed: Value = client
            .get(server.url("/api/v2/repositories/r/objects?prefix=b.bin"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !listed.as_array().unwrap().is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the miss was never stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = get("b.bin").await.unwrap();
    assert_eq!(again.headers()["x-artifact-source"], "cache", "and stored");
    assert_eq!(upstream.hits("files/b.bin"), 1);

    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"artifactapi_single_flight_bypassed_total{repository="r"} 1"#),
        "{metrics}"
    );
    assert!(
        server.log().contains("without the cross-replica lock"),
        "{}",
        server.log()
    );
    let ready = client.get(server.url("/api/v2/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let report: Value = ready.json().await.unwrap();
    let cache = report["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "cache")
        .unwrap();
    assert_eq!(cache["ok"], false, "{report}");
}
