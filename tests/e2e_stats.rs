//! End to end: `/api/v2/stats` and `/api/v2/repositories/{name}/stats` count what repositories
//! hold and how their caches were used, and show each caller only what it may read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

async fn get(client: &Client, server: &Server, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = client.get(server.url(path));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let r = request.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn stats_count_objects_bytes_hits_and_misses() {
    let upstream = FakeUpstream::start().await;
    upstream.put("files/tool.bin", FakeFile::Bytes(Bytes::from_static(b"0123456789")));
    let server = Server::start(&[("ARTIFACTAPI_ANONYMOUS_READ", "false".to_string())]).await;
    server
        .create_repository(json!({"name": "team-files", "kind": "local", "package": "generic"}))
        .await;
    server
        .create_repository(json!({"name": "mirror", "kind": "remote", "package": "generic",
            "base_url": format!("{}/files", upstream.base)}))
        .await;
    let client = Client::new();
    for (path, body) in [("a.txt", "hello"), ("b/c.txt", "world!!")] {
        let r = client
            .put(server.url(&format!("/api/v1/local/team-files/{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let fetch = || async {
        let r = client
            .get(server.url("/api/v1/remote/mirror/tool.bin"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.bytes().await.unwrap().as_ref(), b"0123456789");
    };
    fetch().await;
    // The client can have every byte before the copy is recorded; wait for it, then hit it.
    for _ in 0..100 {
        let (_, m) = get(&client, &server, "/api/v2/repositories/mirror/stats", Some(ADMIN_TOKEN)).await;
        if m["objects"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    fetch().await;
    assert_eq!(upstream.hits("files/tool.bin"), 1);

    let (status, all) = get(&client, &server, "/api/v2/stats", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["counters_scope"], "replica");
    assert_eq!(all["total"]["objects"], 3);
    assert_eq!(all["total"]["bytes"], 5 + 7 + 10);
    let (_, files) = get(
        &client,
        &server,
        "/api/v2/repositories/team-files/stats",
        Some(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(
        (files["objects"].clone(), files["bytes"].clone()),
        (json!(2), json!(12))
    );
    let (_, mirror) = get(&client, &server, "/api/v2/repositories/mirror/stats", Some(ADMIN_TOKEN)).await;
    assert_eq!(mirror["objects"], 1);
    assert_eq!(mirror["misses"], 1);
    assert_eq!(mirror["hits"], 1);
    assert_eq!(mirror["fetched_bytes"], 10);

    let (status, body) = get(&client, &server, "/api/v2/repositories/nope/stats", Some(ADMIN_TOKEN)).await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::NOT_FOUND, json!("REPOSITORY_NOT_FOUND"))
    );
    assert_eq!(
        get(&client, &server, "/api/v2/stats", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // A token limited to `team-*` sees only those repositories.
    let reader = server
        .create_token(json!({"name": "team", "scopes": ["read"], "repositories": ["team-*"]}))
        .await;
    let (_, scoped) = get(&client, &server, "/api/v2/stats", Some(&reader)).await;
    let names: Vec<&str> = scoped["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["team-files"]);
    assert_eq!(scoped["total"]["objects"], 2);
    let (status, _) = get(&client, &server, "/api/v2/repositories/mirror/stats", Some(&reader)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Stored bytes count each content once per repository, and once in the total however many
/// repositories hold it; a caller limited to some repositories gets the total of those only.
#[tokio::test]
async fn stored_bytes_count_shared_contents_once() {
    let upstream = FakeUpstream::start().await;
    upstream.put("files/same.bin", FakeFile::Bytes(Bytes::from_static(b"shared content")));
    let server = Server::start(&[]).await;
    for name in ["team-a", "team-b"] {
        server
            .create_repository(json!({"name": name, "kind": "local", "package": "generic"}))
            .await;
    }
    server
        .create_repository(json!({"name": "mirror", "kind": "remote", "package": "generic",
            "base_url": format!("{}/files", upstream.base)}))
        .await;
    let client = Client::new();
    let put = |repo: &'static str, path: &'static str, body: &'static str| {
        let client = client.clone();
        let url = server.url(&format!("/api/v1/local/{repo}/{path}"));
        async move {
            let r = client
                .put(url)
                .bearer_auth(ADMIN_TOKEN)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
        }
    };
    put("team-a", "one.bin", "shared content").await;
    put("team-a", "copy.bin", "shared content").await;
    put("team-a", "own.txt", "a's own").await;
    put("team-b", "x.bin", "shared content").await;
    let fetched = client
        .get(server.url("/api/v1/remote/mirror/same.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), b"shared content");
    for _ in 0..100 {
        let (_, m) = get(&client, &server, "/api/v2/repositories/mirror/stats", None).await;
        if m["objects"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let shared = "shared content".len() as u64;
    let own = "a's own".len() as u64;

    let (_, a) = get(&client, &server, "/api/v2/repositories/team-a/stats", None).await;
    assert_eq!(
        (a["objects"].as_u64(), a["bytes"].as_u64()),
        (Some(3), Some(2 * shared + own))
    );
    assert_eq!(a["stored_bytes"], shared + own, "two paths, one content: {a}");
    let (_, b) = get(&client, &server, "/api/v2/repositories/team-b/stats", None).await;
    assert_eq!(b["stored_bytes"], shared);
    let (_, m) = get(&client, &server, "/api/v2/repositories/mirror/stats", None).await;
    assert_eq!(m["stored_bytes"], shared);

    let (_, all) = get(&client, &server, "/api/v2/stats", Some(ADMIN_TOKEN)).await;
    assert_eq!(all["total"]["bytes"], 4 * shared + own, "{all}");
    assert_eq!(all["total"]["stored_bytes"], shared + own, "once in the total: {all}");

    let reader = server
        .create_token(json!({"name": "b-only", "scopes": ["read"], "repositories": ["team-b"]}))
        .await;
    let (_, scoped) = get(&client, &server, "/api/v2/stats", Some(&reader)).await;
    assert_eq!(scoped["total"]["stored_bytes"], shared, "{scoped}");
}
