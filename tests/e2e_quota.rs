//! Local repository quotas end to end, on the real server with the real clients: a generic
//! PUT (declared and streamed), twine, and a docker push with skopeo are refused with 413
//! `QUOTA_EXCEEDED` once they would go over `quota_bytes`, store nothing, and go through again
//! after a delete makes room.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::oci;
use support::packages::build_wheel;
use support::python::{text, twine};
use support::server::{ADMIN_TOKEN, Server};
use support::skopeo::{args, creds, push, skopeo, skopeo_available};

const KIB: usize = 1024;

/// Bytes gzip cannot shrink (docker layers are gzipped), different for every seed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

async fn put(server: &Server, path: &str, body: reqwest::Body) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .put(server.url(&format!("/api/v1/local/files/{path}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A body sent chunked, without a Content-Length.
fn streamed(data: Vec<u8>) -> reqwest::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = data.chunks(16 * KIB).map(|c| Ok(c.to_vec())).collect();
    reqwest::Body::wrap_stream(futures::stream::iter(chunks))
}

async fn delete(server: &Server, path: &str) -> StatusCode {
    reqwest::Client::new()
        .delete(server.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generic_uploads_stop_at_the_quota_and_deletes_make_room() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "files", "kind": "local", "package": "generic", "quota_bytes": 1024 * KIB}))
        .await;
    let (status, _) = put(&server, "a.bin", noise(1, 600 * KIB).into()).await;
    assert_eq!(status, StatusCode::CREATED);

    // Declared (Content-Length) too big for the 424 KiB left: refused before the body is read.
    let (status, error) = put(&server, "b.bin", noise(2, 600 * KIB).into()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
    assert_eq!(error["code"], "QUOTA_EXCEEDED");
    assert!(error["message"].as_str().unwrap().contains("quota"), "{error}");
    // Streamed: cut off when it reaches the quota.
    let (status, error) = put(&server, "b.bin", streamed(noise(2, 600 * KIB))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
    assert_eq!(error["code"], "QUOTA_EXCEEDED");
    assert_eq!(
        server.get("/api/v1/local/files/b.bin").await.status(),
        404,
        "nothing stored"
    );

    // Exactly what is left fits; then the repository is full, even for one byte.
    let (status, _) = put(&server, "c.bin", streamed(noise(3, 424 * KIB))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, error) = put(&server, "d.bin", b"x".to_vec().into()).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("QUOTA_EXCEEDED"))
    );

    // A full repository still takes deletes, which make room again.
    assert_eq!(
        delete(&server, "/api/v1/local/files/a.bin").await,
        StatusCode::NO_CONTENT
    );
    let (status, _) = put(&server, "b.bin", streamed(noise(2, 600 * KIB))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(server.get("/api/v1/local/files/b.bin").await.status(), 200);

    // Raising the quota through the API takes effect on the next upload.
    let patched = reqwest::Client::new()
        .patch(server.url("/api/v2/repositories/files"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"quota_bytes": 2048 * KIB}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200, "{}", patched.text().await.unwrap());
    let (status, _) = put(&server, "d.bin", b"x".to_vec().into()).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twine_is_refused_over_the_quota() {
    let work = tempfile::tempdir().unwrap();
    let first = build_wheel(work.path(), "first_pkg", "1.0");
    let second = build_wheel(work.path(), "second_pkg", "1.0");
    let server = Server::start(&[]).await;
    // Room for one wheel (and its metadata file), not two.
    let quota = first.len().max(second.len()) + 512;
    server
        .create_repository(json!({"name": "py", "kind": "local", "package": "pypi", "quota_bytes": quota}))
        .await;
    let upload = server.url("/api/v1/local/py/");
    let wheel = |name: &str| work.path().join(format!("{name}-1.0-py3-none-any.whl"));
    let out = twine(upload.clone(), ADMIN_TOKEN, vec![wheel("first_pkg")]).await;
    assert!(out.status.success(), "twine: {}", text(&out));

    let out = twine(upload.clone(), ADMIN_TOKEN, vec![wheel("second_pkg")]).await;
    assert!(!out.status.success(), "over the quota: {}", text(&out));
    assert!(text(&out).contains("413"), "{}", text(&out));
    assert_eq!(server.get("/api/v1/local/py/simple/second-pkg/").await.status(), 404);

    let status = delete(
        &server,
        "/api/v1/local/py/packages/first-pkg/first_pkg-1.0-py3-none-any.whl",
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let out = twine(upload, ADMIN_TOKEN, vec![wheel("second_pkg")]).await;
    assert!(out.status.success(), "room again: {}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_pushes_are_refused_over_the_quota() {
    if support::backend_or_skip("skopeo", skopeo_available().then_some(())).is_none() {
        return;
    }
    // No grace period, so a GC run drops a deleted image's layer links at once.
    let server = Server::start(&[
        ("ARTIFACTAPI_GC_GRACE_PERIOD", "0".to_string()),
        ("ARTIFACTAPI_GC_INTERVAL", "0".to_string()),
    ])
    .await;
    server
        .create_repository(
            json!({"name": "containers", "kind": "local", "package": "docker", "quota_bytes": 300 * KIB}),
        )
        .await;
    let work = tempfile::tempdir().unwrap();
    let host = &server.addr;
    let (one, one_manifest, _) = oci::layered(work.path(), "one", &[&noise(10, 200 * KIB)]);
    let (two, _, _) = oci::layered(work.path(), "two", &[&noise(20, 200 * KIB)]);
    push(&one, "one", &format!("docker://{host}/containers/app:one"), false).await;

    let mut refused = args(&["copy", "--dest-tls-verify=false", "--dest-creds", &creds()]);
    refused.push(format!("oci:{}:two", two.display()));
    refused.push(format!("docker://{host}/containers/app:two"));
    let (ok, stderr) = skopeo(refused).await;
    assert!(!ok, "the second image does not fit");
    assert!(stderr.to_lowercase().contains("quota"), "{stderr}");
    assert_eq!(
        reqwest::Client::new()
            .get(server.url("/v2/containers/app/manifests/two"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Deleting the first image (then GC dropping its layer links) makes room.
    let deleted = delete(&server, &format!("/v2/containers/app/manifests/{one_manifest}")).await;
    assert_eq!(deleted, StatusCode::ACCEPTED);
    let gc = reqwest::Client::new()
        .post(server.url("/api/v2/gc"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(gc.status(), 200);
    push(&two, "two", &format!("docker://{host}/containers/app:two"), false).await;
}
