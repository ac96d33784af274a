//! End to end: a virtual PyPI repository over a local member and a remote one (a fake upstream
//! on 127.0.0.1). twine uploads a wheel and an sdist the test builds to the local member; pip and
//! uv install the local package through the virtual, its dependency coming from the remote; the
//! dependency-confusion guard keeps a higher public version of a local project away (and lets it
//! through when turned off); twine upload to the virtual lands in its first local member and
//! needs the write scope on that member.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use support::packages::{build_sdist, build_wheel, build_wheel_requiring, simple_page};
use support::python::{blocking, pip, sha256, text, twine, uv};
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";

/// The fake upstream serves `files` (`(name, version, wheel)`) under its own `pypi/simple/`
/// (one page per project, and the root), each file linked with its `#sha256=`.
fn serve_upstream(upstream: &FakeUpstream, files: &[(&str, &str, Vec<u8>)]) {
    let mut root = Vec::new();
    for (name, version, wheel) in files {
        let filename = format!("{name}-{version}-py3-none-any.whl");
        upstream.put(
            &format!("packages/{filename}"),
            FakeFile::Bytes(Bytes::from(wheel.clone())),
        );
        let href = format!("{}/packages/{filename}#sha256={}", upstream.base, sha256(wheel));
        upstream.put(&format!("pypi/simple/{name}/"), simple_page(&[(href, filename)]));
        root.push((format!("{name}/"), name.to_string()));
    }
    upstream.put("pypi/simple/", simple_page(&root));
}

