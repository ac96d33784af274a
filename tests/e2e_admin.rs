//! End to end: repository management beyond create/get: filtered and paginated listing,
//! replacement, config-managed takeover, and deletion of virtual members.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::{ADMIN_TOKEN, Server};

#[tokio::test]
async fn list_replace_take_over_and_delete_members() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("artifactapi.toml");
    std::fs::write(
        &file,
        "[[repository]]\nname = \"managed\"\nkind = \"local\"\npackage = \"generic\"\n",
    )
    .unwrap();
    let server = Server::start_with(&[], &["--config", file.to_str().unwrap()]).await;
    let client = reqwest::Client::new();
    let create = |body: Value| {
        client
            .post(server.url("/api/v2/repositories"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    for (name, kind, package) in [
        ("a-files", "local", "generic"),
        ("b-npm", "local", "npm"),
        ("c-files", "local", "generic"),
    ] {
        assert_eq!(
            create(json!({"name": name, "kind": kind, "package": package}))
                .await
                .unwrap()
                .status(),
            StatusCode::CREATED
        );
    }
    assert_eq!(
        create(json!({"name": "group", "kind": "virtual", "package": "generic", "members": ["a-files", "c-files"]}))
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );

    let list = |query: &str| client.get(server.url(&format!("/api/v2/repositories{query}"))).send();
    let names = |v: Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let locals = list("?kind=local&package=generic")
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(names(locals), ["a-files", "c-files", "managed"]);
    let first = list("?limit=2").await.unwrap();
    let cursor = first.headers()["x-next-cursor"].to_str().unwrap().to_string();
    assert_eq!(names(first.json().await.unwrap()), ["a-files", "b-npm"]);
    let rest = list(&format!("?limit=2&cursor={cursor}")).await.unwrap();
    assert_eq!(names(rest.json().await.unwrap()), ["c-files", "group"]);
    let bad = list("?kind=mirror").await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.json::<Value>().await.unwrap()["field"], "kind");

    let put = |name: &str, body: Value, query: &str| {
        client
            .put(server.url(&format!("/api/v2/repositories/{name}{query}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    let replaced = put(
        "c-files",
        json!({"name": "c-files", "kind": "local", "package": "generic", "allow_overwrite": true}),
        "",
    )
    .await
    .unwrap();
    assert_eq!(replaced.status(), StatusCode::OK);
    assert_eq!(replaced.json::<Value>().await.unwrap()["allow_overwrite"], true);
    let mismatch = put(
        "c-files",
        json!({"name": "other", "kind": "local", "package": "generic"}),
        "",
    )
    .await
    .unwrap();
    assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
    let missing = put(
        "nope",
        json!({"name": "nope", "kind": "local", "package": "generic"}),
        "",
    )
    .await
    .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let cycle = put(
        "group",
        json!({"name": "group", "kind": "virtual", "package": "generic", "members": ["group"]}),
        "",
    )
    .await
    .unwrap();
    assert_eq!(cycle.status(), StatusCode::BAD_REQUEST);
    let managed = json!({"name": "managed", "kind": "local", "package": "generic", "allow_overwrite": true});
    assert_eq!(
        put("managed", managed.clone(), "").await.unwrap().status(),
        StatusCode::CONFLICT
    );
    let taken = put("managed", managed, "?take_over=true").await.unwrap();
    assert_eq!(taken.status(), StatusCode::OK);
    assert_eq!(taken.json::<Value>().await.unwrap()["managed_by"], "api");

    let delete = |name: &str, query: &str| {
        client
            .delete(server.url(&format!("/api/v2/repositories/{name}{query}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
    };
    let in_use = delete("a-files", "").await.unwrap();
    assert_eq!(in_use.status(), StatusCode::CONFLICT);
    assert_eq!(in_use.json::<Value>().await.unwrap()["code"], "REPOSITORY_IN_USE");
    assert_eq!(
        delete("a-files", "?force=true").await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let group: Value = client
        .get(server.url("/api/v2/repositories/group"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        group["members"],
        json!(["c-files"]),
        "removed from the virtual repository"
    );
}
