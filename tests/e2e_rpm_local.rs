//! End to end: a local rpm repository with the real dnf. Two packages built by rpmbuild are
//! uploaded with PUT; dnf lists them (repoquery), downloads one byte-identical and installs the
//! other, resolving its dependency on the first, all from repodata the server rendered from its
//! records. Bad uploads are refused with a JSON error and leave repomd.xml as it was; every file
//! an older repomd.xml names still resolves after another upload.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use flate2::read::GzDecoder;
use reqwest::StatusCode;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use std::io::Read;
use support::rpm::{build, dnf, dnf_checked, ok, put, tools_or_skip};
use support::server::{ADMIN_TOKEN, Server};

const REPO: &str = "/api/v1/local/el/";

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The (href, sha256) pairs repomd.xml names.
fn data_files(repomd: &str) -> Vec<(String, String)> {
    repomd
        .split("<data type=")
        .skip(1)
        .map(|data| {
            let between = |a: &str, b: &str| data.split(a).nth(1).unwrap().split(b).next().unwrap().to_string();
            (
                between("<location href=\"", "\""),
                between("<checksum type=\"sha256\">", "<"),
            )
        })
        .collect()
}

async fn repomd(server: &Server) -> String {
    let r = server.get(&format!("{REPO}repodata/repomd.xml")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["etag"].to_str().unwrap().starts_with('"'));
    assert!(r.headers()["content-type"].to_str().unwrap().contains("xml"));
    r.text().await.unwrap()
}

