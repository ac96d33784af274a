//! End to end: a generic remote repository (pull-through cache) in front of a fake upstream on
//! 127.0.0.1, through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::server::Server;
use support::upstream::{FakeFile, FakeUpstream};

async fn remote(server: &Server, name: &str, upstream: &FakeUpstream, extra: Value) {
    let mut body =
        json!({"name": name, "kind": "remote", "package": "generic", "base_url": format!("{}/files", upstream.base)});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    server.create_repository(body).await;
}

async fn sha256_of(response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut hasher = Sha256::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        hasher.update(&chunk?);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[tokio::test]
async fn pulls_through_once_then_serves_from_cache_with_the_upstream_gone() {
    let upstream = FakeUpstream::start().await;
    upstream.put(
        "files/tools/app-1.0.tar.gz",
        FakeFile::Generated {
            seed: 3,
            size: 3 * 1024 * 1024 + 5,
        },
    );
    let server = Server::start(&[]).await;
    remote(&server, "files-remote", &upstream, json!({})).await;
    let url = server.url("/api/v1/remote/files-remote/tools/app-1.0.tar.gz");
    let expected = support::data::sha256_hex(3, 3 * 1024 * 1024 + 5);
    let client = reqwest::Client::new();

    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["x-artifact-source"], "remote");
    assert_eq!(
        first.headers()["content-length"],
        (3 * 1024 * 1024 + 5).to_string().as_str()
    );
    assert_eq!(sha256_of(first).await.unwrap(), expected);

    let second = client.get(&url).send().await.unwrap();
    assert_eq!(second.headers()["x-artifact-source"], "cache");
    assert_eq!(second.headers()["etag"], format!("\"sha256:{expected}\"").as_str());
    assert_eq!(
        second.headers()["content-type"],
        "application/x-test",
        "upstream content type kept"
    );
    assert_eq!(sha256_of(second).await.unwrap(), expected);
    assert_eq!(upstream.hits("files/tools/app-1.0.tar.gz"), 1);

    upstream.stop().await;
    let offline = client.get(&url).send().await.unwrap();
    assert_eq!(offline.headers()["x-artifact-source"], "cache");
    assert_eq!(sha256_of(offline).await.unwrap(), expected);
    let ranged = client.get(&url).header("Range", "bytes=0-9").send().await.unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.bytes().await.unwrap().len(), 10);
    let head = client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()["content-length"],
        (3 * 1024 * 1024 + 5).to_string().as_str()
    );
    let missing = client
        .get(server.url("/api/v1/remote/files-remote/never-fetched"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_GATEWAY, "no copy and no upstream");
    assert_eq!(missing.json::<Value>().await.unwrap()["code"], "UPSTREAM_FAILED");

    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| -> u64 {
        let prefix = format!("{name}{{repository=\"files-remote\"}} ");
        let line = metrics
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{name} missing:\n{metrics}"));
        line[prefix.len()..].parse::<f64>().unwrap() as u64
    };
    assert_eq!(value("artifactapi_upstream_fetched_bytes_total"), 3 * 1024 * 1024 + 5);
    assert_eq!(value("artifactapi_upstream_errors_total"), 1, "the refused connection");
    assert_eq!(
        value("artifactapi_upstream_latency_seconds_count"),
        2,
        "two upstream requests"
    );
    // A request that arrives while the first fetch is still recording its copy counts as a miss
    // that waited; every request is one or the other.
    assert_eq!(
        value("artifactapi_cache_hits_total") + value("artifactapi_cache_misses_total"),
        6
    );
    assert!(value("artifactapi_cache_misses_total") >= 2);
}

#[tokio::test]
async fn fifty_concurrent_misses_make_one_upstream_request() {
    const SIZE: u64 = 64 * 1024 * 1024;
    let upstream = FakeUpstream::start().await;
    upstream.put("files/big.bin", FakeFile::Generated { seed: 11, size: SIZE });
    let server = Server::start(&[]).await;
    remote(&server, "big", &upstream, json!({})).await;
    let expected = support::data::sha256_hex(11, SIZE);
    let client = reqwest::Client::new();
    let url = server.url("/api/v1/remote/big/big.bin");
    let downloads = (0..50).map(|_| {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move {
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            sha256_of(response).await.unwrap()
        })
    });
    for digest in futures::future::join_all(downloads).await {
        assert_eq!(digest.unwrap(), expected);
    }
    assert_eq!(upstream.hits("files/big.bin"), 1, "single flight");
}

