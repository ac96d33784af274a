//! End to end with podman and buildah (installed by `scripts/test.sh`): login, push, pull back,
//! and a buildah push, against a local docker repository. Storage is a private vfs root per
//! test, so nothing touches the machine's image store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::json;
use std::path::Path;
use std::process::Command;
use support::oci;
use support::server::{ADMIN_TOKEN, Server};

/// `tool` with a private store under `root`; returns (success, stderr, stdout).
async fn run_out(tool: &str, root: &Path, args: &[&str]) -> (bool, String, String) {
    let mut all = vec![
        "--root".to_string(),
        root.join("store").display().to_string(),
        "--runroot".to_string(),
        root.join("run").display().to_string(),
        "--storage-driver".to_string(),
        "vfs".to_string(),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    let tool = tool.to_string();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(&tool).args(&all).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.success(), text(&out.stderr), text(&out.stdout))
    })
    .await
    .unwrap()
}

async fn run(tool: &str, root: &Path, args: &[&str]) -> (bool, String) {
    let (ok, err, _) = run_out(tool, root, args).await;
    (ok, err)
}

struct Workdir(std::path::PathBuf);

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

async fn tags(server: &Server, image: &str) -> serde_json::Value {
    let url = server.url(&format!("/v2/{image}/tags/list"));
    reqwest::get(url)
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["tags"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn podman_logs_in_pushes_and_pulls_and_buildah_pushes() {
    let tools = available("podman") && available("buildah");
    if support::backend_or_skip("podman and buildah", tools.then_some(())).is_none() {
        return;
    }
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "containers", "kind": "local", "package": "docker"}))
        .await;
    // podman names an image pulled from a layout after its path, and temp dir names are not
    // valid image names; so a lower-case directory, removed at the end.
    let work = Workdir(std::env::temp_dir().join(format!("aa-podman-e2e-{}", std::process::id())));
    std::fs::create_dir_all(&work.0).unwrap();
    let root = work.0.as_path();
    let authfile = root.join("auth.json").display().to_string();
    let host = server.addr.clone();
    let (layout, _) = oci::single_arch(root, "v1", b"podman layer\n");
    let (ok, err, id) = run_out("podman", root, &["pull", "-q", &format!("oci:{}:v1", layout.display())]).await;
    assert!(ok, "{err}");
    let local = "localhost/fixture:v1";
    let (ok, err) = run("podman", root, &["tag", id.trim(), local]).await;
    assert!(ok, "{err}");

    let login = |password: &'static str| {
        let authfile = authfile.clone();
        let host = host.clone();
        async move {
            run(
                "podman",
                root,
                &[
                    "login",
                    "--tls-verify=false",
                    "--authfile",
                    &authfile,
                    "-u",
                    "ci",
                    "-p",
                    password,
                    &host,
                ],
            )
            .await
        }
    };
    let (ok, err) = login("not-a-token").await;
    assert!(!ok, "a wrong password logged in: {err}");
    let (ok, err) = login(ADMIN_TOKEN).await;
    assert!(ok, "{err}");

    let remote = format!("{host}/containers/podman/app:v1");
    let (ok, err) = run("podman", root, &["tag", local, &remote]).await;
    assert!(ok, "{err}");
    let (ok, err) = run(
        "podman",
        root,
        &["push", "--tls-verify=false", "--authfile", &authfile, &remote],
    )
    .await;
    assert!(ok, "{err}");
    let (ok, err) = run("podman", root, &["rmi", &remote]).await;
    assert!(ok, "{err}");
    let (ok, err) = run("podman", root, &["pull", "--tls-verify=false", &remote]).await;
    assert!(ok, "{err}");
    assert_eq!(tags(&server, "containers/podman/app").await, json!(["v1"]));

    let dest = format!("docker://{host}/containers/buildah/app:v1");
    let (ok, err) = run(
        "buildah",
        root,
        &["push", "--tls-verify=false", "--authfile", &authfile, local, &dest],
    )
    .await;
    assert!(ok, "{err}");
    assert_eq!(tags(&server, "containers/buildah/app").await, json!(["v1"]));
}
