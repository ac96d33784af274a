//! End to end: `pip install` (and `uv pip install`) through a PyPI remote whose index links to files on another host,
//! then again with both upstream hosts stopped (served from the cache).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::json;
use std::path::Path;
use std::process::Command;
use support::packages::{build_wheel, simple_page};
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

/// Runs pip off the test's runtime thread, so the fake upstreams keep answering meanwhile.
async fn pip_install(server: &Server, package: &str, target: &Path) -> std::process::Output {
    let (index, package, target) = (
        server.url("/api/v1/remote/pypi/simple/"),
        package.to_string(),
        target.to_path_buf(),
    );
    tokio::task::spawn_blocking(move || pip_install_blocking(&index, &package, &target))
        .await
        .unwrap()
}

fn pip_install_blocking(index: &str, package: &str, target: &Path) -> std::process::Output {
    Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--no-deps",
        ])
        .args(["--index-url", index, "--trusted-host", "127.0.0.1"])
        .arg("--target")
        .arg(target)
        .arg(package)
        .env("PIP_CONFIG_FILE", "/dev/null")
        .output()
        .unwrap()
}

/// The same install with uv (`uv pip install`, from PyPI, installed by `scripts/test.sh`), which
/// asks for PEP 691 JSON first and falls back to the HTML page.
async fn uv_install(server: &Server, package: &str, target: &Path) -> std::process::Output {
    let (index, package, target) = (
        server.url("/api/v1/remote/pypi/simple/"),
        package.to_string(),
        target.to_path_buf(),
    );
    tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-m", "uv", "pip", "install", "--no-cache", "--no-deps", "--no-config"])
            .args(["--index-url", &index, "--python", "python3"])
            .arg("--target")
            .arg(&target)
            .arg(&package)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn uv_available() -> bool {
    Command::new("python3")
        .args(["-m", "uv", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pip_installs_through_the_remote_and_again_from_cache() {
    let work = tempfile::tempdir().unwrap();
    let wheel = build_wheel(work.path(), "aademo", "1.0");
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&wheel));
    let index = FakeUpstream::start().await;
    let files = FakeUpstream::start().await;
    files.put(
        "packages/aa/aademo-1.0-py3-none-any.whl",
        FakeFile::Bytes(Bytes::from(wheel.clone())),
    );
    files.put(
        "packages/aa/aabad-1.0-py3-none-any.whl",
        FakeFile::Bytes(Bytes::from(wheel)),
    );
    let file_url = format!("{}/packages/aa/aademo-1.0-py3-none-any.whl#sha256={sha}", files.base);
    index.put(
        "pypi/simple/aademo/",
        simple_page(&[(file_url, "aademo-1.0-py3-none-any.whl".into())]),
    );
    let bad_url = format!(
        "{}/packages/aa/aabad-1.0-py3-none-any.whl#sha256={}",
        files.base,
        "0".repeat(64)
    );
    index.put(
        "pypi/simple/aabad/",
        simple_page(&[(bad_url, "aabad-1.0-py3-none-any.whl".into())]),
    );

    // The files host is another loopback port, which upstream_deny_networks refuses by default
    // for hosts an index names.
    let server = Server::start(&[("ARTIFACTAPI_UPSTREAM_DENY_NETWORKS", String::new())]).await;
    let created = reqwest::Client::new()
        .post(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "pypi", "kind": "remote", "package": "pypi", "base_url": format!("{}/pypi", index.base)}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    let page = reqwest::get(server.url("/api/v1/remote/pypi/simple/aademo/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !page.contains(&files.base),
        "no direct link to the files host is served: {page}"
    );
    assert!(
        page.contains(&format!("#sha256={sha}")) && page.contains("data-requires-python"),
        "{page}"
    );

    let first = pip_install(&server, "aademo", &work.path().join("first")).await;
    assert!(
        first.status.success(),
        "pip failed: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(work.path().join("first/aademo/__init__.py").exists());
    assert_eq!(files.hits("packages/aa/aademo-1.0-py3-none-any.whl"), 1);
    let uv = support::backend_or_skip("uv", uv_available().then_some(())).is_some();
    if uv {
        let out = uv_install(&server, "aademo", &work.path().join("uv-first")).await;
        assert!(
            out.status.success(),
            "uv failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(work.path().join("uv-first/aademo/__init__.py").exists());
        assert_eq!(
            files.hits("packages/aa/aademo-1.0-py3-none-any.whl"),
            1,
            "the wheel came from the cache"
        );
    }

    let bad = pip_install(&server, "aabad", &work.path().join("bad")).await;
    assert!(
        !bad.status.success(),
        "a file whose digest does not match its index must not install"
    );
    assert!(!work.path().join("bad/aademo").exists());

    index.stop().await;
    files.stop().await;
    let second = pip_install(&server, "aademo", &work.path().join("second")).await;
    assert!(
        second.status.success(),
        "pip from cache failed: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(work.path().join("second/aademo/__init__.py").exists());
    if uv {
        let out = uv_install(&server, "aademo", &work.path().join("uv-second")).await;
        assert!(
            out.status.success(),
            "uv from cache failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(work.path().join("uv-second/aademo/__init__.py").exists());
    }
}

#[tokio::test]
async fn forged_file_links_are_refused() {
    let index = FakeUpstream::start().await;
    let server = Server::start(&[]).await;
    let created = reqwest::Client::new()
        .post(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": "pypi", "kind": "remote", "package": "pypi", "base_url": format!("{}/pypi", index.base)}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let forged = format!(
        "/api/v1/remote/pypi/_files/{}/-/http/127.0.0.1:22/etc/passwd",
        "0".repeat(32)
    );
    let r = reqwest::get(server.url(&forged)).await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no open proxy");
}

/// A link on the index's own host that promises a digest is verified like any other: the
/// mismatching file is a 502 and is not cached; a matching one is served.
#[tokio::test]
async fn links_on_the_index_host_are_verified_too() {
    let index = FakeUpstream::start().await;
    index.put(
        "pypi/files/aagood-1.0.tar.gz",
        FakeFile::Bytes(Bytes::from_static(b"the real sdist")),
    );
    index.put(
        "pypi/files/aaswap-1.0.tar.gz",
        FakeFile::Bytes(Bytes::from_static(b"not what the index promised")),
    );
    let good = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"the real sdist"));
    index.put(
        "pypi/simple/aamixed/",
        simple_page(&[
            (
                format!("/pypi/files/aagood-1.0.tar.gz#sha256={good}"),
                "aagood-1.0.tar.gz".into(),
            ),
            (
                format!("../../files/aaswap-1.0.tar.gz#sha256={}", "0".repeat(64)),
                "aaswap-1.0.tar.gz".into(),
            ),
        ]),
    );
    let server = Server::start(&[]).await;
    server
        .create_repository(
            json!({"name": "pypi", "kind": "remote", "package": "pypi", "base_url": format!("{}/pypi", index.base)}),
        )
        .await;
    let page_url = server.url("/api/v1/remote/pypi/simple/aamixed/");
    let page = reqwest::get(&page_url).await.unwrap().text().await.unwrap();
    let links: Vec<String> = page
        .split("href=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"))
        .collect();
    assert_eq!(links.len(), 2, "{page}");
    let base = reqwest::Url::parse(&page_url).unwrap();
    for _ in 0..2 {
        let r = reqwest::get(base.join(&links[1]).unwrap()).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_GATEWAY, "{}", links[1]);
    }
    assert_eq!(
        index.hits("pypi/files/aaswap-1.0.tar.gz"),
        2,
        "the mismatch was not cached"
    );
    let r = reqwest::get(base.join(&links[0]).unwrap()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"the real sdist");
}

/// A file that does not match the digest its index promised is reported as exactly that.
#[tokio::test]
async fn a_digest_mismatch_is_named_as_such() {
    let index = FakeUpstream::start().await;
    index.put(
        "pypi/files/aaswap-1.0.tar.gz",
        FakeFile::Bytes(Bytes::from_static(b"not what the index promised")),
    );
    index.put(
        "pypi/simple/aaswap/",
        simple_page(&[(
            format!("/pypi/files/aaswap-1.0.tar.gz#sha256={}", "0".repeat(64)),
            "aaswap-1.0.tar.gz".into(),
        )]),
    );
    let server = Server::start(&[]).await;
    server
        .create_repository(
            json!({"name": "pypi", "kind": "remote", "package": "pypi", "base_url": format!("{}/pypi", index.base)}),
        )
        .await;
    let page_url = server.url("/api/v1/remote/pypi/simple/aaswap/");
    let page = reqwest::get(&page_url).await.unwrap().text().await.unwrap();
    let href = page
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = reqwest::get(reqwest::Url::parse(&page_url).unwrap().join(&href).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "UPSTREAM_FAILED");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("did not match the digest its index promised"),
        "{message}"
    );
    assert!(!message.contains("concurrent"), "{message}");
}
