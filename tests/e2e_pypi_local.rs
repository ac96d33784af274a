//! End to end: a hosted PyPI repository. twine uploads a wheel and an sdist the test builds;
//! pip and uv install them back; the simple API (PEP 503/691/658/592/700) is checked; bad
//! uploads (anonymous, re-upload, digest mismatch, lying metadata, corrupt or tricky archives,
//! huge metadata, invalid versions) are refused with nothing stored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use support::packages::{build_sdist, build_wheel, python_zip};
use support::python::{blocking, pip, sha256, text, twine, uv};
use support::server::{ADMIN_TOKEN, Server};

/// A twine upload's text fields.
type UploadForm = Vec<(&'static str, String)>;

const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";

/// A raw upload with curl: `fields` then the file as `content`; returns (status, body).
pub async fn curl_upload(url: String, token: Option<&str>, fields: Vec<(&str, String)>, file: &Path) -> (u16, String) {
    let mut args: Vec<String> = vec![
        "-s".into(),
        "-o".into(),
        "-".into(),
        "-w".into(),
        "\n%{http_code}".into(),
    ];
    if let Some(t) = token {
        args.push("-u".into());
        args.push(format!("__token__:{t}"));
    }
    for (k, v) in fields {
        args.push("-F".into());
        args.push(format!("{k}={v}"));
    }
    args.push("-F".into());
    args.push(format!("content=@{}", file.display()));
    args.push(url);
    let out = blocking(move || Command::new("curl").args(&args).output().unwrap()).await;
    let all = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, status) = all.rsplit_once('\n').unwrap();
    (status.trim().parse().unwrap(), body.to_string())
}

fn form(name: &str, version: &str) -> Vec<(&'static str, String)> {
    vec![
        (":action", "file_upload".into()),
        ("protocol_version", "1".into()),
        ("name", name.into()),
        ("version", version.into()),
    ]
}

