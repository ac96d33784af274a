//! End to end: management API guards: a repository's kind and package cannot change under its
//! data, list cursors are checked, and `/metrics` labels only repositories that exist.
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
async fn a_cursor_the_server_did_not_hand_out_is_a_bad_request() {
    let server = Server::start(&[]).await;
    let client = Client::new();
    for name in ["a", "b", "c"] {
        server
            .create_repository(json!({"name": name, "kind": "local", "package": "generic"}))
            .await;
    }
    for path in ["x/1", "x/2", "x/3"] {
        let r = client
            .put(server.url(&format!("/api/v1/local/a/{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let get = |path: &str, query: Vec<(&str, String)>| {
        client
            .get(server.url(path))
            .query(&query)
            .bearer_auth(ADMIN_TOKEN)
            .send()
    };
    // Cursors handed out work.
    let first = get("/api/v2/repositories", vec![("limit", "2".into())]).await.unwrap();
    let cursor = first.headers()["x-next-cursor"].to_str().unwrap().to_string();
    let rest: Value = get("/api/v2/repositories", vec![("cursor", cursor.clone())])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest[0]["name"], "c");
    let objects = "/api/v2/repositories/a/objects";
    let first = get(objects, vec![("limit", "2".into()), ("prefix", "x/".into())])
        .await
        .unwrap();
    let object_cursor = first.headers()["x-next-cursor"].to_str().unwrap().to_string();
    let rest: Value = get(
        objects,
        vec![("prefix", "x/".into()), ("cursor", object_cursor.clone())],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(rest[0]["path"], "x/3");

    // Anything else is refused rather than ignored or answered with an empty page.
    for bad in ["", "zzz", "%%%", "not a cursor", "b"] {
        let r = get("/api/v2/repositories", vec![("cursor", bad.into())]).await.unwrap();
        assert_eq!(
            error_code(r).await,
            (StatusCode::BAD_REQUEST, "INVALID_PARAMETER".to_string()),
            "repositories cursor {bad:?}"
        );
        let r = get(objects, vec![("cursor", bad.into())]).await.unwrap();
        assert_eq!(
            error_code(r).await,
            (StatusCode::BAD_REQUEST, "INVALID_PARAMETER".to_string()),
            "objects cursor {bad:?}"
        );
    }
    // A cursor from one listing does not fit another.
    let r = get(objects, vec![("prefix", "y/".into()), ("cursor", object_cursor)])
        .await
        .unwrap();
    assert_eq!(error_code(r).await.0, StatusCode::BAD_REQUEST);
    let r = get(objects, vec![("cursor", cursor)]).await.unwrap();
    assert_eq!(error_code(r).await.0, StatusCode::BAD_REQUEST);
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
