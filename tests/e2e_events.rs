//! End to end: Server-Sent Events reach subscribers on two replicas sharing PostgreSQL and Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use support::server::{ADMIN_TOKEN, Server};

/// Reads an SSE stream until a `data:` line contains `needle`.
async fn wait_for(response: reqwest::Response, needle: String) -> String {
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(chunk) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if let Some(line) = seen.lines().find(|l| l.starts_with("data:") && l.contains(&needle)) {
                return line.to_string();
            }
        }
        panic!("stream ended: {seen}");
    })
    .await
    .unwrap_or_else(|_| panic!("no event with {needle} in: {seen}"))
}

#[tokio::test]
async fn an_upload_on_one_replica_reaches_subscribers_on_both() {
    let Some(database_url) = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)
    else {
        return;
    };
    let env = [
        ("ARTIFACTAPI_DATABASE_URL", database_url),
        ("ARTIFACTAPI_CACHE_URL", support::test_redis_url()),
        (
            "ARTIFACTAPI_SECRET_KEY",
            "shared-secret-key-for-both-replicas".to_string(),
        ),
    ];
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    let client = reqwest::Client::new();
    let repo = format!("events-{}", std::process::id());
    let created = client
        .post(a.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": repo, "kind": "local", "package": "generic"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(
        client.get(a.url("/api/v2/events")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    let subscribe = |server: &Server| client.get(server.url("/api/v2/events")).bearer_auth(ADMIN_TOKEN).send();
    let on_a = subscribe(&a).await.unwrap();
    let on_b = subscribe(&b).await.unwrap();
    assert_eq!(on_a.headers()["content-type"], "text/event-stream");
    let needle = format!("\"repository\":\"{repo}\"");
    let watch_a = tokio::spawn(wait_for(on_a, needle.clone()));
    let watch_b = tokio::spawn(wait_for(on_b, needle));
    // The handler subscribes before it answers, so both subscriptions are live by now.
    let put = client
        .put(a.url(&format!("/api/v1/local/{repo}/sse.txt")))
        .bearer_auth(ADMIN_TOKEN)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    for line in [watch_a.await.unwrap(), watch_b.await.unwrap()] {
        assert!(
            line.contains("\"kind\":\"upload\"") && line.contains("\"path\":\"sse.txt\""),
            "{line}"
        );
    }
}