async fn setup() -> (Server, tempfile::TempDir) {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "py", "kind": "local", "package": "pypi"}))
        .await;
    (server, tempfile::tempdir().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twine_uploads_and_pip_and_uv_install_them_back() {
    let (server, work) = setup().await;
    let wheel = build_wheel(work.path(), "Hosted_Demo", "1.0");
    let wheel_path = work.path().join("Hosted_Demo-1.0-py3-none-any.whl");
    let sdist_path = build_sdist(work.path(), "hosted_demo", "1.0");
    let upload_url = server.url("/api/v1/local/py/");
    let out = twine(
        upload_url.clone(),
        ADMIN_TOKEN,
        vec![wheel_path.clone(), sdist_path.clone()],
    )
    .await;
    assert!(out.status.success(), "twine: {}", text(&out));

    // PEP 503 HTML, with the normalised name; another spelling redirects there.
    let page = server.get("/api/v1/local/py/simple/hosted-demo/").await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["x-artifact-source"], "local");
    let html = page.text().await.unwrap();
    let sha = sha256(&wheel);
    assert!(
        html.contains(&format!(
            "href=\"../../packages/hosted-demo/Hosted_Demo-1.0-py3-none-any.whl#sha256={sha}\""
        )),
        "{html}"
    );
    assert!(html.contains("data-core-metadata=\"sha256="), "{html}");
    assert!(html.contains("hosted_demo-1.0.tar.gz"), "{html}");
    let redirect = server.get_unfollowed("/api/v1/local/py/simple/Hosted.Demo").await;
    assert_eq!(redirect.status(), 301);
    assert_eq!(redirect.headers()["location"], "/api/v1/local/py/simple/hosted-demo/");

    // PEP 691 JSON with PEP 700 fields, and the PEP 658 metadata file it points at.
    let doc: Value = reqwest::Client::new()
        .get(server.url("/api/v1/local/py/simple/hosted-demo/"))
        .header("accept", format!("{JSON_TYPE}, text/html;q=0.1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["meta"]["api-version"], "1.1");
    assert_eq!(doc["versions"], json!(["1.0"]));
    let file = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["filename"].as_str().unwrap().ends_with(".whl"))
        .unwrap();
    assert_eq!(file["hashes"]["sha256"], sha);
    assert_eq!(file["size"], wheel.len());
    assert!(file["upload-time"].as_str().unwrap().ends_with('Z'));
    let metadata_sha = file["core-metadata"]["sha256"].as_str().unwrap();
    let metadata = server
        .get("/api/v1/local/py/packages/hosted-demo/Hosted_Demo-1.0-py3-none-any.whl.metadata")
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256(&metadata), metadata_sha);
    assert!(String::from_utf8_lossy(&metadata).contains("Name: Hosted_Demo"));
    let download = server
        .get("/api/v1/local/py/packages/hosted-demo/Hosted_Demo-1.0-py3-none-any.whl")
        .await;
    assert_eq!(download.headers()["x-artifact-source"], "local");
    assert_eq!(download.bytes().await.unwrap().as_ref(), wheel.as_slice());

    // The root lists the project.
    let root = server.get("/api/v1/local/py/simple/").await.text().await.unwrap();
    assert!(root.contains("<a href=\"hosted-demo/\">hosted-demo</a>"), "{root}");

    let index = server.url("/api/v1/local/py/simple/");
    let target = work.path().join("pip");
    let out = pip(index.clone(), "hosted-demo==1.0", &target).await;
    assert!(out.status.success(), "pip: {}", text(&out));
    assert!(target.join("Hosted_Demo/__init__.py").exists());
    let target = work.path().join("uv");
    let out = uv(index.clone(), "hosted-demo==1.0", &target).await;
    assert!(out.status.success(), "uv: {}", text(&out));
    assert!(target.join("Hosted_Demo/__init__.py").exists());

    // Re-uploading the same file is a conflict, under any spelling of its name.
    let out = twine(upload_url.clone(), ADMIN_TOKEN, vec![wheel_path.clone()]).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("409"), "{}", text(&out));
    let respelled = work.path().join("respelled");
    std::fs::create_dir_all(&respelled).unwrap();
    let respelled = respelled.join("hosted.demo-1.0-py3-none-any.whl");
    std::fs::write(&respelled, &wheel).unwrap();
    let (status, body) = curl_upload(
        upload_url.clone(),
        Some(ADMIN_TOKEN),
        form("hosted.demo", "1.0"),
        &respelled,
    )
    .await;
    assert_eq!(status, 409, "{body}");

    // A yanked release is skipped by an unpinned install; DELETE removes a file.
    build_wheel(work.path(), "Hosted_Demo", "1.1");
    let newer = work.path().join("Hosted_Demo-1.1-py3-none-any.whl");
    let out = twine(upload_url.clone(), ADMIN_TOKEN, vec![newer]).await;
    assert!(out.status.success(), "twine: {}", text(&out));
    let file_url = server.url("/api/v1/local/py/packages/hosted-demo/Hosted_Demo-1.1-py3-none-any.whl");
    let http = reqwest::Client::new();
    let yank = http
        .patch(&file_url)
        .json(&json!({"yanked": "broken"}))
        .send()
        .await
        .unwrap();
    assert_eq!(yank.status(), 401, "yanking needs a token");
    let yank = http
        .patch(&file_url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"yanked": "broken"}))
        .send()
        .await
        .unwrap();
    assert_eq!(yank.status(), 204);
    let html = server
        .get("/api/v1/local/py/simple/hosted-demo/")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("data-yanked=\"broken\""), "{html}");
    let target = work.path().join("pip-unpinned");
    let out = pip(index.clone(), "hosted-demo", &target).await;
    assert!(out.status.success(), "pip: {}", text(&out));
    let installed = std::fs::read_to_string(target.join("Hosted_Demo/__init__.py")).unwrap();
    assert!(installed.contains("1.0"), "the yanked 1.1 is skipped: {installed}");
    let deleted = http.delete(&file_url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        server
            .get("/api/v1/local/py/packages/hosted-demo/Hosted_Demo-1.1-py3-none-any.whl")
            .await
            .status(),
        404
    );
    let html = server
        .get("/api/v1/local/py/simple/hosted-demo/")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Hosted_Demo-1.1"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_and_store_nothing() {
    let (server, work) = setup().await;
    let url = server.url("/api/v1/local/py/");
    build_wheel(work.path(), "refused", "1.0");
    let wheel = work.path().join("refused-1.0-py3-none-any.whl");

    let (status, _) = curl_upload(url.clone(), None, form("refused", "1.0"), &wheel).await;
    assert_eq!(status, 401, "anonymous upload");

    let mut wrong = form("refused", "1.0");
    wrong.push(("sha256_digest", "0".repeat(64)));
    let (status, body) = curl_upload(url.clone(), Some(ADMIN_TOKEN), wrong, &wheel).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("CHECKSUM_MISMATCH"), "{body}");

    // METADATA names another project than the file name.
    let other = work.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let lying = build_wheel(&other, "someone_else", "1.0");
    let lying_path = other.join("refused-1.0-py3-none-any.whl");
    std::fs::write(&lying_path, lying).unwrap();
    let (status, body) = curl_upload(url.clone(), Some(ADMIN_TOKEN), form("refused", "1.0"), &lying_path).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("someone_else"), "{body}");

    let corrupt = work.path().join("corrupt");
    std::fs::create_dir_all(&corrupt).unwrap();
    let corrupt_zip = corrupt.join("refused-1.0-py3-none-any.whl");
    std::fs::write(&corrupt_zip, b"PK\x03\x04 this is not a zip").unwrap();
    let corrupt_tar = corrupt.join("refused-1.0.tar.gz");
    std::fs::write(&corrupt_tar, b"\x1f\x8b\x08 not gzip either").unwrap();
    let tricky = python_zip(
        &corrupt.join("tricky"),
        "refused-1.0-py3-none-any.whl",
        &[
            ("../../evil.py", "x = 1\n".to_string()),
            (
                "refused-1.0.dist-info/METADATA",
                "Name: refused\nVersion: 1.0\n".to_string(),
            ),
        ],
    );
    let huge = python_zip(
        &corrupt.join("huge"),
        "refused-1.0-py3-none-any.whl",
        &[(
            "refused-1.0.dist-info/METADATA",
            format!(
                "Name: refused\nVersion: 1.0\nSummary: {}\n",
                "x".repeat(2 * 1024 * 1024)
            ),
        )],
    );
    let table: Vec<(UploadForm, &Path, &str)> = vec![
        (form("refused", "1.0"), &corrupt_zip, "not a valid wheel"),
        (
            {
                let mut f = form("refused", "1.0");
                f.push(("filetype", "sdist".into()));
                f
            },
            &corrupt_tar,
            "not a valid sdist",
        ),
        (form("refused", "1.0"), &tricky, "outside"),
        (form("refused", "1.0"), &huge, "larger than"),
        (form("refused", "one.zero"), &wheel, "PEP 440"),
        (form("refused", "2.0"), &wheel, "does not match version"),
        (form("someone", "1.0"), &wheel, "does not belong"),
        (
            {
                let mut f = form("refused", "1.0");
                f[0].1 = "remove_pkg".into();
                f
            },
            &wheel,
            "unsupported :action",
        ),
    ];
    for (fields, file, message) in table {
        let (status, body) = curl_upload(url.clone(), Some(ADMIN_TOKEN), fields, file).await;
        assert_eq!(status, 400, "{}: {body}", file.display());
        assert!(
            body.contains("INVALID_PACKAGE") && body.contains(message),
            "{message}: {body}"
        );
    }
    assert_eq!(
        server.get("/api/v1/local/py/simple/refused/").await.status(),
        404,
        "nothing stored"
    );
    let objects: Value = reqwest::Client::new()
        .get(server.url("/api/v2/repositories/py/objects"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(objects, json!([]), "nothing stored: {objects}");
    // A good upload afterwards works: the refusals left nothing in the way.
    let (status, body) = curl_upload(url, Some(ADMIN_TOKEN), form("refused", "1.0"), &wheel).await;
    assert_eq!(status, 200, "{body}");
}
