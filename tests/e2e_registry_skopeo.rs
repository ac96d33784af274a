//! End to end with skopeo (installed by `scripts/test.sh`): images built from scratch on disk are
//! pushed to a local docker repository, pulled back byte for byte, copied between repositories,
//! and read through a virtual repository; login and anonymous rules as docker clients see them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::{Value, json};
use std::process::Command;
use support::oci;
use support::server::{ADMIN_TOKEN, Server};
use support::skopeo::{args, creds, inspect_raw, pull, push, skopeo, skopeo_available};

/// A server with a local docker repository `containers`, or `None` when skopeo is missing
/// (outside `scripts/test.sh`).
async fn server_with_skopeo() -> Option<Server> {
    support::backend_or_skip("skopeo", skopeo_available().then_some(()))?;
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "containers", "kind": "local", "package": "docker"}))
        .await;
    Some(server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_pushes_and_pulls_single_and_multi_arch_images() {
    let Some(server) = server_with_skopeo().await else {
        return;
    };
    server
        .create_repository(json!({"name": "mirror", "kind": "local", "package": "docker"}))
        .await;
    server
        .create_repository(
            json!({"name": "all", "kind": "virtual", "package": "docker", "members": ["mirror", "containers"]}),
        )
        .await;
    let work = tempfile::tempdir().unwrap();
    let host = &server.addr;

    // Single arch: push, pull back byte for byte.
    let (single, manifest_digest) = oci::single_arch(work.path(), "v1", b"hello from a layer\n");
    push(&single, "v1", &format!("docker://{host}/containers/team/app:v1"), false).await;
    let back = work.path().join("back-single");
    pull(&format!("docker://{host}/containers/team/app:v1"), &back, false).await;
    assert_eq!(
        oci::blob_names(&back),
        oci::blob_names(&single),
        "pulled blobs differ from pushed ones"
    );
    assert!(oci::blob_names(&back).contains(&manifest_digest.trim_start_matches("sha256:").to_string()));

    // Multi arch: the index and both platform manifests, pulled by tag and by index digest.
    let (multi, index_digest, children) = oci::multi_arch(work.path(), "v2");
    push(&multi, "v2", &format!("docker://{host}/containers/team/app:v2"), true).await;
    let raw = inspect_raw(&format!("docker://{host}/containers/team/app:v2")).await;
    assert_eq!(raw["mediaType"], oci::OCI_INDEX);
    let listed: Vec<&str> = raw["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert_eq!(listed, children.iter().map(String::as_str).collect::<Vec<_>>());
    let back_multi = work.path().join("back-multi");
    pull(
        &format!("docker://{host}/containers/team/app@{index_digest}"),
        &back_multi,
        true,
    )
    .await;
    for child in &children {
        assert!(oci::blob_names(&back_multi).contains(&child.trim_start_matches("sha256:").to_string()));
    }

    // Registry to registry (skopeo mounts blobs across repositories), then read through the virtual.
    let (ok, err) = skopeo(args(&[
        "copy",
        "--all",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds(),
        &format!("docker://{host}/containers/team/app:v2"),
        &format!("docker://{host}/mirror/app:copied"),
    ]))
    .await;
    assert!(ok, "{err}");
    let copied = inspect_raw(&format!("docker://{host}/all/app:copied")).await;
    assert_eq!(copied["manifests"], raw["manifests"]);
    let via_virtual = inspect_raw(&format!("docker://{host}/all/team/app:v1")).await;
    assert_eq!(via_virtual["mediaType"], oci::OCI_MANIFEST);

    // Tags as skopeo lists them.
    let out = tokio::task::spawn_blocking({
        let src = format!("docker://{host}/containers/team/app");
        move || {
            Command::new("skopeo")
                .args(["list-tags", "--tls-verify=false", &src])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let tags: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tags["Tags"], json!(["v1", "v2"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_login_and_anonymous_rules() {
    let Some(server) = server_with_skopeo().await else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let authfile = work.path().join("auth.json").display().to_string();
    let host = server.addr.clone();
    let login = |password: &str| {
        args(&[
            "login",
            "--tls-verify=false",
            "--authfile",
            &authfile,
            "-u",
            "ci",
            "-p",
            password,
            &host,
        ])
    };
    let (ok, err) = skopeo(login("not-a-token")).await;
    assert!(!ok && err.contains("invalid username/password"), "{err}");
    let (ok, err) = skopeo(login(ADMIN_TOKEN)).await;
    assert!(ok, "{err}");

    // Anonymous push is refused; after login (auth file) it works; anonymous pull works.
    let (single, _) = oci::single_arch(work.path(), "v1", b"login test\n");
    let dest = format!("docker://{host}/containers/app:v1");
    let src = format!("oci:{}:v1", single.display());
    let (ok, err) = skopeo(args(&["copy", "--dest-tls-verify=false", &src, &dest])).await;
    assert!(!ok, "anonymous push succeeded");
    assert!(
        err.to_lowercase().contains("unauthorized") || err.contains("authentication required"),
        "{err}"
    );
    let (ok, err) = skopeo(args(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-authfile",
        &authfile,
        &src,
        &dest,
    ]))
    .await;
    assert!(ok, "{err}");
    let raw = inspect_raw(&dest).await;
    assert_eq!(raw["mediaType"], oci::OCI_MANIFEST);
}
