//! End to end: a hosted npm repository driven by the real npm CLI. Publish (unscoped and scoped,
//! two versions), whoami, dist-tag add/ls/rm, deprecate (install shows the message), install
//! with a dependency between the two (lockfile URLs all on this server), republish refused,
//! unpublish of a version; bad publishes (anonymous, lying integrity, a tarball naming another
//! package, garbage) change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use base64::Engine;
use serde_json::{Value, json};
use sha2::Digest;
use support::npm::{Npm, package, resolved_urls};
use support::python::text;
use support::server::{ADMIN_TOKEN, Server};

async fn packument(server: &Server, name: &str) -> (u16, Value) {
    let response = server
        .get(&format!("/api/v1/local/npml/{}", name.replace('/', "%2f")))
        .await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npm_publishes_tags_deprecates_installs_and_unpublishes() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "npml", "kind": "local", "package": "npm"}))
        .await;
    let work = tempfile::tempdir().unwrap();
    let npm = Npm::new(&server, work.path(), "/api/v1/local/npml/", Some(ADMIN_TOKEN));
    let anonymous = Npm::new(&server, work.path(), "/api/v1/local/npml/", None);

    let left_1 = package(work.path(), "aa-hosted", "1.0.0", json!({}));
    let left_2 = package(work.path(), "aa-hosted", "1.1.0", json!({}));
    let util = package(work.path(), "@aateam/util", "2.0.0", json!({"aa-hosted": "^1.0.0"}));

    let refused = anonymous.run(&left_1, &["publish"]).await;
    assert!(!refused.status.success(), "anonymous publish must fail");
    assert_eq!(packument(&server, "aa-hosted").await.0, 404, "nothing stored");

    for dir in [&left_1, &left_2, &util] {
        let out = npm.run(dir, &["publish", "--access", "public"]).await;
        assert!(out.status.success(), "npm publish: {}", text(&out));
    }
    let again = npm.run(&left_2, &["publish"]).await;
    assert!(!again.status.success(), "republishing 1.1.0 must be refused");

    let (status, doc) = packument(&server, "aa-hosted").await;
    assert_eq!(status, 200);
    assert_eq!(doc["dist-tags"]["latest"], "1.1.0");
    let versions: Vec<&String> = doc["versions"].as_object().unwrap().keys().collect();
    assert_eq!(versions, ["1.0.0", "1.1.0"]);
    let tarball = doc["versions"]["1.0.0"]["dist"]["tarball"].as_str().unwrap();
    assert_eq!(tarball, format!("{}aa-hosted/-/aa-hosted-1.0.0.tgz", npm.registry));
    assert!(doc["time"]["1.1.0"].is_string() && doc["time"]["created"].is_string());
    let abbreviated = reqwest::Client::new()
        .get(server.url("/api/v1/local/npml/@aateam%2futil"))
        .header("accept", "application/vnd.npm.install-v1+json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        abbreviated.headers()["content-type"],
        "application/vnd.npm.install-v1+json"
    );
    let abbreviated: Value = abbreviated.json().await.unwrap();
    assert_eq!(abbreviated["versions"]["2.0.0"]["dependencies"]["aa-hosted"], "^1.0.0");
    assert!(abbreviated.get("time").is_none());

    let whoami = npm.run(work.path(), &["whoami"]).await;
    assert!(whoami.status.success(), "npm whoami: {}", text(&whoami));
    assert!(!String::from_utf8_lossy(&whoami.stdout).trim().is_empty());
    assert!(!anonymous.run(work.path(), &["whoami"]).await.status.success());

    let add = npm
        .run(work.path(), &["dist-tag", "add", "aa-hosted@1.0.0", "stable"])
        .await;
    assert!(add.status.success(), "dist-tag add: {}", text(&add));
    let ls = npm.run(work.path(), &["dist-tag", "ls", "aa-hosted"]).await;
    let listed = String::from_utf8_lossy(&ls.stdout).to_string();
    assert!(
        listed.contains("stable: 1.0.0") && listed.contains("latest: 1.1.0"),
        "{listed}"
    );
    let rm = npm.run(work.path(), &["dist-tag", "rm", "aa-hosted", "stable"]).await;
    assert!(rm.status.success(), "dist-tag rm: {}", text(&rm));
    assert!(
        packument(&server, "aa-hosted").await.1["dist-tags"]
            .get("stable")
            .is_none()
    );

    let deprecate = npm
        .run(work.path(), &["deprecate", "aa-hosted@1.0.0", "use 1.1.0 instead"])
        .await;
    assert!(deprecate.status.success(), "npm deprecate: {}", text(&deprecate));
    assert_eq!(
        packument(&server, "aa-hosted").await.1["versions"]["1.0.0"]["deprecated"],
        "use 1.1.0 instead"
    );
    let old = work.path().join("old");
    std::fs::create_dir_all(&old).unwrap();
    let install_old = npm.run(&old, &["install", "aa-hosted@1.0.0"]).await;
    assert!(install_old.status.success(), "install 1.0.0: {}", text(&install_old));
    assert!(
        text(&install_old).contains("use 1.1.0 instead"),
        "npm shows the deprecation: {}",
        text(&install_old)
    );

    let app = work.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    let install = npm.run(&app, &["install", "@aateam/util"]).await;
    assert!(install.status.success(), "npm install: {}", text(&install));
    assert_eq!(
        std::fs::read_to_string(app.join("node_modules/@aateam/util/index.js")).unwrap(),
        "module.exports = '@aateam/util@2.0.0';\n"
    );
    assert_eq!(
        std::fs::read_to_string(app.join("node_modules/aa-hosted/index.js")).unwrap(),
        "module.exports = 'aa-hosted@1.1.0';\n",
        "the dependency resolves to the highest 1.x"
    );
    let resolved = resolved_urls(&app);
    assert_eq!(resolved.len(), 2, "{resolved:?}");
    assert!(resolved.iter().all(|r| r.starts_with(&npm.registry)), "{resolved:?}");

    let unpublish = npm.run(work.path(), &["unpublish", "aa-hosted@1.0.0"]).await;
    assert!(unpublish.status.success(), "npm unpublish: {}", text(&unpublish));
    let doc = packument(&server, "aa-hosted").await.1;
    let versions: Vec<&String> = doc["versions"].as_object().unwrap().keys().collect();
    assert_eq!(versions, ["1.1.0"]);
    assert_eq!(
        server
            .get("/api/v1/local/npml/aa-hosted/-/aa-hosted-1.0.0.tgz")
            .await
            .status(),
        404
    );
    assert_eq!(
        server
            .get("/api/v1/local/npml/aa-hosted/-/aa-hosted-1.1.0.tgz")
            .await
            .status(),
        200
    );
}

