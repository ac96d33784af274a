//! End to end: a hosted Go module proxy driven by the real go command. Versions of two modules
//! (one with capitals in its path, so case-encoded) are uploaded by PUT of .mod/.zip/.info; a
//! consumer module then `go get`s one, which needs the other, builds and runs it; `go list -m
//! -versions` and `@latest` come from the records. Bad uploads (zip-slip member, wrong zip
//! prefix, a go.mod naming another module, a non-encoded path, garbage, a re-upload) are 4xx and
//! leave the list unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::json;
use support::go::{escape, go, go_found, module_zip, text};
use support::server::{ADMIN_TOKEN, Server};

const LIB: &str = "example.test/Acme/Lib";
const APP: &str = "example.test/app";
const REPO: &str = "/api/v1/local/gol/";

async fn put(server: &Server, path: &str, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .put(server.url(&format!("{REPO}{path}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn publish(server: &Server, module: &str, version: &str, go_mod: &str, files: &[(&str, &str)], info: bool) {
    let base = format!("{}/@v/{}", escape(module), escape(version));
    let mut all = vec![("go.mod", go_mod)];
    all.extend_from_slice(files);
    let uploads = [
        ("mod", go_mod.as_bytes().to_vec()),
        ("zip", module_zip(module, version, &all)),
    ];
    for (ext, body) in uploads {
        let response = put(server, &format!("{base}.{ext}"), body).await;
        assert_eq!(
            response.status(),
            201,
            "{base}.{ext}: {}",
            response.text().await.unwrap()
        );
    }
    if info {
        let body = json!({"Version": version, "Time": "2026-02-03T04:05:06Z"}).to_string();
        assert_eq!(
            put(server, &format!("{base}.info"), body.into_bytes()).await.status(),
            201
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_gets_builds_and_lists_modules_from_a_local_repository() {
    if support::backend_or_skip("the go command", go_found().then_some(())).is_none() {
        return;
    }
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "gol", "kind": "local", "package": "goproxy"}))
        .await;
    let lib_mod = format!("module {LIB}\n\ngo 1.19\n");
    for (version, answer) in [("v1.0.0", "41"), ("v1.1.0", "42")] {
        let source = format!("package lib\n\nfunc Answer() int {{ return {answer} }}\n");
        publish(
            &server,
            LIB,
            version,
            &lib_mod,
            &[("lib.go", &source)],
            version == "v1.1.0",
        )
        .await;
    }
    let app_mod = format!("module {APP}\n\ngo 1.19\n\nrequire {LIB} v1.0.0\n");
    let app_source = format!("package app\n\nimport \"{LIB}\"\n\nfunc Twice() int {{ return 2 * lib.Answer() }}\n");
    publish(&server, APP, "v0.1.0", &app_mod, &[("app.go", &app_source)], false).await;

    let proxy = server.url(REPO.trim_end_matches('/'));
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let consumer = work.path().join("consumer");
    std::fs::create_dir_all(&consumer).unwrap();
    std::fs::write(consumer.join("go.mod"), "module consumer\n\ngo 1.19\n").unwrap();
    std::fs::write(
        consumer.join("main.go"),
        format!("package main\n\nimport (\n\t\"fmt\"\n\t\"{APP}\"\n)\n\nfunc main() {{ fmt.Println(app.Twice()) }}\n"),
    )
    .unwrap();
    let got = go(&consumer, &home, &proxy, &["get", &format!("{APP}@latest")]).await;
    assert!(got.status.success(), "go get: {}", text(&got));
    let go_mod = std::fs::read_to_string(consumer.join("go.mod")).unwrap();
    assert!(go_mod.contains(&format!("{APP} v0.1.0")), "{go_mod}");
    assert!(
        go_mod.contains(&format!("{LIB} v1.0.0")),
        "the dependency, by MVS: {go_mod}"
    );
    let run = go(&consumer, &home, &proxy, &["run", "."]).await;
    assert!(run.status.success(), "go run: {}", text(&run));
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "82");

    let versions = go(&consumer, &home, &proxy, &["list", "-m", "-versions", LIB]).await;
    assert!(versions.status.success(), "go list: {}", text(&versions));
    assert_eq!(
        String::from_utf8_lossy(&versions.stdout).trim(),
        format!("{LIB} v1.0.0 v1.1.0")
    );
    let latest = go(
        &consumer,
        &home,
        &proxy,
        &["mod", "download", "-json", &format!("{LIB}@latest")],
    )
    .await;
    assert!(latest.status.success(), "go mod download: {}", text(&latest));
    let report: serde_json::Value = serde_json::from_slice(&latest.stdout).unwrap();
    assert_eq!(report["Version"], "v1.1.0");
    assert!(report["Sum"].as_str().unwrap().starts_with("h1:"), "{report}");

    // The uploaded .info is served as uploaded; a missing one is generated.
    let lib = escape(LIB);
    let info: serde_json::Value = server
        .get(&format!("{REPO}{lib}/@v/v1.1.0.info"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["Time"], "2026-02-03T04:05:06Z");
    let generated = server.get(&format!("{REPO}{lib}/@v/v1.0.0.info")).await;
    assert_eq!(generated.headers()["content-type"], "application/json");
    let generated: serde_json::Value = generated.json().await.unwrap();
    assert_eq!(generated["Version"], "v1.0.0");
    let list = server.get(&format!("{REPO}{lib}/@v/list")).await;
    assert_eq!(list.headers()["content-type"], "text/plain; charset=utf-8");
    let etag = list.headers()["etag"].to_str().unwrap().to_string();
    let list_text = list.text().await.unwrap();
    assert_eq!(list_text, "v1.0.0\nv1.1.0\n");
    let revalidated = reqwest::Client::new()
        .get(server.url(&format!("{REPO}{lib}/@v/list")))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), 304);

    // Bad uploads: 4xx with a JSON error, nothing listed.
    let prefix = format!("{LIB}@v1.2.0");
    let bad: Vec<(String, Vec<u8>, u16)> = vec![
        (
            format!("{lib}/@v/v1.2.0.zip"),
            module_zip(LIB, "v1.2.0", &[("../../../../tmp/evil.go", "package evil\n")]),
            400,
        ),
        (
            format!("{lib}/@v/v1.2.0.zip"),
            module_zip(LIB, "v1.3.0", &[("lib.go", "package lib\n")]),
            400,
        ),
        (
            format!("{lib}/@v/v1.2.0.zip"),
            module_zip(LIB, "v1.2.0", &[("go.mod", "module example.test/other\n")]),
            400,
        ),
        (format!("{lib}/@v/v1.2.0.zip"), b"PK\x03\x04 truncated".to_vec(), 400),
        (
            format!("{lib}/@v/v1.2.0.mod"),
            b"module example.test/other\n".to_vec(),
            400,
        ),
        (format!("{LIB}/@v/v1.2.0.mod"), lib_mod.clone().into_bytes(), 400),
        (format!("{lib}/@v/1.2.0.mod"), lib_mod.clone().into_bytes(), 400),
        (format!("{lib}/@v/v1.1.0.mod"), lib_mod.clone().into_bytes(), 409),
    ];
    for (path, body, status) in bad {
        let response = put(&server, &path, body).await;
        assert_eq!(response.status().as_u16(), status, "{path} ({prefix})");
        let error: serde_json::Value = response.json().await.unwrap();
        assert!(
            error["code"].is_string() && error["message"].is_string(),
            "{path}: {error}"
        );
    }
    // A .mod alone does not list a version.
    assert_eq!(
        put(&server, &format!("{lib}/@v/v1.2.0.mod"), lib_mod.into_bytes())
            .await
            .status(),
        201
    );
    assert_eq!(
        server.get(&format!("{REPO}{lib}/@v/list")).await.text().await.unwrap(),
        list_text
    );
    assert_eq!(server.get(&format!("{REPO}{lib}/@v/v1.2.0.info")).await.status(), 404);

    // Deleting a version's zip takes it off the list.
    let deleted = reqwest::Client::new()
        .delete(server.url(&format!("{REPO}{lib}/@v/v1.1.0.zip")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        server.get(&format!("{REPO}{lib}/@v/list")).await.text().await.unwrap(),
        "v1.0.0\n"
    );
    assert_eq!(server.get(&format!("{REPO}{lib}/@v/v1.1.0.zip")).await.status(), 404);
}
