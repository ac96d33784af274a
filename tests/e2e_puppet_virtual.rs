//! End to end: a virtual Puppet repository over a local member and a remote one (a fixture Forge
//! on 127.0.0.1), with the real `puppet module install`. A publish to the virtual lands in the
//! local member; puppet installs the latest and a pinned version of the local module through the
//! virtual, its dependency coming from the remote member, every archive through a `_member/` link.
//! The dependency-confusion guard keeps the Forge's release of a module the local member holds
//! out of the releases (so puppet never installs it); with the guard off it is merged in. Bad
//! uploads through the virtual are 400 and change nothing; a re-upload is 409.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use serde_json::{Value, json};
use support::puppet::{
    assert_installed, forge_releases, install, installed_version, metadata, module_archive, puppet_available,
};
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

const VIRTUAL: &str = "/api/v1/virtual/puppetv";

async fn publish(server: &Server, data: &[u8]) -> reqwest::Response {
    support::puppet::publish(&server.url(VIRTUAL), data, Some(ADMIN_TOKEN)).await
}

async fn releases(server: &Server, module: &str) -> Value {
    server
        .get(&format!("{VIRTUAL}/v3/releases?module={module}&sort_by=version"))
        .await
        .json()
        .await
        .unwrap()
}

fn versions(page: &Value) -> Vec<String> {
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puppet_installs_through_a_virtual_with_the_dependency_from_the_remote_member() {
    if support::backend_or_skip("puppet", puppet_available().then_some(())).is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // The Forge: bb-base 1.0.0 and 1.1.0, and an aa-demo 9.0.0 (a module the local member owns).
    let forge_dir = work.path().join("forge");
    let base_1 = module_archive(&forge_dir, "bb-base", "1.0.0", &[]);
    let base_11 = module_archive(&forge_dir, "bb-base", "1.1.0", &[]);
    let public_demo = module_archive(&forge_dir, "aa-demo", "9.0.0", &[]);
    let forge = FakeUpstream::start().await;
    let page = forge_releases(&[
        (metadata("bb-base", "1.1.0", &[]), &base_11),
        (metadata("bb-base", "1.0.0", &[]), &base_1),
        (metadata("aa-demo", "9.0.0", &[]), &public_demo),
    ]);
    forge.put(
        "forge/v3/releases",
        FakeFile::Page {
            body: Bytes::from(page),
            content_type: "application/json",
        },
    );
    for (name, archive) in [
        ("bb-base-1.0.0", &base_1),
        ("bb-base-1.1.0", &base_11),
        ("aa-demo-9.0.0", &public_demo),
    ] {
        forge.put(
            &format!("forge/v3/files/{name}.tar.gz"),
            FakeFile::Bytes(Bytes::from(archive.clone())),
        );
    }

    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "puppet-local", "kind": "local", "package": "puppet"}))
        .await;
    server
        .create_repository(json!({"name": "puppet-remote", "kind": "remote", "package": "puppet",
            "base_url": format!("{}/forge", forge.base)}))
        .await;
    server
        .create_repository(json!({"name": "puppetv", "kind": "virtual", "package": "puppet",
            "members": ["puppet-local", "puppet-remote"]}))
        .await;

    // Publishes through the virtual land in the local member.
    let dep = [("bb-base", ">= 1.0.0 < 2.0.0")];
    let demo_1 = module_archive(work.path(), "aa-demo", "1.0.0", &dep);
    let demo_12 = module_archive(work.path(), "aa-demo", "1.2.0", &dep);
    for archive in [&demo_1, &demo_12] {
        assert_eq!(publish(&server, archive).await.status(), 201);
    }
    let local: Value = server
        .get("/api/v1/local/puppet-local/v3/releases?module=aa-demo")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(local["pagination"]["total"], 2);

    // Guard on: aa-demo from the local member only, bb-base from the remote.
    let demo = releases(&server, "aa-demo").await;
    assert_eq!(versions(&demo), ["1.2.0", "1.0.0"]);
    let response = server.get(&format!("{VIRTUAL}/v3/releases?module=bb-base")).await;
    assert_eq!(response.headers()["x-artifact-member"], "puppet-remote");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("etag"));
    let base: Value = response.json().await.unwrap();
    assert_eq!(versions(&base), ["1.1.0", "1.0.0"]);
    for release in base["results"].as_array().unwrap() {
        let uri = release["file_uri"].as_str().unwrap();
        assert!(uri.starts_with("/_member/puppet-remote/bb-base/_files/"), "{uri}");
    }
    assert!(
        !base.to_string().contains(&forge.base),
        "no direct upstream link: {base}"
    );

    let repository = server.url(VIRTUAL);
    let latest = work.path().join("latest");
    assert_installed(&install(&repository, "aa-demo", None, &latest).await);
    assert_eq!(installed_version(&latest, "demo").as_deref(), Some("1.2.0"));
    assert_eq!(installed_version(&latest, "base").as_deref(), Some("1.1.0"));
    assert_eq!(forge.hits("forge/v3/files/bb-base-1.1.0.tar.gz"), 1);
    assert_eq!(forge.hits("forge/v3/files/aa-demo-9.0.0.tar.gz"), 0);
    let pinned = work.path().join("pinned");
    assert_installed(&install(&repository, "aa-demo", Some("1.0.0"), &pinned).await);
    assert_eq!(installed_version(&pinned, "demo").as_deref(), Some("1.0.0"));
    assert_eq!(installed_version(&pinned, "base").as_deref(), Some("1.1.0"));

    // Bad uploads through the virtual: 400, nothing changes; a re-upload: 409.
    let before = releases(&server, "aa-demo").await;
    assert_eq!(publish(&server, &demo_12[..demo_12.len() / 2]).await.status(), 400);
    assert_eq!(publish(&server, b"garbage").await.status(), 400);
    let renamed = reqwest::Client::new()
        .put(server.url(&format!("{VIRTUAL}/v3/files/aa-demo-7.0.0.tar.gz")))
        .bearer_auth(ADMIN_TOKEN)
        .body(demo_1.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 400);
    assert_eq!(publish(&server, &demo_1).await.status(), 409);
    assert_eq!(releases(&server, "aa-demo").await, before);

    // Guard off: the Forge's 9.0.0 is merged in after the local releases.
    let patched = reqwest::Client::new()
        .patch(server.url("/api/v2/repositories/puppetv"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"dependency_confusion_guard": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let merged = releases(&server, "aa-demo").await;
    assert_eq!(versions(&merged), ["9.0.0", "1.2.0", "1.0.0"]);
    let module: Value = server
        .get(&format!("{VIRTUAL}/v3/modules/aa-demo"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(module["current_release"]["version"], "9.0.0");
}