/// Every file repomd.xml names is served, with the checksum repomd gives; the primary's text.
async fn follow(server: &Server, repomd: &str) -> String {
    let mut primary = String::new();
    let files = data_files(repomd);
    assert_eq!(files.len(), 3, "{repomd}");
    for (href, sha256) in files {
        let r = server.get(&format!("{REPO}{href}")).await;
        assert_eq!(r.status(), StatusCode::OK, "{href}");
        let body = r.bytes().await.unwrap();
        assert_eq!(hex(&body), sha256, "{href}");
        if href.ends_with("-primary.xml.gz") {
            GzDecoder::new(body.as_ref()).read_to_string(&mut primary).unwrap();
        }
    }
    primary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnf_lists_downloads_and_installs_uploaded_packages() {
    if !tools_or_skip() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let lib = std::fs::read(build(work.path(), "aalib", "1.0", "")).unwrap();
    let app = std::fs::read(build(work.path(), "aaapp", "2.0", "aalib >= 1.0")).unwrap();
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "el", "kind": "local", "package": "rpm"}))
        .await;
    let empty = repomd(&server).await;
    assert!(follow(&server, &empty).await.contains("packages=\"0\""));

    let r = put(&server, REPO, "aalib-1.0-1.noarch.rpm", lib.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    let r = put(&server, REPO, "Packages/a/aaapp-2.0-1.noarch.rpm", app.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
    let before = repomd(&server).await;
    let primary = follow(&server, &before).await;
    assert!(
        primary.contains("<location href=\"Packages/a/aaapp-2.0-1.noarch.rpm\"/>"),
        "{primary}"
    );
    assert!(primary.contains("<rpm:entry name=\"aalib\" flags=\"GE\" epoch=\"0\" ver=\"1.0\"/>"));

    // Bad uploads: a clear 4xx JSON error, nothing stored, repodata unchanged.
    let truncated = lib[..lib.len().min(2000)].to_vec();
    let bad = [
        ("aalib-1.0-1.noarch.rpm", lib.clone(), StatusCode::CONFLICT),
        ("x/aalib-1.0-1.noarch.rpm", lib.clone(), StatusCode::CONFLICT),
        ("aalib-9.0-1.noarch.rpm", lib.clone(), StatusCode::BAD_REQUEST),
        ("aaother-1.0-1.noarch.rpm", truncated, StatusCode::BAD_REQUEST),
        (
            "aagarbage-1.0-1.noarch.rpm",
            b"not an rpm at all".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("repodata/repomd.xml", b"<repomd/>".to_vec(), StatusCode::BAD_REQUEST),
    ];
    for (path, body, status) in bad {
        let r = put(&server, REPO, path, body).await;
        assert_eq!(r.status(), status, "{path}");
        let error: serde_json::Value = r.json().await.unwrap();
        assert!(error["code"].is_string() && error["message"].is_string(), "{error}");
        if status == StatusCode::BAD_REQUEST && !path.starts_with("repodata/") {
            assert_eq!(
                server.get(&format!("{REPO}{path}")).await.status(),
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    }
    assert_eq!(repomd(&server).await, before, "refused uploads change nothing");
    let anonymous = reqwest::Client::new()
        .put(server.url(&format!("{REPO}aalib-1.0-1.noarch.rpm")))
        .body(lib.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let url = server.url(REPO);
    let root = work.path().join("dnf");
    let listed = ok(
        &dnf(
            url.clone(),
            &root,
            &["repoquery", "--qf", "%{name}-%{version}-%{release}"],
        )
        .await,
        "repoquery",
    );
    assert!(
        listed.contains("aalib-1.0-1") && listed.contains("aaapp-2.0-1"),
        "{listed}"
    );
    let requires = ok(
        &dnf(url.clone(), &root, &["repoquery", "--requires", "aaapp"]).await,
        "repoquery --requires",
    );
    assert!(requires.contains("aalib >= 1.0"), "{requires}");

    let downloads = work.path().join("downloads");
    let download_root = work.path().join("dnf-download");
    let args = [
        "install",
        "--downloadonly",
        "--destdir",
        downloads.to_str().unwrap(),
        "aalib",
    ];
    ok(&dnf(url.clone(), &download_root, &args).await, "download");
    assert_eq!(std::fs::read(downloads.join("aalib-1.0-1.noarch.rpm")).unwrap(), lib);

    ok(&dnf(url.clone(), &root, &["install", "aaapp"]).await, "install");
    let installed = |name: &str| std::fs::read_to_string(root.join(format!("root/opt/{name}/{name}.txt")));
    assert_eq!(installed("aaapp").unwrap(), "aaapp 2.0\n");
    assert_eq!(installed("aalib").unwrap(), "aalib 1.0\n", "the dependency came along");

    // A newer upload: the old repomd's files still resolve, the new one lists the new package
    // and dnf upgrades to it.
    let lib2 = std::fs::read(build(work.path(), "aalib", "1.1", "")).unwrap();
    let r = put(&server, REPO, "aalib-1.1-1.noarch.rpm", lib2).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    follow(&server, &before).await;
    let after = repomd(&server).await;
    assert_ne!(after, before);
    assert!(follow(&server, &after).await.contains("aalib-1.1-1.noarch.rpm"));
    ok(
        &dnf(url.clone(), &root, &["--refresh", "upgrade", "aalib"]).await,
        "upgrade",
    );
    assert_eq!(installed("aalib").unwrap(), "aalib 1.1\n");

    // Conditional GET of repomd, then a delete drops the package from repodata.
    let etag = server.get(&format!("{REPO}repodata/repomd.xml")).await.headers()["etag"].clone();
    let r = reqwest::Client::new()
        .get(server.url(&format!("{REPO}repodata/repomd.xml")))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = reqwest::Client::new()
        .delete(server.url(&format!("{REPO}aalib-1.1-1.noarch.rpm")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(!follow(&server, &repomd(&server).await).await.contains("aalib-1.1-1"));
}

/// repomd.xml.asc verifies with repomd.xml.key (the instance's key, kept in the database): dnf
/// with `repo_gpgcheck` installs; pointed at another instance's key it refuses the repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnf_verifies_the_signed_repomd() {
    if !tools_or_skip() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let lib = std::fs::read(build(work.path(), "aalib", "1.0", "")).unwrap();
    let server = Server::start(&[]).await;
    let other = Server::start(&[]).await;
    for s in [&server, &other] {
        s.create_repository(json!({"name": "el", "kind": "local", "package": "rpm"}))
            .await;
    }
    let r = put(&server, REPO, "aalib-1.0-1.noarch.rpm", lib).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let asc = server.get(&format!("{REPO}repodata/repomd.xml.asc")).await;
    assert_eq!(asc.status(), StatusCode::OK);
    assert!(asc.text().await.unwrap().starts_with("-----BEGIN PGP SIGNATURE-----"));
    let key = server.get(&format!("{REPO}repodata/repomd.xml.key")).await;
    assert!(key.text().await.unwrap().contains("BEGIN PGP PUBLIC KEY BLOCK"));

    let url = server.url(REPO);
    let own_key = server.url(&format!("{REPO}repodata/repomd.xml.key"));
    let root = work.path().join("signed");
    ok(
        &dnf_checked(url.clone(), Some(own_key), &root, &["install", "aalib"]).await,
        "signed install",
    );
    assert!(root.join("root/opt/aalib/aalib.txt").exists());

    let wrong_key = other.url(&format!("{REPO}repodata/repomd.xml.key"));
    let refused = dnf_checked(url, Some(wrong_key), &work.path().join("wrong"), &["install", "aalib"]).await;
    assert_eq!(
        other.get(&format!("{REPO}repodata/repomd.xml.key")).await.status(),
        StatusCode::OK
    );
    let said = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(
        !refused.status.success(),
        "a repomd signed by another key must be refused"
    );
    assert!(said.contains("gpg") || said.contains("signature"), "{said}");
    assert!(!work.path().join("wrong/root/opt/aalib/aalib.txt").exists());
}
