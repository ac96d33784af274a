//! End to end: a local alpine repository through the real binary. apk has no client here, so
//! the test does what apk does: fetch the key named under `keys/`, download
//! `<arch>/APKINDEX.tar.gz`, verify its RSA signature with that key (the rsa crate, and the
//! openssl CLI when installed), check every block's `C:` and `S:` against the uploaded files
//! and follow every package it names (byte-identical). Bad uploads are refused with a JSON 4xx
//! and leave the index as it was; a re-upload is a conflict; DELETE takes a package out; the
//! quota holds; a
//! second replica (PostgreSQL + S3) signs with the same key and lists an upload at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::apk::{self, Apk, blocks, field, verify_index};
use support::rpm::put;
use support::server::{ADMIN_TOKEN, Server};

const REPO: &str = "/api/v1/local/alp/";
const DIR: &str = "v3.20/main/x86_64/";

/// The repository's key file name and PEM public key, as a user installs them.
async fn key(server: &Server, repo: &str) -> (String, String) {
    let r = server.get(&format!("{repo}keys/")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let name = r.text().await.unwrap().trim().to_string();
    assert!(name.starts_with("artifactapi-") && name.ends_with(".rsa.pub"), "{name}");
    let r = server.get(&format!("{repo}keys/{name}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/x-pem-file");
    (name, r.text().await.unwrap())
}

/// The index at `path`, checked for its headers and signature; its raw bytes and text.
async fn index(server: &Server, path: &str, key: &(String, String)) -> (Vec<u8>, String) {
    let r = server.get(path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    assert_eq!(r.headers()["content-type"], "application/gzip");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(etag.starts_with('"'), "{etag}");
    let bytes = r.bytes().await.unwrap().to_vec();
    let again = server
        .http
        .get(server.url(path))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let text = verify_index(&bytes, &key.1, &key.0);
    (bytes, text)
}

/// Every block names a package whose file is served next to the index, byte-identical to the
/// upload, with the `C:` and `S:` of that upload.
async fn follow(server: &Server, repo_dir: &str, text: &str, uploads: &[(&str, &Apk)]) {
    for block in blocks(text) {
        let file = format!("{}-{}.apk", field(&block, 'P'), field(&block, 'V'));
        let (_, uploaded) = uploads
            .iter()
            .find(|(name, _)| *name == file)
            .unwrap_or_else(|| panic!("{file} was not uploaded"));
        assert_eq!(field(&block, 'C'), apk::q1(&uploaded.control), "{file}");
        assert_eq!(field(&block, 'S'), uploaded.bytes.len().to_string(), "{file}");
        let r = server.get(&format!("{repo_dir}{file}")).await;
        assert_eq!(r.status(), StatusCode::OK, "{file}");
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        assert_eq!(r.bytes().await.unwrap().as_ref(), uploaded.bytes.as_slice(), "{file}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_are_signed_list_uploads_and_refuse_bad_ones() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "alp", "kind": "local", "package": "alpine"}))
        .await;
    let key = key(&server, REPO).await;
    let index_path = format!("{REPO}{DIR}APKINDEX.tar.gz");
    let (_, empty) = index(&server, &index_path, &key).await;
    assert_eq!(empty, "");

    let extra = "depend = so:libc.musl-x86_64.so.1\ndepend = zlib>=1.2\nprovides = cmd:hello=1.0-r0\n";
    let hello = apk::build(&apk::pkginfo("hello", "1.0-r0", "x86_64", extra), true);
    let docs = apk::simple("hello-doc", "1.0-r0", "noarch");
    let other = apk::simple("world", "2.0-r1", "aarch64");
    for (path, body) in [
        (format!("{DIR}hello-1.0-r0.apk"), &hello),
        (format!("{DIR}hello-doc-1.0-r0.apk"), &docs),
        ("v3.20/main/aarch64/world-2.0-r1.apk".to_string(), &other),
    ] {
        let r = put(&server, REPO, &path, body.bytes.clone()).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{path}: {}", r.text().await.unwrap());
    }
    let (before, text) = index(&server, &index_path, &key).await;
    let listed: Vec<String> = blocks(&text).iter().map(|b| field(b, 'P')).collect();
    assert_eq!(listed, ["hello", "hello-doc"], "{text}");
    let block = &blocks(&text)[0];
    assert_eq!(field(block, 'D'), "so:libc.musl-x86_64.so.1 zlib>=1.2");
    assert_eq!(field(block, 'A'), "x86_64");
    assert_eq!(field(block, 'I'), "4096");
    follow(
        &server,
        &format!("{REPO}{DIR}"),
        &text,
        &[("hello-1.0-r0.apk", &hello), ("hello-doc-1.0-r0.apk", &docs)],
    )
    .await;
    let (_, arm) = index(&server, &format!("{REPO}v3.20/main/aarch64/APKINDEX.tar.gz"), &key).await;
    assert_eq!(
        blocks(&arm).iter().map(|b| field(b, 'P')).collect::<Vec<_>>(),
        ["world"]
    );

    // Bad uploads: a clear 4xx JSON error, nothing stored, the index unchanged.
    let huge = apk::build(
        &apk::pkginfo(
            "big",
            "1.0-r0",
            "x86_64",
            &format!("pkgdesc = {}\n", "x".repeat(2 << 20)),
        ),
        true,
    );
    let truncated = hello.bytes[..hello.bytes.len() - 40].to_vec();
    let bad = [
        (
            format!("{DIR}hello-1.0-r0.apk"),
            hello.bytes.clone(),
            StatusCode::CONFLICT,
        ),
        (
            format!("{DIR}hello-1.0-r1.apk"),
            hello.bytes.clone(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "v3.20/main/aarch64/hello-1.0-r0.apk".into(),
            hello.bytes.clone(),
            StatusCode::BAD_REQUEST,
        ),
        (format!("{DIR}trunc-1.0-r0.apk"), truncated, StatusCode::BAD_REQUEST),
        (
            format!("{DIR}junk-1.0-r0.apk"),
            b"not an apk".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (format!("{DIR}big-1.0-r0.apk"), huge.bytes, StatusCode::BAD_REQUEST),
        ("hello-1.0-r0.apk".into(), hello.bytes.clone(), StatusCode::BAD_REQUEST),
        (format!("{DIR}APKINDEX.tar.gz"), before.clone(), StatusCode::BAD_REQUEST),
    ];
    for (path, body, status) in bad {
        let r = put(&server, REPO, &path, body).await;
        assert_eq!(r.status(), status, "{path}");
        let error: serde_json::Value = r.json().await.unwrap();
        assert!(error["code"].is_string() && error["message"].is_string(), "{error}");
        if status == StatusCode::BAD_REQUEST && path.ends_with(".apk") {
            assert_eq!(
                server.get(&format!("{REPO}{path}")).await.status(),
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    }
    let anonymous = reqwest::Client::new()
        .put(server.url(&format!("{REPO}{DIR}anon-1.0-r0.apk")))
        .body(hello.bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        index(&server, &index_path, &key).await.0,
        before,
        "refused uploads change nothing"
    );

    // DELETE takes the package out of the index and its file away.
    let deleted = server
        .http
        .delete(server.url(&format!("{REPO}{DIR}hello-1.0-r0.apk")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let (_, text) = index(&server, &index_path, &key).await;
    assert!(!text.contains("P:hello\n") && text.contains("P:hello-doc\n"), "{text}");
    let gone = server.get(&format!("{REPO}{DIR}hello-1.0-r0.apk")).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    // quota_bytes counts apk uploads as any other: past it, 413 QUOTA_EXCEEDED, nothing stored.
    server
        .create_repository(json!({"name": "small", "kind": "local", "package": "alpine", "quota_bytes": 100}))
        .await;
    let r = put(
        &server,
        "/api/v1/local/small/",
        &format!("{DIR}hello-1.0-r0.apk"),
        hello.bytes.clone(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let error: serde_json::Value = r.json().await.unwrap();
    assert_eq!(error["code"], "QUOTA_EXCEEDED", "{error}");
    let small = format!("/api/v1/local/small/{DIR}");
    assert_eq!(
        server.get(&format!("{small}hello-1.0-r0.apk")).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(index(&server, &format!("{small}APKINDEX.tar.gz"), &key).await.1, "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_replica_signs_with_the_same_key_and_lists_an_upload_at_once() {
    let Some(database_url) = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)
    else {
        return;
    };
    let s3 = support::s3::TestS3::start().await;
    let env = support::shared_backends_env(database_url, &s3, "alpine-replicas");
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    a.create_repository(json!({"name": "alp", "kind": "local", "package": "alpine"}))
        .await;
    let key_a = key(&a, REPO).await;
    assert_eq!(key(&b, REPO).await, key_a, "one key for the instance");
    let index_path = format!("{REPO}{DIR}APKINDEX.tar.gz");
    assert_eq!(index(&b, &index_path, &key_a).await.1, "");
    let hello = apk::simple("hello", "1.0-r0", "x86_64");
    let r = put(&a, REPO, &format!("{DIR}hello-1.0-r0.apk"), hello.bytes.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (on_b, text) = index(&b, &index_path, &key_a).await;
    follow(&b, &format!("{REPO}{DIR}"), &text, &[("hello-1.0-r0.apk", &hello)]).await;
    assert!(text.contains("P:hello\n"), "{text}");
    assert_eq!(
        index(&a, &index_path, &key_a).await.0,
        on_b,
        "the same bytes from either replica"
    );
}
