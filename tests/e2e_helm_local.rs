//! End to end: a hosted Helm repository. Charts arrive by `PUT` and by ChartMuseum's `POST
//! api/charts`; `index.yaml` (rendered from the records) is followed as Helm follows it, every URL
//! downloaded and checked against its digest; re-upload 409, ETag/304, delete through
//! `DELETE api/charts/{name}/{version}`. Bad uploads (garbage, truncated, wrong name or version,
//! non-SemVer, zip-slip member, oversized Chart.yaml, anonymous) are 4xx and leave the index as
//! it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::json;
use support::helm::{chart, follow_index, multipart, tgz};
use support::server::{ADMIN_TOKEN, Server};

async fn put(server: &Server, path: &str, body: Vec<u8>, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .put(server.url(&format!("/api/v1/local/charts/{path}")))
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn post(server: &Server, repo_path: &str, field: &str, data: &[u8]) -> reqwest::Response {
    let (content_type, body) = multipart(field, "upload.tgz", data);
    reqwest::Client::new()
        .post(server.url(&format!("{repo_path}api/charts")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn index_text(server: &Server) -> String {
    server
        .get("/api/v1/local/charts/index.yaml")
        .await
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_charts_upload_index_follow_and_delete() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "charts", "kind": "local", "package": "helm"}))
        .await;
    let repo_url = server.url("/api/v1/local/charts/");

    let (empty, fetched) = follow_index(&repo_url, None).await;
    assert!(fetched.is_empty(), "{empty}");

    let demo_1 = chart("demo", "1.0.0", "appVersion: \"2.4\"\n");
    let demo_2 = chart("demo", "1.1.0-rc.1", "");
    let web = chart(
        "web",
        "0.3.0",
        "dependencies:\n- name: demo\n  version: ^1.0.0\n  repository: \"@local\"\n",
    );
    let created = put(&server, "demo-1.0.0.tgz", demo_1.clone(), Some(ADMIN_TOKEN)).await;
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.unwrap();
    assert_eq!(created["path"], "charts/demo-1.0.0.tgz");
    assert_eq!(
        put(&server, "charts/demo-1.1.0-rc.1.tgz", demo_2.clone(), Some(ADMIN_TOKEN))
            .await
            .status(),
        201
    );
    let pushed = post(&server, "/api/v1/local/charts/", "chart", &web).await;
    assert_eq!(pushed.status(), 201);
    assert_eq!(pushed.json::<serde_json::Value>().await.unwrap()["saved"], true);

    let (text, fetched) = follow_index(&repo_url, None).await;
    let listed: Vec<(&str, &str)> = fetched.iter().map(|f| (f.name.as_str(), f.version.as_str())).collect();
    assert_eq!(listed, [("demo", "1.1.0-rc.1"), ("demo", "1.0.0"), ("web", "0.3.0")]);
    let index: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(index["entries"]["demo"][1]["appVersion"], "2.4");
    assert_eq!(index["entries"]["web"][0]["dependencies"][0]["name"], "demo");
    assert_eq!(index["entries"]["demo"][1]["urls"][0], "charts/demo-1.0.0.tgz");
    for (_, versions) in index["entries"].as_mapping().unwrap() {
        for entry in versions.as_sequence().unwrap() {
            assert!(
                entry["created"].is_string() && entry["digest"].as_str().unwrap().len() == 64,
                "{text}"
            );
        }
    }

    // ETag: the same records, the same index; a new upload, a new one.
    let first = server.get("/api/v1/local/charts/index.yaml").await;
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let revalidated = reqwest::Client::new()
        .get(format!("{repo_url}index.yaml"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);
    let chart_response = server.get("/api/v1/local/charts/charts/demo-1.0.0.tgz").await;
    assert_eq!(chart_response.headers()["content-type"], "application/gzip");
    assert!(chart_response.headers().contains_key("etag"));

    // Re-uploads of a version are conflicts, by PUT and by POST; the index does not change.
    let again = put(&server, "demo-1.0.0.tgz", demo_1.clone(), Some(ADMIN_TOKEN)).await;
    assert_eq!(again.status(), 409);
    assert_eq!(
        post(&server, "/api/v1/local/charts/", "chart", &demo_2).await.status(),
        409
    );
    assert_eq!(index_text(&server).await, text);

    // Bad input: 4xx with a JSON error, nothing stored, the index unchanged.
    let truncated = demo_1[..demo_1.len() / 2].to_vec();
    let big = format!(
        "apiVersion: v2\nname: big\nversion: 1.0.0\ndescription: {}\n",
        "x".repeat(1 << 20)
    );
    let bad: Vec<(&str, Vec<u8>, Option<&str>, u16)> = vec![
        (
            "garbage-1.0.0.tgz",
            b"this is not a chart".to_vec(),
            Some(ADMIN_TOKEN),
            400,
        ),
        ("demo-1.2.0.tgz", truncated, Some(ADMIN_TOKEN), 400),
        ("demo-1.2.0.tgz", chart("demo", "1.3.0", ""), Some(ADMIN_TOKEN), 400),
        ("other-1.2.0.tgz", chart("demo", "1.2.0", ""), Some(ADMIN_TOKEN), 400),
        ("demo-1.2.tgz", chart("demo", "1.2", ""), Some(ADMIN_TOKEN), 400),
        (
            "slip-1.0.0.tgz",
            tgz(&[
                ("slip/Chart.yaml", b"apiVersion: v2\nname: slip\nversion: 1.0.0\n"),
                ("slip/../../../etc/cron.d/x", b"boom"),
            ]),
            Some(ADMIN_TOKEN),
            400,
        ),
        (
            "big-1.0.0.tgz",
            tgz(&[("big/Chart.yaml", big.as_bytes())]),
            Some(ADMIN_TOKEN),
            400,
        ),
        ("demo-1.2.0.zip", chart("demo", "1.2.0", ""), Some(ADMIN_TOKEN), 400),
        ("demo-1.2.0.tgz", chart("demo", "1.2.0", ""), None, 401),
    ];
    for (path, body, token, status) in bad {
        let response = put(&server, path, body, token).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert!(
            error["code"].is_string() && error["message"].is_string(),
            "{path}: {error}"
        );
    }
    assert_eq!(
        post(&server, "/api/v1/local/charts/", "chart", b"garbage")
            .await
            .status(),
        400
    );
    assert_eq!(
        post(&server, "/api/v1/local/charts/", "not-chart", &chart("x", "1.0.0", ""))
            .await
            .status(),
        400
    );
    assert_eq!(index_text(&server).await, text, "nothing stored");

    // ChartMuseum delete: the version leaves the index and its file goes.
    let client = reqwest::Client::new();
    let deleted = client
        .delete(format!("{repo_url}api/charts/demo/1.0.0"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(deleted.json::<serde_json::Value>().await.unwrap()["deleted"], true);
    let missing = client
        .delete(format!("{repo_url}api/charts/demo/1.0.0"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let (_, fetched) = follow_index(&repo_url, None).await;
    let listed: Vec<&str> = fetched.iter().map(|f| f.version.as_str()).collect();
    assert_eq!(listed, ["1.1.0-rc.1", "0.3.0"]);
    assert_eq!(
        server.get("/api/v1/local/charts/charts/demo-1.0.0.tgz").await.status(),
        404
    );
    // Deleted, the version can be uploaded again.
    assert_eq!(
        put(&server, "demo-1.0.0.tgz", demo_1, Some(ADMIN_TOKEN)).await.status(),
        201
    );
    // A DELETE of the chart's own path removes it from the index too.
    let deleted = client
        .delete(format!("{repo_url}charts/demo-1.0.0.tgz"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let (_, fetched) = follow_index(&repo_url, None).await;
    assert!(fetched.iter().all(|f| f.version != "1.0.0"), "{fetched:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_replaces_a_chart_when_the_repository_allows_it() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "charts", "kind": "local", "package": "helm", "allow_overwrite": true}))
        .await;
    let repo_url = server.url("/api/v1/local/charts/");
    assert_eq!(
        put(&server, "demo-1.0.0.tgz", chart("demo", "1.0.0", ""), Some(ADMIN_TOKEN))
            .await
            .status(),
        201
    );
    let replacement = chart("demo", "1.0.0", "appVersion: \"9\"\n");
    assert_eq!(
        post(&server, "/api/v1/local/charts/", "chart", &replacement)
            .await
            .status(),
        201
    );
    let (text, fetched) = follow_index(&repo_url, None).await;
    assert_eq!(fetched.len(), 1, "{text}");
    assert_eq!(
        fetched[0].sha256,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&replacement))
    );
}
