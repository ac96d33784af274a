//! End to end: management API guards: a repository's kind and package cannot change under its
//! data, and `/metrics` labels only repositories that exist.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

async fn error_code(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or_else(|e| panic!("{status}: not JSON: {e}"));
    (status, body["code"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn kind_and_package_are_fixed_while_a_repository_holds_data() {
    let upstream = FakeUpstream::start().await;
    upstream.put("up/a.bin", FakeFile::Bytes(Bytes::from_static(b"cached")));
    let server = Server::start(&[]).await;
    let client = Client::new();
    for body in [
        json!({"name": "files", "kind": "local", "package": "generic"}),
        json!({"name": "empty", "kind": "local", "package": "generic"}),
        json!({"name": "up", "kind": "remote", "package": "generic", "base_url": format!("{}/up", upstream.base)}),
    ] {
        server.create_repository(body).await;
    }
    let put = client
        .put(server.url("/api/v1/local/files/kept.txt"))
        .bearer_auth(ADMIN_TOKEN)
        .body("kept")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    let fetched = client.get(server.url("/api/v1/remote/up/a.bin")).send().await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"cached");
    // A second read waits for the first fetch to be recorded, then comes from the cache.
    let again = client.get(server.url("/api/v1/remote/up/a.bin")).send().await.unwrap();
    assert_eq!(again.headers()["x-artifact-source"], "cache");

    let replace = |name: &str, body: Value| {
        client
            .put(server.url(&format!("/api/v2/repositories/{name}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    let patch = |name: &str, body: Value| {
        client
            .patch(server.url(&format!("/api/v2/repositories/{name}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    let refused = [
        replace("files", json!({"name": "files", "kind": "local", "package": "npm"}))
            .await
            .unwrap(),
        patch("files", json!({"package": "docker"})).await.unwrap(),
        patch(
            "files",
            json!({"kind": "remote", "base_url": format!("{}/up", upstream.base)}),
        )
        .await
        .unwrap(),
        patch("up", json!({"package": "pypi"})).await.unwrap(),
    ];
    for (i, r) in refused.into_iter().enumerate() {
        assert_eq!(
            error_code(r).await,
            (StatusCode::CONFLICT, "REPOSITORY_NOT_EMPTY".to_string()),
            "change {i}"
        );
    }
    // Other fields still change, and the data is still there.
    let r = patch("files", json!({"allow_overwrite": true})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let kept = client
        .get(server.url("/api/v1/local/files/kept.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(kept.text().await.unwrap(), "kept");
    let cached = client.get(server.url("/api/v1/remote/up/a.bin")).send().await.unwrap();
    assert_eq!(cached.headers()["x-artifact-source"], "cache");

    // An empty repository may become anything.
    let r = patch("empty", json!({"package": "npm"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // A flushed remote holds nothing any more.
    let flushed = client
        .delete(server.url("/api/v2/repositories/up/cache?scope=all"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(flushed.status(), StatusCode::OK);
    let r = patch("up", json!({"package": "pypi"})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_label_only_repositories_that_exist() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "files", "kind": "local", "package": "generic"}))
        .await;
    let client = Client::new();
    assert_eq!(
        client
            .get(server.url("/api/v1/local/files/missing"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    for i in 0..20 {
        for kind in ["local", "remote", "virtual", "nokind"] {
            let r = client
                .get(server.url(&format!("/api/v1/{kind}/probe-{i}/x")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
        }
    }
    let text = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("probe-"), "unknown names never become series:\n{text}");
    assert!(text.contains(r#"repository="files""#), "{text}");
    let unknown = text
        .lines()
        .find(|l| l.starts_with("artifactapi_http_requests_total") && l.contains(r#"repository="_unknown""#))
        .unwrap_or_else(|| panic!("no _unknown series:\n{text}"));
    assert!(unknown.ends_with(" 80"), "{unknown}");
}
