//! End to end: the Helm repository request sequence (`index.yaml`, then each chart URL resolved
//! against the repository URL) through a helm remote, then again with the upstream stopped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::json;
use sha2::Digest;
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

fn chart_url(repo_url: &str, index: &serde_yaml::Value, name: &str) -> String {
    let raw = index["entries"][name][0]["urls"][0].as_str().unwrap();
    url::Url::parse(repo_url).unwrap().join(raw).unwrap().to_string()
}

#[tokio::test]
async fn helm_index_and_charts_go_through_the_remote() {
    let chart = Bytes::from_static(b"pretend this is a gzipped chart archive");
    let sha = hex::encode(sha2::Sha256::digest(&chart));
    let upstream = FakeUpstream::start().await;
    upstream.put("charts/demo-1.0.0.tgz", FakeFile::Bytes(chart.clone()));
    upstream.put("charts/bad-1.0.0.tgz", FakeFile::Bytes(chart.clone()));
    let index = format!(
        "apiVersion: v1\nentries:\n  demo:\n  - name: demo\n    version: 1.0.0\n    digest: {sha}\n    urls:\n    - demo-1.0.0.tgz\n  bad:\n  - name: bad\n    version: 1.0.0\n    digest: {}\n    urls:\n    - {}/charts/bad-1.0.0.tgz\n",
        "0".repeat(64),
        upstream.base
    );
    upstream.put(
        "charts/index.yaml",
        FakeFile::Page {
            body: Bytes::from(index),
            content_type: "application/x-yaml",
        },
    );
    let server = Server::start(&[]).await;
    let created = reqwest::Client::new()
        .post(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "helm", "kind": "remote", "package": "helm", "base_url": format!("{}/charts", upstream.base)}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let repo_url = server.url("/api/v1/remote/helm/");

    let served = reqwest::get(format!("{repo_url}index.yaml"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!served.contains(&upstream.base), "no direct upstream link: {served}");
    let index: serde_yaml::Value = serde_yaml::from_str(&served).unwrap();
    let demo = chart_url(&repo_url, &index, "demo");
    let got = reqwest::get(&demo).await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap(), chart);
    let bad = reqwest::get(chart_url(&repo_url, &index, "bad")).await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_GATEWAY, "digest mismatch");

    upstream.stop().await;
    let cached_index = reqwest::get(format!("{repo_url}index.yaml")).await.unwrap();
    assert_eq!(cached_index.status(), StatusCode::OK);
    assert_eq!(reqwest::get(&demo).await.unwrap().bytes().await.unwrap(), chart);
}
