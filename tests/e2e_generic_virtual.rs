//! End to end: a virtual generic repository over a remote member (a fake upstream on
//! 127.0.0.1) and a local one, with curl-like requests. A path is served by the first member
//! that has it; a path the local member holds is never fetched from the remote even though the
//! remote comes first (the dependency-confusion guard, per path), until the guard is turned
//! off; HEAD and ranges pass through; a PUT through the virtual lands in the local member.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

async fn put(server: &Server, path: &str, body: &'static str) -> reqwest::Response {
    reqwest::Client::new()
        .put(server.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn member(r: &reqwest::Response) -> String {
    r.headers()["x-artifact-member"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn a_virtual_generic_repository_serves_each_path_from_the_first_member_that_has_it() {
    let upstream = FakeUpstream::start().await;
    upstream.put(
        "up/tools/only-upstream.txt",
        FakeFile::Bytes(Bytes::from_static(b"from upstream\n")),
    );
    upstream.put(
        "up/tools/both.txt",
        FakeFile::Bytes(Bytes::from_static(b"upstream's copy\n")),
    );
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "mirror", "kind": "remote", "package": "generic",
            "base_url": format!("{}/up", upstream.base)}))
        .await;
    server
        .create_repository(json!({"name": "files", "kind": "local", "package": "generic"}))
        .await;
    server
        .create_repository(json!({"name": "all", "kind": "virtual", "package": "generic",
            "members": ["mirror", "files"]}))
        .await;

    // Published through the virtual: it lands in the local member.
    let landed = put(&server, "/api/v1/virtual/all/tools/both.txt", "our copy\n").await;
    assert_eq!(landed.status(), StatusCode::CREATED);
    assert_eq!(landed.json::<Value>().await.unwrap()["repository"], "files");
    assert_eq!(
        put(&server, "/api/v1/local/files/tools/only-local.txt", "local only\n")
            .await
            .status(),
        StatusCode::CREATED
    );

    let get = |path: &str| {
        let url = format!("/api/v1/virtual/all/{path}");
        let server = &server;
        async move { server.get(&url).await }
    };
    let r = get("tools/only-upstream.txt").await;
    assert_eq!((r.status(), member(&r)), (StatusCode::OK, "mirror".to_string()));
    assert_eq!(r.text().await.unwrap(), "from upstream\n");
    let r = get("tools/only-local.txt").await;
    assert_eq!((r.status(), member(&r)), (StatusCode::OK, "files".to_string()));
    assert_eq!(r.text().await.unwrap(), "local only\n");
    // The remote comes first, but the local member holds the path: the upstream is not asked.
    let r = get("tools/both.txt").await;
    assert_eq!(member(&r), "files");
    assert_eq!(r.text().await.unwrap(), "our copy\n");
    assert_eq!(upstream.hits("up/tools/both.txt"), 0);
    let r = get("tools/nowhere.txt").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // HEAD and a range through the virtual.
    let client = reqwest::Client::new();
    let url = server.url("/api/v1/virtual/all/tools/only-local.txt");
    let head = client.head(&url).send().await.unwrap();
    assert_eq!(
        (head.status(), head.headers()["content-length"].to_str().unwrap()),
        (StatusCode::OK, "11")
    );
    let part = client.get(&url).header("range", "bytes=0-4").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.text().await.unwrap(), "local");

    // With the guard off, member order alone decides.
    server
        .patch_repository("all", json!({"dependency_confusion_guard": false}))
        .await;
    let r = get("tools/both.txt").await;
    assert_eq!(member(&r), "mirror");
    assert_eq!(r.text().await.unwrap(), "upstream's copy\n");
    assert_eq!(upstream.hits("up/tools/both.txt"), 1);

    // Deletes go to the member itself.
    let delete = client
        .delete(server.url("/api/v1/virtual/all/tools/only-local.txt"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::METHOD_NOT_ALLOWED);
}