#[tokio::test]
async fn stale_on_error_negative_cache_and_breaker() {
    let upstream = FakeUpstream::start().await;
    upstream.put("files/index.txt", FakeFile::Bytes(Bytes::from_static(b"v1")));
    let server = Server::start(&[]).await;
    // index.txt is mutable with a TTL of 0: every request revalidates against the upstream.
    remote(
        &server,
        "idx",
        &upstream,
        json!({"mutable_patterns": [r"\.txt$"], "mutable_ttl": 0}),
    )
    .await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(server.url(&format!("/api/v1/remote/idx/{path}"))).send();

    assert_eq!(get("index.txt").await.unwrap().text().await.unwrap(), "v1");
    upstream.put("files/index.txt", FakeFile::Bytes(Bytes::from_static(b"v2")));
    // The first fetch may still be recording its copy when the next request arrives; that
    // request then shares its result. Once it is done, an expired copy is refetched.
    let mut refreshed = None;
    for _ in 0..50 {
        let r = get("index.txt").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let source = r.headers()["x-artifact-source"].to_str().unwrap().to_string();
        let body = r.text().await.unwrap();
        if body == "v2" {
            refreshed = Some(source);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        refreshed.as_deref(),
        Some("remote"),
        "an expired mutable copy is refetched"
    );

    upstream.set_failing(true);
    // A request may still share the result of the fetch just before; the next ones go upstream,
    // fail, and fall back to the stale copy.
    let mut stale = None;
    for _ in 0..50 {
        let r = get("index.txt").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        if r.headers().get("x-artifact-stale").is_some_and(|v| v == "true") {
            stale = Some(r.text().await.unwrap());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        stale.as_deref(),
        Some("v2"),
        "stale copy served while the upstream fails"
    );
    let no_copy = get("other.txt").await.unwrap();
    assert_eq!(no_copy.status(), StatusCode::BAD_GATEWAY);
    upstream.set_failing(false);

    for _ in 0..3 {
        assert_eq!(get("missing.bin").await.unwrap().status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(upstream.hits("files/missing.bin"), 1, "upstream 404 is remembered");

    upstream.stop().await;
    for attempt in 0..5 {
        let r = get("index.txt").await.unwrap();
        assert_eq!(
            r.headers()["x-artifact-stale"],
            "true",
            "attempt {attempt}: stale copy while the upstream is down"
        );
    }
    let r = get("never.bin").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let message = r.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("circuit breaker"), "{message}");
}

#[tokio::test]
async fn a_body_cut_mid_way_is_not_stored_and_is_fetched_again() {
    const SIZE: u64 = 4 * 1024 * 1024;
    let upstream = FakeUpstream::start().await;
    upstream.put("files/flaky.bin", FakeFile::CutShort { seed: 5, size: SIZE });
    let server = Server::start(&[]).await;
    remote(&server, "flaky", &upstream, json!({})).await;
    let client = reqwest::Client::new();
    let url = server.url("/api/v1/remote/flaky/flaky.bin");
    let first = client.get(&url).send().await.unwrap();
    assert!(
        sha256_of(first).await.is_err(),
        "the client sees an error, not a short success"
    );
    upstream.put("files/flaky.bin", FakeFile::Generated { seed: 5, size: SIZE });
    let mut second = None;
    for _ in 0..50 {
        let r = client.get(&url).send().await.unwrap();
        if r.status() == StatusCode::OK {
            second = Some(r);
            break;
        }
        // The failed fetch may still be releasing its lock.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let second = second.expect("refetched");
    assert_eq!(second.headers()["x-artifact-source"], "remote");
    assert_eq!(sha256_of(second).await.unwrap(), support::data::sha256_hex(5, SIZE));
    assert_eq!(upstream.hits("files/flaky.bin"), 2);
}

#[tokio::test]
async fn access_rules_and_upstream_credentials() {
    let upstream = FakeUpstream::start().await;
    upstream.require_basic("mirror", "s3cr3t-pass");
    upstream.put("files/ok/a.txt", FakeFile::Bytes(Bytes::from_static(b"a")));
    upstream.put("files/ok/secret.txt", FakeFile::Bytes(Bytes::from_static(b"s")));
    upstream.put("files/elsewhere/b.txt", FakeFile::Bytes(Bytes::from_static(b"b")));
    let server = Server::start(&[]).await;
    remote(
        &server,
        "guarded",
        &upstream,
        json!({"patterns": ["^ok/"], "blocklist": ["secret"], "username": "mirror", "password": "s3cr3t-pass"}),
    )
    .await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(server.url(&format!("/api/v1/remote/guarded/{path}"))).send();
    assert_eq!(
        get("ok/a.txt").await.unwrap().text().await.unwrap(),
        "a",
        "credentials sent upstream"
    );
    for denied in ["ok/secret.txt", "elsewhere/b.txt"] {
        let r = get(denied).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{denied}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "ACCESS_DENIED");
    }
    assert_eq!(
        upstream.hits("files/ok/secret.txt") + upstream.hits("files/elsewhere/b.txt"),
        0
    );
    let listed: Value = client
        .get(server.url("/api/v2/repositories/guarded"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["has_password"], true);
    assert!(!listed.to_string().contains("s3cr3t-pass"), "password never returned");
    assert!(!server.log().contains("s3cr3t-pass"), "password never logged");
}

#[tokio::test]
async fn two_replicas_sharing_postgres_s3_and_redis_fetch_once() {
    const SIZE: u64 = 64 * 1024 * 1024;
    let Some(database_url) = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)
    else {
        return;
    };
    let s3 = support::s3::TestS3::start().await;
    let upstream = FakeUpstream::start().await;
    upstream.put("files/shared.bin", FakeFile::Generated { seed: 21, size: SIZE });
    let env = support::shared_backends_env(database_url, &s3, "replicas");
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    // Unique per run: the Redis keys of concurrent test runs must not meet.
    let name = format!("shared-{}", std::process::id());
    remote(&a, &name, &upstream, json!({})).await;
    let expected = support::data::sha256_hex(21, SIZE);
    let client = reqwest::Client::new();
    let downloads = (0..50).map(|i| {
        let url = (if i % 2 == 0 { &a } else { &b }).url(&format!("/api/v1/remote/{name}/shared.bin"));
        let client = client.clone();
        tokio::spawn(async move {
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            sha256_of(response).await.unwrap()
        })
    });
    for digest in futures::future::join_all(downloads).await {
        assert_eq!(digest.unwrap(), expected);
    }
    assert_eq!(upstream.hits("files/shared.bin"), 1, "one fetch across both replicas");
}

#[tokio::test]
async fn a_fetcher_that_disconnects_does_not_abort_the_fetch() {
    const SIZE: u64 = 32 * 1024 * 1024;
    let upstream = FakeUpstream::start().await;
    upstream.put("files/abandoned.bin", FakeFile::Generated { seed: 33, size: SIZE });
    let server = Server::start(&[]).await;
    remote(&server, "abandon", &upstream, json!({})).await;
    let url = server.url("/api/v1/remote/abandon/abandoned.bin");
    let client = reqwest::Client::new();
    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.headers()["x-artifact-source"], "remote");
    let mut body = first.bytes_stream();
    let _ = body.next().await.unwrap().unwrap();
    drop(body);
    // The abandoned fetch goes on; a later request is served the complete stored copy.
    let mut served = None;
    for _ in 0..100 {
        let r = client.get(&url).send().await.unwrap();
        if r.status() == StatusCode::OK && r.headers()["x-artifact-source"] == "cache" {
            served = Some(sha256_of(r).await.unwrap());
            break;
        }
        drop(r);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(served, Some(support::data::sha256_hex(33, SIZE)));
    assert_eq!(upstream.hits("files/abandoned.bin"), 1, "the fetch was not restarted");
}
