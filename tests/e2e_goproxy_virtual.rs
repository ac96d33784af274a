//! End to end: a virtual Go module proxy over a local member and a remote one (a fake upstream on
//! 127.0.0.1), driven by the real go command. `go get` through the virtual resolves a local
//! module whose dependencies come one from the local member and one from the remote, and the
//! program runs; `@v/list` is the union of the members' lists. The dependency-confusion guard
//! keeps the upstream's versions of a module the local member holds out (the upstream is not even
//! asked); with the guard off they are merged in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use serde_json::json;
use support::go::{escape, go, go_found, module_zip, text};
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

const LIB: &str = "example.test/Acme/Lib";
const DEP: &str = "example.test/remotedep";
const APP: &str = "example.test/app";

async fn put_local(server: &Server, module: &str, version: &str, go_mod: &str, source: (&str, &str)) {
    let base = format!("/api/v1/local/gol/{}/@v/{}", escape(module), escape(version));
    let zip = module_zip(module, version, &[("go.mod", go_mod), source]);
    for (ext, body) in [("mod", go_mod.as_bytes().to_vec()), ("zip", zip)] {
        let response = reqwest::Client::new()
            .put(server.url(&format!("{base}.{ext}")))
            .bearer_auth(ADMIN_TOKEN)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{base}.{ext}");
    }
}

fn put_upstream(upstream: &FakeUpstream, module: &str, versions: &[&str], source: (&str, &str)) {
    let go_mod = format!("module {module}\n\ngo 1.19\n");
    let base = format!("go/{}/@v/", escape(module));
    let list: String = versions.iter().map(|v| format!("{v}\n")).collect();
    upstream.put(&format!("{base}list"), FakeFile::Bytes(Bytes::from(list)));
    for v in versions {
        let info = json!({"Version": v, "Time": "2026-01-01T00:00:00Z"}).to_string();
        upstream.put(&format!("{base}{v}.info"), FakeFile::Bytes(Bytes::from(info)));
        upstream.put(&format!("{base}{v}.mod"), FakeFile::Bytes(Bytes::from(go_mod.clone())));
        let zip = module_zip(module, v, &[("go.mod", &go_mod), source]);
        upstream.put(&format!("{base}{v}.zip"), FakeFile::Bytes(Bytes::from(zip)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_gets_through_a_virtual_over_local_and_remote_members() {
    if support::backend_or_skip("the go command", go_found().then_some(())).is_none() {
        return;
    }
    let upstream = FakeUpstream::start().await;
    put_upstream(
        &upstream,
        DEP,
        &["v0.2.0"],
        ("dep.go", "package remotedep\n\nconst Base = 40\n"),
    );
    // A public module with the local module's name and a higher version: dependency confusion.
    put_upstream(
        &upstream,
        LIB,
        &["v9.0.0"],
        ("lib.go", "package lib\n\nfunc Answer() int { return -1 }\n"),
    );

    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "gol", "kind": "local", "package": "goproxy"}))
        .await;
    server
        .create_repository(
            json!({"name": "gor", "kind": "remote", "package": "goproxy", "base_url": format!("{}/go", upstream.base)}),
        )
        .await;
    server
        .create_repository(json!({"name": "gov", "kind": "virtual", "package": "goproxy", "members": ["gol", "gor"]}))
        .await;
    let lib_mod = format!("module {LIB}\n\ngo 1.19\n\nrequire {DEP} v0.2.0\n");
    put_local(
        &server,
        LIB,
        "v1.0.0",
        &lib_mod,
        (
            "lib.go",
            &format!("package lib\n\nimport \"{DEP}\"\n\nfunc Answer() int {{ return remotedep.Base + 2 }}\n"),
        ),
    )
    .await;
    let app_mod = format!("module {APP}\n\ngo 1.19\n\nrequire {LIB} v1.0.0\n");
    put_local(
        &server,
        APP,
        "v0.1.0",
        &app_mod,
        (
            "app.go",
            &format!("package app\n\nimport \"{LIB}\"\n\nfunc Answer() int {{ return lib.Answer() }}\n"),
        ),
    )
    .await;

    let proxy = server.url("/api/v1/virtual/gov");
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let consumer = work.path().join("consumer");
    std::fs::create_dir_all(&consumer).unwrap();
    std::fs::write(consumer.join("go.mod"), "module consumer\n\ngo 1.19\n").unwrap();
    std::fs::write(
        consumer.join("main.go"),
        format!("package main\n\nimport (\n\t\"fmt\"\n\t\"{APP}\"\n)\n\nfunc main() {{ fmt.Println(app.Answer()) }}\n"),
    )
    .unwrap();
    let got = go(&consumer, &home, &proxy, &["get", &format!("{APP}@latest")]).await;
    assert!(got.status.success(), "go get: {}", text(&got));
    let go_mod = std::fs::read_to_string(consumer.join("go.mod")).unwrap();
    assert!(go_mod.contains(&format!("{LIB} v1.0.0")), "{go_mod}");
    assert!(go_mod.contains(&format!("{DEP} v0.2.0")), "{go_mod}");
    let run = go(&consumer, &home, &proxy, &["run", "."]).await;
    assert!(run.status.success(), "go run: {}", text(&run));
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "42");

    // Guard on: the upstream is never asked about the local module.
    let lib = escape(LIB);
    let list = server.get(&format!("/api/v1/virtual/gov/{lib}/@v/list")).await;
    assert_eq!(list.headers()["x-artifact-member"], "gol");
    assert_eq!(list.text().await.unwrap(), "v1.0.0\n");
    let confused = server.get(&format!("/api/v1/virtual/gov/{lib}/@v/v9.0.0.zip")).await;
    assert_eq!(confused.status(), 404);
    assert_eq!(upstream.hits(&format!("go/{lib}/@v/list")), 0);
    assert_eq!(upstream.hits(&format!("go/{lib}/@v/v9.0.0.zip")), 0);
    let latest: serde_json::Value = server
        .get(&format!("/api/v1/virtual/gov/{lib}/@latest"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(latest["Version"], "v1.0.0");
    let dep = server.get(&format!("/api/v1/virtual/gov/{DEP}/@v/list")).await;
    assert_eq!(dep.headers()["x-artifact-member"], "gor");
    assert_eq!(dep.text().await.unwrap(), "v0.2.0\n");

    // Guard off: the lists are merged, and go sees both.
    let patched = reqwest::Client::new()
        .patch(server.url("/api/v2/repositories/gov"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"dependency_confusion_guard": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let merged = server.get(&format!("/api/v1/virtual/gov/{lib}/@v/list")).await;
    assert_eq!(merged.headers()["x-artifact-member"], "gol, gor");
    assert_eq!(merged.text().await.unwrap(), "v1.0.0\nv9.0.0\n");
    let versions = go(&consumer, &home, &proxy, &["list", "-m", "-versions", LIB]).await;
    assert!(versions.status.success(), "go list: {}", text(&versions));
    assert_eq!(
        String::from_utf8_lossy(&versions.stdout).trim(),
        format!("{LIB} v1.0.0 v9.0.0")
    );
}
