//! End to end: `puppet module install` through a puppet remote in front of a fixture Forge (v3
//! API, a module archive the test packs), then again into a fresh directory with the Forge
//! stopped, from cache. puppet is installed by `scripts/test.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use serde_json::json;
use sha2::Digest as _;
use std::path::Path;
use std::process::Command;
use support::server::Server;
use support::upstream::{FakeFile, FakeUpstream};

fn puppet_available() -> bool {
    Command::new("puppet")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `aa-demo-1.0.0.tar.gz`: metadata.json and a class, packed by the system tar.
fn module_archive(dir: &Path) -> Vec<u8> {
    let root = dir.join("src/aa-demo-1.0.0");
    std::fs::create_dir_all(root.join("manifests")).unwrap();
    std::fs::write(root.join("manifests/init.pp"), "class demo {}\n").unwrap();
    let metadata = json!({"name": "aa-demo", "version": "1.0.0", "author": "aa", "summary": "demo",
        "license": "MIT", "source": "none", "dependencies": []});
    std::fs::write(root.join("metadata.json"), metadata.to_string()).unwrap();
    let archive = dir.join("aa-demo-1.0.0.tar.gz");
    let status = Command::new("tar")
        .arg("-C")
        .arg(dir.join("src"))
        .arg("-czf")
        .arg(&archive)
        .arg("aa-demo-1.0.0")
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(archive).unwrap()
}

/// The `/v3/releases?module=aa-demo` answer a Forge gives.
fn releases(archive: &[u8]) -> FakeFile {
    let metadata = json!({"name": "aa-demo", "version": "1.0.0", "author": "aa", "summary": "demo",
        "license": "MIT", "source": "none", "dependencies": []});
    let body = json!({
        "pagination": {"limit": 20, "offset": 0, "first": "/v3/releases?module=aa-demo", "previous": null,
            "current": "/v3/releases?module=aa-demo", "next": null, "total": 1},
        "results": [{
            "uri": "/v3/releases/aa-demo-1.0.0", "slug": "aa-demo-1.0.0", "version": "1.0.0",
            "module": {"uri": "/v3/modules/aa-demo", "slug": "aa-demo", "name": "demo", "deprecated_at": null,
                "owner": {"uri": "/v3/users/aa", "slug": "aa", "username": "aa"}},
            "metadata": metadata,
            "file_uri": "/v3/files/aa-demo-1.0.0.tar.gz",
            "file_size": archive.len(),
            "file_md5": md5_hex(archive),
            "file_sha256": hex::encode(sha2::Sha256::digest(archive)),
            "deleted_at": null
        }]
    });
    FakeFile::Page {
        body: Bytes::from(body.to_string()),
        content_type: "application/json",
    }
}

/// md5 through the system tool (the only place the tests need it).
fn md5_hex(data: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().next().unwrap().to_string()
}

async fn puppet_install(server: &Server, dir: &Path) -> std::process::Output {
    let repository = server.url("/api/v1/remote/forge");
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new("puppet");
        cmd.args(["module", "install", "aa-demo", "--module_repository", &repository]);
        cmd.arg("--target-dir").arg(dir.join("modules"));
        for (flag, sub) in [
            ("--confdir", "conf"),
            ("--vardir", "var"),
            ("--codedir", "code"),
            ("--logdir", "log"),
            ("--rundir", "run"),
        ] {
            cmd.arg(flag).arg(dir.join(sub));
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puppet_installs_a_module_through_the_remote_and_again_from_cache() {
    if support::backend_or_skip("puppet", puppet_available().then_some(())).is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let archive = module_archive(work.path());
    let forge = FakeUpstream::start().await;
    forge.put("forge/v3/releases", releases(&archive));
    forge.put(
        "forge/v3/files/aa-demo-1.0.0.tar.gz",
        FakeFile::Bytes(Bytes::from(archive)),
    );
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "forge", "kind": "remote", "package": "puppet",
            "base_url": format!("{}/forge", forge.base)}))
        .await;

    let first = puppet_install(&server, &work.path().join("first")).await;
    assert!(
        first.status.success(),
        "puppet failed: {}{}",
        String::from_utf8_lossy(&first.stdout),
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(work.path().join("first/modules/demo/manifests/init.pp").exists());
    assert_eq!(forge.hits("forge/v3/files/aa-demo-1.0.0.tar.gz"), 1);

    forge.stop().await;
    let second = puppet_install(&server, &work.path().join("second")).await;
    assert!(
        second.status.success(),
        "puppet from cache failed: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(work.path().join("second/modules/demo/manifests/init.pp").exists());
}
