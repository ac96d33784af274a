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

    let patch = |name: &str, body: Value| {
        client
            .patch(server.url(&format!("/api/v2/repositories/{name}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    let patched = patch("c-files", json!({"allow_overwrite": false})).await.unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(patched.json::<Value>().await.unwrap()["allow_overwrite"], false);
    let bad_patch = patch("c-files", json!({"package": "maven"})).await.unwrap();
    assert_eq!(bad_patch.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad_patch.json::<Value>().await.unwrap()["field"], "package");
    let unknown_field = patch("c-files", json!({"colour": "red"})).await.unwrap();
    assert_eq!(unknown_field.status(), StatusCode::BAD_REQUEST);

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

#[tokio::test]
async fn objects_browse_evict_and_flush() {
    use bytes::Bytes;
    use support::upstream::{FakeFile, FakeUpstream};
    let upstream = FakeUpstream::start().await;
    upstream.put("up/index.txt", FakeFile::Bytes(Bytes::from_static(b"index")));
    upstream.put("up/a.bin", FakeFile::Bytes(Bytes::from_static(b"aaaa")));
    let server = Server::start(&[]).await;
    let client = reqwest::Client::new();
    let create = |body: Value| {
        client
            .post(server.url("/api/v2/repositories"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    assert_eq!(
        create(json!({"name": "files", "kind": "local", "package": "generic"}))
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let remote = json!({"name": "up", "kind": "remote", "package": "generic", "base_url": format!("{}/up", upstream.base),
        "mutable_patterns": [r"\.txt$"]});
    assert_eq!(create(remote).await.unwrap().status(), StatusCode::CREATED);
    for path in ["docs/one.txt", "docs/two.txt", "other.txt"] {
        let r = client
            .put(server.url(&format!("/api/v1/local/files/{path}")))
            .bearer_auth(ADMIN_TOKEN)
            .body(path)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let objects = |repo: &str, query: &str| {
        client
            .get(server.url(&format!("/api/v2/repositories/{repo}/objects{query}")))
            .send()
    };
    let paths = |v: Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| o["path"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let page = objects("files", "?prefix=docs/&limit=1").await.unwrap();
    let cursor = page.headers()["x-next-cursor"].to_str().unwrap().to_string();
    assert_eq!(paths(page.json().await.unwrap()), ["docs/one.txt"]);
    let page = objects("files", &format!("?prefix=docs/&limit=1&cursor={cursor}"))
        .await
        .unwrap();
    assert_eq!(paths(page.json().await.unwrap()), ["docs/two.txt"]);
    let evict = |repo: &str, path: &str| {
        client
            .delete(server.url(&format!("/api/v2/repositories/{repo}/objects?path={path}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
    };
    assert_eq!(evict("files", "other.txt").await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        client
            .get(server.url("/api/v1/local/files/other.txt"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        evict("files", "other.txt").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client
            .delete(server.url("/api/v2/repositories/files/objects?path=x"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    for path in ["index.txt", "a.bin"] {
        assert_eq!(
            client
                .get(server.url(&format!("/api/v1/remote/up/{path}")))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    // A streamed fetch records its copy just after the client has the last byte.
    let mut cached = Value::Null;
    for _ in 0..50 {
        cached = objects("up", "").await.unwrap().json().await.unwrap();
        if cached.as_array().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let classes: Vec<(String, String)> = cached
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["path"].as_str().unwrap().into(), o["class"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        classes,
        [
            ("a.bin".into(), "immutable".into()),
            ("index.txt".into(), "mutable".into())
        ]
    );
    let flushed = client
        .delete(server.url("/api/v2/repositories/up/cache?scope=mutable"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(flushed.json::<Value>().await.unwrap()["removed"], 1);
    assert_eq!(paths(objects("up", "").await.unwrap().json().await.unwrap()), ["a.bin"]);
    let refetched = client
        .get(server.url("/api/v1/remote/up/index.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(refetched.headers()["x-artifact-source"], "remote");
    assert_eq!(upstream.hits("up/index.txt"), 2);
    let not_remote = client
        .delete(server.url("/api/v2/repositories/files/cache"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(not_remote.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn probe_reaches_the_upstream_and_caches_nothing() {
    use bytes::Bytes;
    use support::upstream::{FakeFile, FakeUpstream};
    let upstream = FakeUpstream::start().await;
    upstream.put("up/a.bin", FakeFile::Bytes(Bytes::from_static(b"aaaa")));
    let server = Server::start(&[]).await;
    let client = reqwest::Client::new();
    let remote = json!({"name": "up", "kind": "remote", "package": "generic", "base_url": format!("{}/up", upstream.base),
        "blocklist": ["secret"]});
    let created = client
        .post(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&remote)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let probe = |body: Value, token: Option<&str>| {
        let mut r = client.post(server.url("/api/v2/probe")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let ok = probe(json!({"repository": "up", "path": "a.bin"}), Some(ADMIN_TOKEN))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let ok: Value = ok.json().await.unwrap();
    assert_eq!(ok["status"], 200);
    assert_eq!(ok["headers"]["content-length"], "4");
    assert_eq!(ok["url"], format!("{}/up/a.bin", upstream.base));
    let listed: Value = client
        .get(server.url("/api/v2/repositories/up/objects"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]), "a probe caches nothing");
    let missing: Value = probe(json!({"repository": "up", "path": "nope"}), Some(ADMIN_TOKEN))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(missing["status"], 404);
    assert_eq!(
        probe(json!({"repository": "up", "path": "secret.bin"}), Some(ADMIN_TOKEN))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        probe(json!({"repository": "nope", "path": "a"}), Some(ADMIN_TOKEN))
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        probe(json!({"repository": "up", "path": "../x"}), Some(ADMIN_TOKEN))
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        probe(json!({"repository": "up", "path": "a.bin"}), None)
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    upstream.stop().await;
    let down: Value = probe(json!({"repository": "up", "path": "a.bin"}), Some(ADMIN_TOKEN))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(down["status"].is_null() && down["error"].is_string(), "{down}");
}
