//! End to end: a virtual npm repository over a local member and a remote one (a fake upstream on
//! 127.0.0.1). npm publishes to the virtual URL (landing in the local member, which the token
//! must be allowed to write), installs a local package through the virtual with its dependency
//! coming from the remote (every lockfile URL on the virtual), the dependency-confusion guard
//! keeps a higher public version of the local package away (and lets it through when off), and
//! dist-tag, deprecate and unpublish through the virtual change the local member.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use serde_json::{Value, json};
use support::npm::{Npm, package, resolved_urls};
use support::packages::{pack, packument};
use support::python::text;
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

const VIRTUAL: &str = "/api/v1/virtual/npmv/";

/// The upstream serves `aa-dep@1.0.0` (a dependency only it has) and `aa-app@9.0.0` (a public
/// package named like the local one, at a higher version).
fn serve_upstream(upstream: &FakeUpstream, work: &std::path::Path) {
    for (name, version) in [("aa-dep", "1.0.0"), ("aa-app", "9.0.0")] {
        let tarball = pack(&work.join("upstream"), name, version);
        let path = format!("npm/{name}/-/{name}-{version}.tgz");
        upstream.put(&path, FakeFile::Bytes(Bytes::from(tarball.clone())));
        upstream.put(
            &format!("npm/{name}"),
            packument(upstream, name, version, &path, &tarball),
        );
    }
}

