//! End to end: `go mod download` through a goproxy remote, then again with the upstream stopped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::json;
use std::path::Path;
use std::process::Command;
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

const MODULE: &str = "example.test/aademo";
const GO_MOD: &str = "module example.test/aademo\n\ngo 1.19\n";

/// A module zip as the go command expects it: every file under `<module>@<version>/`.
fn module_zip(dir: &Path) -> Vec<u8> {
    let script = r#"
import sys, zipfile
out, prefix, gomod = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(out, "w") as z:
    z.writestr(prefix + "go.mod", gomod)
    z.writestr(prefix + "demo.go", "package aademo\n\nconst Value = 42\n")
"#;
    let out = dir.join("module.zip");
    let prefix = format!("{MODULE}@v1.0.0/");
    let status = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&out)
        .arg(prefix)
        .arg(GO_MOD)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

async fn go_mod_download(proxy: String, home: std::path::PathBuf) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&home).unwrap();
        Command::new("go")
            .args(["mod", "download", "-json", &format!("{MODULE}@v1.0.0")])
            .current_dir(&home)
            .env("GOPROXY", proxy)
            .env("GOSUMDB", "off")
            .env("GOFLAGS", "-modcacherw")
            .env("GOPATH", home.join("gopath"))
            .env("GOMODCACHE", home.join("modcache"))
            .env("GOCACHE", home.join("gocache"))
            .env("HOME", &home)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_mod_download_through_the_remote_and_from_cache() {
    let go_found = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if support::backend_or_skip("the go command", go_found.then_some(())).is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let zip = module_zip(work.path());
    let upstream = FakeUpstream::start().await;
    let info = json!({"Version": "v1.0.0", "Time": "2026-01-01T00:00:00Z"}).to_string();
    upstream.put(
        &format!("go/{MODULE}/@v/list"),
        FakeFile::Bytes(Bytes::from_static(b"v1.0.0\n")),
    );
    upstream.put(
        &format!("go/{MODULE}/@v/v1.0.0.info"),
        FakeFile::Bytes(Bytes::from(info)),
    );
    upstream.put(
        &format!("go/{MODULE}/@v/v1.0.0.mod"),
        FakeFile::Bytes(Bytes::from_static(GO_MOD.as_bytes())),
    );
    upstream.put(&format!("go/{MODULE}/@v/v1.0.0.zip"), FakeFile::Bytes(Bytes::from(zip)));

    let server = Server::start(&[]).await;
    let created = reqwest::Client::new()
        .post(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .json(
            &json!({"name": "go", "kind": "remote", "package": "goproxy", "base_url": format!("{}/go", upstream.base)}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let proxy = server.url("/api/v1/remote/go");

    let first = go_mod_download(proxy.clone(), work.path().join("first")).await;
    assert!(
        first.status.success(),
        "go mod download: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(report["Version"], "v1.0.0");
    assert!(report["Sum"].as_str().unwrap().starts_with("h1:"), "{report}");
    assert_eq!(upstream.hits(&format!("go/{MODULE}/@v/v1.0.0.zip")), 1);

    upstream.stop().await;
    let second = go_mod_download(proxy, work.path().join("second")).await;
    assert!(
        second.status.success(),
        "go mod download from cache: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    let again: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(again["Sum"], report["Sum"], "same module content from the cache");
}