/// A server with `py-local` (local), `py-remote` (over `upstream`) and the virtual `py` over both.
async fn setup(upstream: &FakeUpstream) -> Server {
    let server = Server::start(&[("ARTIFACTAPI_UPSTREAM_DENY_NETWORKS", String::new())]).await;
    server
        .create_repository(json!({"name": "py-local", "kind": "local", "package": "pypi"}))
        .await;
    server
        .create_repository(json!({"name": "py-remote", "kind": "remote", "package": "pypi", "base_url": format!("{}/pypi", upstream.base)}))
        .await;
    server
        .create_repository(
            json!({"name": "py", "kind": "virtual", "package": "pypi", "members": ["py-local", "py-remote"]}),
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

/// The files of a virtual page (JSON), with their URLs made absolute.
async fn files_of(server: &Server, page_path: &str) -> Vec<(String, String)> {
    let page_url = server.url(page_path);
    let page: Value = reqwest::Client::new()
        .get(&page_url)
        .header("accept", JSON_TYPE)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let base = url::Url::parse(&page_url).unwrap();
    page["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let url = base.join(f["url"].as_str().unwrap()).unwrap().to_string();
            (f["filename"].as_str().unwrap().to_string(), url)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pip_and_uv_install_a_local_package_and_its_remote_dependency_through_the_virtual() {
    let work = tempfile::tempdir().unwrap();
    let upstream = FakeUpstream::start().await;
    serve_upstream(&upstream, &[("vdep", "1.0", build_wheel(work.path(), "vdep", "1.0"))]);
    let server = setup(&upstream).await;

    build_wheel_requiring(work.path(), "vapp", "1.0", &["vdep>=1.0"]);
    let wheel = work.path().join("vapp-1.0-py3-none-any.whl");
    let sdist = build_sdist(work.path(), "vapp", "1.0");
    let out = twine(server.url("/api/v1/local/py-local/"), ADMIN_TOKEN, vec![wheel, sdist]).await;
    assert!(out.status.success(), "twine: {}", text(&out));

    // The root is the union of the members' projects.
    let root = server.get("/api/v1/virtual/py/simple/").await.text().await.unwrap();
    assert!(root.contains("vapp/") && root.contains("vdep/"), "{root}");

    // The local project's page: both files, served by the local member, links through the virtual.
    let page = server.get("/api/v1/virtual/py/simple/vapp/").await;
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "x-artifact-member"), "py-local");
    assert_eq!(header(&page, "x-artifact-source"), "local");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("../../_member/py-local/vapp/packages/vapp/vapp-1.0-py3-none-any.whl#sha256="),
        "{html}"
    );
    assert!(html.contains("data-core-metadata=\"sha256="), "{html}");
    for (filename, url) in files_of(&server, "/api/v1/virtual/py/simple/vapp/").await {
        let r = reqwest::get(&url).await.unwrap();
        assert_eq!(r.status(), 200, "{filename}");
        assert_eq!(header(&r, "x-artifact-member"), "py-local");
        assert_eq!(header(&r, "x-artifact-source"), "local");
    }
    // Another spelling redirects to the canonical page of the virtual.
    let r = server.get_unfollowed("/api/v1/virtual/py/simple/VApp").await;
    assert_eq!(r.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(header(&r, "location"), "/api/v1/virtual/py/simple/vapp/");

    // The dependency's page comes from the remote member; its file stays digest-checked.
    let dep = files_of(&server, "/api/v1/virtual/py/simple/vdep/").await;
    assert_eq!(dep.len(), 1);
    assert!(dep[0].1.contains("/_member/py-remote/vdep/_files/"), "{dep:?}");
    let r = reqwest::get(&dep[0].1).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-artifact-member"), "py-remote");
    assert_ne!(header(&r, "x-artifact-source"), "local");
    // A link naming a repository that is not a member is not served.
    let forged = dep[0].1.replace("/_member/py-remote/", "/_member/py-local/");
    assert_eq!(reqwest::get(&forged).await.unwrap().status(), 404);

    let index = server.url("/api/v1/virtual/py/simple/");
    let target = work.path().join("pip");
    let out = pip(index.clone(), "vapp", &target).await;
    assert!(out.status.success(), "pip: {}", text(&out));
    assert!(target.join("vapp/__init__.py").exists() && target.join("vdep/__init__.py").exists());
    let target = work.path().join("uv");
    let out = uv(index, "vapp", &target).await;
    assert!(out.status.success(), "uv: {}", text(&out));
    assert!(target.join("vapp/__init__.py").exists() && target.join("vdep/__init__.py").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dependency_confusion_guard_keeps_a_higher_public_version_away() {
    let work = tempfile::tempdir().unwrap();
    let upstream = FakeUpstream::start().await;
    let public_dir = work.path().join("public");
    std::fs::create_dir_all(&public_dir).unwrap();
    serve_upstream(
        &upstream,
        &[("vguard", "9.0", build_wheel(&public_dir, "vguard", "9.0"))],
    );
    let server = setup(&upstream).await;
    build_wheel(work.path(), "vguard", "1.0");
    let out = twine(
        server.url("/api/v1/local/py-local/"),
        ADMIN_TOKEN,
        vec![work.path().join("vguard-1.0-py3-none-any.whl")],
    )
    .await;
    assert!(out.status.success(), "twine: {}", text(&out));
    let index = server.url("/api/v1/virtual/py/simple/");

    // On by default: the remote is never asked for the project.
    let view = reqwest::Client::new()
        .get(server.url("/api/v2/repositories/py"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(view["dependency_confusion_guard"], true);
    let page = server
        .get("/api/v1/virtual/py/simple/vguard/")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("vguard-1.0") && !page.contains("vguard-9.0"), "{page}");
    let target = work.path().join("guarded");
    let out = pip(index.clone(), "vguard", &target).await;
    assert!(out.status.success(), "pip: {}", text(&out));
    assert!(target.join("vguard-1.0.dist-info").exists(), "{}", text(&out));
    assert_eq!(upstream.hits("pypi/simple/vguard/"), 0);
    assert_eq!(upstream.hits("packages/vguard-9.0-py3-none-any.whl"), 0);

    let patch = |guard: bool| {
        reqwest::Client::new()
            .patch(server.url("/api/v2/repositories/py"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"dependency_confusion_guard": guard}))
            .send()
    };
    // Off: the public version is visible, and pip takes the higher one.
    let r = patch(false).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["dependency_confusion_guard"], false);
    let r = server.get("/api/v1/virtual/py/simple/vguard/").await;
    assert_eq!(header(&r, "x-artifact-member"), "py-local, py-remote");
    assert_eq!(header(&r, "x-artifact-source"), "");
    let files = files_of(&server, "/api/v1/virtual/py/simple/vguard/").await;
    let public = files
        .iter()
        .find(|(f, _)| f == "vguard-9.0-py3-none-any.whl")
        .unwrap()
        .1
        .clone();
    let target = work.path().join("unguarded");
    let out = pip(index.clone(), "vguard", &target).await;
    assert!(out.status.success(), "pip: {}", text(&out));
    assert!(target.join("vguard-9.0.dist-info").exists(), "{}", text(&out));

    // On again: the remote's file is not served for the local project either, even by its link.
    assert_eq!(patch(true).await.unwrap().status(), 200);
    assert_eq!(reqwest::get(&public).await.unwrap().status(), 404);
    let page = server
        .get("/api/v1/virtual/py/simple/vguard/")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("vguard-9.0"), "{page}");
}

/// A raw upload with curl; returns the status.
async fn curl_upload(url: String, token: &str, name: &str, version: &str, file: &Path) -> u16 {
    let args: Vec<String> = vec![
        "-s".into(),
        "-o".into(),
        "/dev/null".into(),
        "-w".into(),
        "%{http_code}".into(),
        "-u".into(),
        format!("__token__:{token}"),
        "-F".into(),
        ":action=file_upload".into(),
        "-F".into(),
        "protocol_version=1".into(),
        "-F".into(),
        format!("name={name}"),
        "-F".into(),
        format!("version={version}"),
        "-F".into(),
        format!("content=@{}", file.display()),
        url,
    ];
    let out = blocking(move || Command::new("curl").args(&args).output().unwrap()).await;
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twine_upload_to_the_virtual_lands_in_its_first_local_member() {
    let work = tempfile::tempdir().unwrap();
    let upstream = FakeUpstream::start().await;
    serve_upstream(&upstream, &[]);
    let server = setup(&upstream).await;
    build_wheel(work.path(), "vup", "1.0");
    let wheel = work.path().join("vup-1.0-py3-none-any.whl");
    let sdist = build_sdist(work.path(), "vup", "1.0");

    let out = twine(
        server.url("/api/v1/virtual/py/"),
        ADMIN_TOKEN,
        vec![wheel.clone(), sdist.clone()],
    )
    .await;
    assert!(out.status.success(), "twine: {}", text(&out));
    let local = server
        .get("/api/v1/local/py-local/simple/vup/")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        local.contains("vup-1.0-py3-none-any.whl") && local.contains("vup-1.0.tar.gz"),
        "{local}"
    );
    let target = work.path().join("pip");
    let out = pip(server.url("/api/v1/virtual/py/simple/"), "vup", &target).await;
    assert!(out.status.success(), "pip: {}", text(&out));

    // Write on the virtual alone does not reach the member the upload lands in.
    build_wheel(work.path(), "vup", "2.0");
    let second = work.path().join("vup-2.0-py3-none-any.whl");
    let virtual_only = server
        .create_token(json!({"name": "virt-only", "scopes": ["write"], "repositories": ["py"]}))
        .await;
    let url = server.url("/api/v1/virtual/py/");
    assert_eq!(
        curl_upload(url.clone(), &virtual_only, "vup", "2.0", &second).await,
        403
    );
    let out = twine(url.clone(), &virtual_only, vec![second.clone()]).await;
    assert!(!out.status.success());
    let local = server
        .get("/api/v1/local/py-local/simple/vup/")
        .await
        .text()
        .await
        .unwrap();
    assert!(!local.contains("vup-2.0"), "{local}");
    // With write on the member too, it goes through.
    let both = server
        .create_token(json!({"name": "both", "scopes": ["write"], "repositories": ["py", "py-local"]}))
        .await;
    assert_eq!(curl_upload(url, &both, "vup", "2.0", &second).await, 200);
    let local = server
        .get("/api/v1/local/py-local/simple/vup/")
        .await
        .text()
        .await
        .unwrap();
    assert!(local.contains("vup-2.0"), "{local}");

    // A virtual without a local member has nowhere to put an upload.
    server
        .create_repository(json!({"name": "py-public", "kind": "virtual", "package": "pypi", "members": ["py-remote"]}))
        .await;
    let status = curl_upload(
        server.url("/api/v1/virtual/py-public/"),
        ADMIN_TOKEN,
        "vup",
        "1.0",
        &wheel,
    )
    .await;
    assert_eq!(status, 405);
}
