//! End to end: `puppet module install` through a puppet remote in front of a fixture Forge (v3
//! API, a module archive the test packs), then again into a fresh directory with the Forge
//! stopped, from cache. puppet is installed by `scripts/test.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use serde_json::json;
use support::puppet::{assert_installed, forge_releases, install, metadata, module_archive, puppet_available};
use support::server::Server;
use support::upstream::{FakeFile, FakeUpstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puppet_installs_a_module_through_the_remote_and_again_from_cache() {
    if support::backend_or_skip("puppet", puppet_available().then_some(())).is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let archive = module_archive(work.path(), "aa-demo", "1.0.0", &[]);
    let forge = FakeUpstream::start().await;
    forge.put(
        "forge/v3/releases",
        FakeFile::Page {
            body: Bytes::from(forge_releases(&[(metadata("aa-demo", "1.0.0", &[]), &archive)])),
            content_type: "application/json",
        },
    );
    forge.put(
        "forge/v3/files/aa-demo-1.0.0.tar.gz",
        FakeFile::Bytes(Bytes::from(archive)),
    );
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "forge", "kind": "remote", "package": "puppet",
            "base_url": format!("{}/forge", forge.base)}))
        .await;
    let repository = server.url("/api/v1/remote/forge");

    assert_installed(&install(&repository, "aa-demo", None, &work.path().join("first")).await);
    assert!(work.path().join("first/modules/demo/manifests/init.pp").exists());
    assert_eq!(forge.hits("forge/v3/files/aa-demo-1.0.0.tar.gz"), 1);

    forge.stop().await;
    let second = install(&repository, "aa-demo", None, &work.path().join("second")).await;
    assert!(
        second.status.success(),
        "puppet from cache failed: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(work.path().join("second/modules/demo/manifests/init.pp").exists());
}