/// A publish body as npm sends it, with `tarball` attached and `integrity` promised.
fn publish_body(name: &str, version: &str, tarball: &[u8], integrity: &str) -> Value {
    let base = name.rsplit('/').next().unwrap();
    json!({
        "_id": name, "name": name, "dist-tags": {"latest": version},
        "versions": {version: {"name": name, "version": version, "dist": {"integrity": integrity}}},
        "_attachments": {format!("{base}-{version}.tgz"): {
            "content_type": "application/octet-stream",
            "data": base64::engine::general_purpose::STANDARD.encode(tarball),
            "length": tarball.len()}}
    })
}

fn sri(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(bytes))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_publishes_are_refused_and_store_nothing() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "npml", "kind": "local", "package": "npm"}))
        .await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_path_buf();
    let real = tokio::task::spawn_blocking(move || support::packages::pack(&dir, "aa-real", "1.0.0"))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let put = |name: &str, body: Value| {
        client
            .put(server.url(&format!("/api/v1/local/npml/{}", name.replace('/', "%2f"))))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
    };
    let cases = [
        (
            "lying integrity",
            "aa-real",
            publish_body("aa-real", "1.0.0", &real, &sri(b"other")),
            422,
        ),
        (
            "tarball of another package",
            "aa-fake",
            publish_body("aa-fake", "1.0.0", &real, &sri(&real)),
            400,
        ),
        (
            "not a tarball",
            "aa-junk",
            publish_body("aa-junk", "1.0.0", b"garbage", &sri(b"garbage")),
            400,
        ),
        (
            "invalid version",
            "aa-real",
            publish_body("aa-real", "1.0", &real, &sri(&real)),
            400,
        ),
        (
            "invalid name",
            "AA-Real",
            publish_body("AA-Real", "1.0.0", &real, &sri(&real)),
            400,
        ),
        (
            "URL and body disagree",
            "aa-other",
            publish_body("aa-real", "1.0.0", &real, &sri(&real)),
            400,
        ),
    ];
    for (what, name, body, status) in cases {
        let response = put(name, body).await.unwrap();
        let code = response.status().as_u16();
        assert!(
            code == status || (status == 422 && code == 400),
            "{what}: {code} {}",
            response.text().await.unwrap()
        );
        assert_eq!(packument(&server, name).await.0, 404, "{what}: nothing stored");
    }
    let truncated = client
        .put(server.url("/api/v1/local/npml/aa-real"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"name":"aa-real","_attachments":{"aa-real-1.0.0.tgz":{"data":"AAAA"#)
        .send()
        .await
        .unwrap();
    assert_eq!(truncated.status(), 400);
    let good = put("aa-real", publish_body("aa-real", "1.0.0", &real, &sri(&real)))
        .await
        .unwrap();
    assert_eq!(good.status(), 201, "{}", good.text().await.unwrap());
    let served = server.get("/api/v1/local/npml/aa-real/-/aa-real-1.0.0.tgz").await;
    assert_eq!(served.headers()["x-artifact-source"], "local");
    assert_eq!(served.bytes().await.unwrap().as_ref(), real.as_slice());
}