async fn setup(upstream: &FakeUpstream) -> Server {
    let server = Server::start(&[("ARTIFACTAPI_UPSTREAM_DENY_NETWORKS", String::new())]).await;
    server
        .create_repository(json!({"name": "npm-local", "kind": "local", "package": "npm"}))
        .await;
    server
        .create_repository(json!({"name": "npm-remote", "kind": "remote", "package": "npm", "base_url": format!("{}/npm", upstream.base)}))
        .await;
    server
        .create_repository(
            json!({"name": "npmv", "kind": "virtual", "package": "npm", "members": ["npm-local", "npm-remote"]}),
        )
        .await;
    server
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn versions(server: &Server, path: &str) -> (reqwest::StatusCode, Vec<String>, Value) {
    let r = server.get(path).await;
    let status = r.status();
    let doc: Value = r.json().await.unwrap_or(Value::Null);
    let versions = doc["versions"]
        .as_object()
        .map(|v| v.keys().cloned().collect())
        .unwrap_or_default();
    (status, versions, doc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_publishes_and_installs_through_a_virtual_with_the_guard() {
    let work = tempfile::tempdir().unwrap();
    let upstream = FakeUpstream::start().await;
    serve_upstream(&upstream, work.path());
    let server = setup(&upstream).await;
    let npm = Npm::new(&server, work.path(), VIRTUAL, Some(ADMIN_TOKEN));

    // Publishing to the virtual lands in its first local member.
    let app_1 = package(work.path(), "aa-app", "1.0.0", json!({"aa-dep": "^1.0.0"}));
    let tool = package(work.path(), "@aateam/tool", "1.0.0", json!({}));
    // npm reads the packument first: through the virtual it still sees the public 9.0.0 of a
    // name no local member holds yet, so the first local version names its tag.
    for dir in [&app_1, &tool] {
        let out = npm
            .run(dir, &["publish", "--access", "public", "--tag", "latest"])
            .await;
        assert!(out.status.success(), "npm publish to the virtual: {}", text(&out));
    }
    let (status, local_versions, _) = versions(&server, "/api/v1/local/npm-local/aa-app").await;
    assert_eq!((status.as_u16(), local_versions), (200, vec!["1.0.0".to_string()]));

    // The local package's packument comes from the local member only: from now on the guard
    // never asks the upstream, whose 9.0.0 would otherwise be offered beside it.
    let upstream_asked = upstream.hits("npm/aa-app");
    let (_, listed, _) = versions(&server, &format!("{VIRTUAL}aa-app")).await;
    assert_eq!(listed, ["1.0.0"]);
    let r = server.get(&format!("{VIRTUAL}aa-app")).await;
    assert_eq!(header(&r, "x-artifact-member"), "npm-local");
    assert_eq!(header(&r, "x-artifact-source"), "local");
    assert!(!header(&r, "etag").is_empty());
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["dist-tags"]["latest"], "1.0.0");
    let tarball = doc["versions"]["1.0.0"]["dist"]["tarball"].as_str().unwrap();
    assert_eq!(
        tarball,
        server.url(&format!("{VIRTUAL}_member/npm-local/aa-app/-/aa-app-1.0.0.tgz"))
    );
    let r = server.get(&format!("{VIRTUAL}aa-dep")).await;
    assert_eq!(header(&r, "x-artifact-member"), "npm-remote");

    let project = work.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let install = npm.run(&project, &["install", "aa-app", "@aateam/tool"]).await;
    assert!(
        install.status.success(),
        "npm install through the virtual: {}",
        text(&install)
    );
    for (module, expected) in [
        ("aa-app", "aa-app@1.0.0"),
        ("aa-dep", "aa-dep@1.0.0"),
        ("@aateam/tool", "@aateam/tool@1.0.0"),
    ] {
        assert_eq!(
            std::fs::read_to_string(project.join(format!("node_modules/{module}/index.js"))).unwrap(),
            format!("module.exports = '{expected}';\n")
        );
    }
    let resolved = resolved_urls(&project);
    assert_eq!(resolved.len(), 3, "{resolved:?}");
    assert!(resolved.iter().all(|r| r.starts_with(&npm.registry)), "{resolved:?}");
    assert_eq!(
        upstream.hits("npm/aa-app"),
        upstream_asked,
        "the guard keeps the upstream out of aa-app"
    );
    assert_eq!(upstream.hits("npm/aa-dep/-/aa-dep-1.0.0.tgz"), 1);

    // A tarball through the virtual says which member served it.
    let r = server
        .get(&format!("{VIRTUAL}_member/npm-local/aa-app/-/aa-app-1.0.0.tgz"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-artifact-member"), "npm-local");
    assert_eq!(header(&r, "x-artifact-source"), "local");
    // A remote member's link for a name a local member holds is refused while the guard is on.
    let r = server
        .get(&format!("{VIRTUAL}_member/npm-remote/aa-app/-/aa-app-9.0.0.tgz"))
        .await;
    assert_eq!(r.status(), 404);

    // With the guard off, the upstream's versions of aa-app are merged in; the first member still
    // wins on `latest`.
    let patch = |guard: bool| {
        reqwest::Client::new()
            .patch(server.url("/api/v2/repositories/npmv"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"dependency_confusion_guard": guard}))
            .send()
    };
    assert_eq!(patch(false).await.unwrap().status(), 200);
    let (_, merged, doc) = versions(&server, &format!("{VIRTUAL}aa-app")).await;
    assert_eq!(merged, ["1.0.0", "9.0.0"]);
    assert_eq!(doc["dist-tags"]["latest"], "1.0.0");
    let remote_tarball = doc["versions"]["9.0.0"]["dist"]["tarball"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        remote_tarball.starts_with(&server.url(&format!("{VIRTUAL}_member/npm-remote/aa-app/"))),
        "{remote_tarball}"
    );
    assert_eq!(reqwest::get(&remote_tarball).await.unwrap().status(), 200);
    assert_eq!(patch(true).await.unwrap().status(), 200);
    assert_eq!(reqwest::get(&remote_tarball).await.unwrap().status(), 404);

    // dist-tag, deprecate and unpublish through the virtual act on the local member.
    let app_2 = package(work.path(), "aa-app", "1.1.0", json!({"aa-dep": "^1.0.0"}));
    let out = npm.run(&app_2, &["publish"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let add = npm
        .run(work.path(), &["dist-tag", "add", "aa-app@1.0.0", "stable"])
        .await;
    assert!(add.status.success(), "dist-tag add: {}", text(&add));
    let tags: Value = server
        .get(&format!("{VIRTUAL}-/package/aa-app/dist-tags"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tags, json!({"latest": "1.1.0", "stable": "1.0.0"}));
    let deprecate = npm.run(work.path(), &["deprecate", "aa-app@1.0.0", "use 1.1"]).await;
    assert!(deprecate.status.success(), "npm deprecate: {}", text(&deprecate));
    let (_, _, local_doc) = versions(&server, "/api/v1/local/npm-local/aa-app").await;
    assert_eq!(local_doc["versions"]["1.0.0"]["deprecated"], "use 1.1");
    let unpublish = npm.run(work.path(), &["unpublish", "aa-app@1.0.0"]).await;
    assert!(unpublish.status.success(), "npm unpublish: {}", text(&unpublish));
    let (_, left, _) = versions(&server, "/api/v1/local/npm-local/aa-app").await;
    assert_eq!(left, ["1.1.0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_through_a_virtual_needs_write_on_its_local_member() {
    let work = tempfile::tempdir().unwrap();
    let upstream = FakeUpstream::start().await;
    let server = setup(&upstream).await;
    let dir = package(work.path(), "aa-scoped-write", "1.0.0", json!({}));

    let virtual_only = server
        .create_token(json!({"name": "virt-only", "scopes": ["write"], "repositories": ["npmv"]}))
        .await;
    let npm = Npm::new(&server, work.path(), VIRTUAL, Some(&virtual_only));
    let refused = npm.run(&dir, &["publish"]).await;
    assert!(!refused.status.success());
    assert!(text(&refused).contains("403"), "{}", text(&refused));
    assert_eq!(
        server.get("/api/v1/local/npm-local/aa-scoped-write").await.status(),
        404,
        "nothing stored"
    );

    let both = server
        .create_token(json!({"name": "both", "scopes": ["write"], "repositories": ["npmv", "npm-local"]}))
        .await;
    let npm = Npm::new(&server, work.path(), VIRTUAL, Some(&both));
    let out = npm.run(&dir, &["publish"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        server.get("/api/v1/local/npm-local/aa-scoped-write").await.status(),
        200
    );
    let whoami = npm.run(work.path(), &["whoami"]).await;
    assert_eq!(String::from_utf8_lossy(&whoami.stdout).trim(), "both");

    // A virtual without a local member has nowhere to publish to.
    server
        .create_repository(
            json!({"name": "npmv-remote-only", "kind": "virtual", "package": "npm", "members": ["npm-remote"]}),
        )
        .await;
    let npm = Npm::new(
        &server,
        work.path(),
        "/api/v1/virtual/npmv-remote-only/",
        Some(ADMIN_TOKEN),
    );
    let refused = npm.run(&dir, &["publish"]).await;
    assert!(text(&refused).contains("405"), "{}", text(&refused));
}
