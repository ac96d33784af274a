//! End to end: a virtual Helm repository over a local member and a remote one (a fake upstream on
//! 127.0.0.1). A ChartMuseum upload to the virtual lands in the local member; `index.yaml` through
//! the virtual merges both members, and following every URL in it (as Helm does) downloads each
//! chart through the virtual, digest-checked, from the member its link names. The
//! dependency-confusion guard keeps the upstream's chart of a name the local member holds out of
//! the index and refuses its link; with the guard off the upstream's other versions are merged in,
//! the local member still winning a version both have.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use serde_json::json;
use sha2::Digest;
use support::helm::{chart, follow_index, multipart};
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

const VIRTUAL: &str = "/api/v1/virtual/helmv/";

fn sha(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_index_merges_members_and_every_url_resolves_through_the_virtual() {
    // The upstream: nginx (only there), and demo 1.0.0 and 9.9.9 (a name the local member owns).
    let nginx = chart("nginx", "2.0.0", "");
    let public_demo = chart("demo", "9.9.9", "");
    let public_demo_1 = chart("demo", "1.0.0", "appVersion: upstream\n");
    let upstream = FakeUpstream::start().await;
    upstream.put("charts/nginx-2.0.0.tgz", FakeFile::Bytes(Bytes::from(nginx.clone())));
    upstream.put(
        "charts/demo-9.9.9.tgz",
        FakeFile::Bytes(Bytes::from(public_demo.clone())),
    );
    upstream.put(
        "charts/demo-1.0.0.tgz",
        FakeFile::Bytes(Bytes::from(public_demo_1.clone())),
    );
    let index = format!(
        "apiVersion: v1\nentries:\n  nginx:\n  - name: nginx\n    version: 2.0.0\n    digest: {}\n    urls:\n    - nginx-2.0.0.tgz\n  demo:\n  - name: demo\n    version: 9.9.9\n    digest: {}\n    urls:\n    - {}/charts/demo-9.9.9.tgz\n  - name: demo\n    version: 1.0.0\n    digest: {}\n    urls:\n    - demo-1.0.0.tgz\ngenerated: \"2026-01-01T00:00:00Z\"\n",
        sha(&nginx),
        sha(&public_demo),
        upstream.base,
        sha(&public_demo_1),
    );
    upstream.put(
        "charts/index.yaml",
        FakeFile::Page {
            body: Bytes::from(index),
            content_type: "application/x-yaml",
        },
    );

    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "helm-local", "kind": "local", "package": "helm"}))
        .await;
    server
        .create_repository(json!({"name": "helm-remote", "kind": "remote", "package": "helm", "base_url": format!("{}/charts", upstream.base)}))
        .await;
    server
        .create_repository(
            json!({"name": "helmv", "kind": "virtual", "package": "helm", "members": ["helm-local", "helm-remote"]}),
        )
        .await;

    // ChartMuseum upload to the virtual lands in the local member.
    let demo = chart("demo", "1.0.0", "appVersion: ours\n");
    let (content_type, body) = multipart("chart", "demo-1.0.0.tgz", &demo);
    let pushed = reqwest::Client::new()
        .post(server.url(&format!("{VIRTUAL}api/charts")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 201);
    let local_index = server
        .get("/api/v1/local/helm-local/index.yaml")
        .await
        .text()
        .await
        .unwrap();
    assert!(local_index.contains("demo-1.0.0.tgz"), "{local_index}");

    // Guard on: demo comes from the local member only; nginx from the remote.
    let repo_url = server.url(VIRTUAL);
    let (text, fetched) = follow_index(&repo_url, None).await;
    let listed: Vec<(&str, &str, &str)> = fetched
        .iter()
        .map(|f| (f.name.as_str(), f.version.as_str(), f.sha256.as_str()))
        .collect();
    let (demo_sha, nginx_sha) = (sha(&demo), sha(&nginx));
    assert_eq!(
        listed,
        [
            ("demo", "1.0.0", demo_sha.as_str()),
            ("nginx", "2.0.0", nginx_sha.as_str())
        ],
        "{text}"
    );
    assert!(!text.contains(&upstream.base), "no direct upstream link: {text}");
    for f in &fetched {
        assert!(f.url.starts_with(&format!("{repo_url}_member/")), "{}", f.url);
    }
    let merged = server.get(&format!("{VIRTUAL}index.yaml")).await;
    assert_eq!(merged.headers()["x-artifact-member"], "helm-local, helm-remote");
    let served = server.get(&fetched[0].url.replace(&server.url(""), "")).await;
    assert_eq!(served.headers()["x-artifact-member"], "helm-local");
    assert_eq!(served.headers()["x-artifact-source"], "local");

    // Guard off: the upstream's 9.9.9 is merged in; the local member still wins 1.0.0.
    let patch = |guard: bool| {
        reqwest::Client::new()
            .patch(server.url("/api/v2/repositories/helmv"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"dependency_confusion_guard": guard}))
            .send()
    };
    assert_eq!(patch(false).await.unwrap().status(), 200);
    let (text, fetched) = follow_index(&repo_url, None).await;
    let listed: Vec<(&str, &str, &str)> = fetched
        .iter()
        .map(|f| (f.name.as_str(), f.version.as_str(), f.sha256.as_str()))
        .collect();
    let public_sha = sha(&public_demo);
    assert_eq!(
        listed,
        [
            ("demo", "9.9.9", public_sha.as_str()),
            ("demo", "1.0.0", demo_sha.as_str()),
            ("nginx", "2.0.0", nginx_sha.as_str())
        ],
        "{text}"
    );
    let remote_link = fetched[0].url.clone();
    assert!(remote_link.contains("_member/helm-remote/demo/"), "{remote_link}");

    // Guard back on: the remote's link for a name the local member holds is refused.
    assert_eq!(patch(true).await.unwrap().status(), 200);
    let refused = reqwest::get(&remote_link).await.unwrap();
    assert_eq!(refused.status(), 404);
    let (_, fetched) = follow_index(&repo_url, None).await;
    assert_eq!(fetched.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_through_a_virtual_need_a_local_member() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "only-remote", "kind": "remote", "package": "helm", "base_url": "http://127.0.0.1:9/charts"}))
        .await;
    server
        .create_repository(json!({"name": "helmv", "kind": "virtual", "package": "helm", "members": ["only-remote"]}))
        .await;
    let (content_type, body) = multipart("chart", "demo-1.0.0.tgz", &chart("demo", "1.0.0", ""));
    let pushed = reqwest::Client::new()
        .post(server.url(&format!("{VIRTUAL}api/charts")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), 405);
    let error: serde_json::Value = pushed.json().await.unwrap();
    assert_eq!(error["code"], "NO_LOCAL_MEMBER");
}
