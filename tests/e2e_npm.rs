//! End to end: `npm install` of an unscoped and a scoped package through an npm remote, then
//! again with the upstream stopped (from cache); a tarball whose integrity does not match its
//! packument is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use support::packages::{pack, packument};
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

async fn npm_install(registry: String, project: PathBuf, packages: &[&str]) -> std::process::Output {
    let packages: Vec<String> = packages.iter().map(|p| p.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&project).unwrap();
        Command::new("npm")
            .arg("install")
            .args([
                "--registry",
                &registry,
                "--no-audit",
                "--no-fund",
                "--no-update-notifier",
                "--fetch-retries=0",
            ])
            .arg("--cache")
            .arg(project.join(".npm-cache"))
            .args(&packages)
            .current_dir(&project)
            .env("NPM_CONFIG_USERCONFIG", "/dev/null")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_installs_scoped_and_unscoped_through_the_remote_and_from_cache() {
    let work = tempfile::tempdir().unwrap();
    let left = pack(work.path(), "aa-left", "1.0.0");
    let right = pack(work.path(), "@aascope/right", "1.0.0");
    let bad = pack(work.path(), "aa-bad", "1.0.0");
    let upstream = FakeUpstream::start().await;
    upstream.put(
        "npm/aa-left/-/aa-left-1.0.0.tgz",
        FakeFile::Bytes(Bytes::from(left.clone())),
    );
    upstream.put(
        "npm/@aascope/right/-/right-1.0.0.tgz",
        FakeFile::Bytes(Bytes::from(right.clone())),
    );
    upstream.put("npm/aa-bad/-/aa-bad-1.0.0.tgz", FakeFile::Bytes(Bytes::from(bad)));
    upstream.put(
        "npm/aa-left",
        packument(&upstream, "aa-left", "1.0.0", "npm/aa-left/-/aa-left-1.0.0.tgz", &left),
    );
    let scoped = packument(
        &upstream,
        "@aascope/right",
        "1.0.0",
        "npm/@aascope/right/-/right-1.0.0.tgz",
        &right,
    );
    upstream.put("npm/@aascope%2fright", scoped);
    // The packument promises other bytes than the tarball holds.
    upstream.put(
        "npm/aa-bad",
        packument(
            &upstream,
            "aa-bad",
            "1.0.0",
            "npm/aa-bad/-/aa-bad-1.0.0.tgz",
            b"something else",
        ),
    );

    let server = Server::start(&[]).await;
    let created = reqwest::Client::new()
        .post(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "npm", "kind": "remote", "package": "npm", "base_url": format!("{}/npm", upstream.base)}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let registry = server.url("/api/v1/remote/npm/");

    let served: serde_json::Value = reqwest::get(server.url("/api/v1/remote/npm/@aascope%2fright"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tarball = served["versions"]["1.0.0"]["dist"]["tarball"].as_str().unwrap();
    assert!(
        tarball.starts_with(&registry),
        "tarball goes through the remote: {tarball}"
    );

    let first = npm_install(registry.clone(), work.path().join("p1"), &["aa-left", "@aascope/right"]).await;
    assert!(
        first.status.success(),
        "npm install: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(work.path().join("p1/node_modules/aa-left/index.js").exists());
    assert!(work.path().join("p1/node_modules/@aascope/right/index.js").exists());
    assert_eq!(upstream.hits("npm/aa-left/-/aa-left-1.0.0.tgz"), 1);

    let refused = npm_install(registry.clone(), work.path().join("p2"), &["aa-bad"]).await;
    assert!(
        !refused.status.success(),
        "a tarball that fails its integrity must not install"
    );
    assert!(!work.path().join("p2/node_modules/aa-bad").exists());

    upstream.stop().await;
    let again = npm_install(registry, work.path().join("p3"), &["aa-left", "@aascope/right"]).await;
    assert!(
        again.status.success(),
        "npm install from cache: {}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(work.path().join("p3/node_modules/@aascope/right/index.js").exists());
}
