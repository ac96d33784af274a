//! End to end: `If-Range` (RFC 9110 §13.1.5) on every read path: a range is sent only while the
//! validator the client holds still names the current content; otherwise the whole body, 200.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::{Client, StatusCode};
use serde_json::json;
use support::oci::digest_of;
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

/// GET `url` with `Range: bytes=10-` and `If-Range: validator`: (status, body).
async fn ranged(url: &str, validator: &str) -> (StatusCode, Bytes) {
    let r = Client::new()
        .get(url)
        .header("range", "bytes=10-")
        .header("if-range", validator)
        .send()
        .await
        .unwrap();
    (r.status(), r.bytes().await.unwrap())
}

fn etag(r: &reqwest::Response) -> String {
    r.headers()["etag"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn local_files_send_the_whole_new_body_after_an_overwrite() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "files", "kind": "local", "package": "generic", "allow_overwrite": true}))
        .await;
    let client = Client::new();
    let url = server.url("/api/v1/local/files/a.txt");
    let put = |body: &'static str| client.put(&url).bearer_auth(ADMIN_TOKEN).body(body).send();
    let old = put("old content, version one").await.unwrap();
    assert_eq!(old.status(), StatusCode::CREATED);
    let old_etag = etag(&old);
    let modified = client.head(&url).send().await.unwrap().headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, body) = ranged(&url, &old_etag).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::PARTIAL_CONTENT, b"t, version one".as_ref())
    );
    let (status, _) = ranged(&url, &modified).await;
    assert_eq!(
        status,
        StatusCode::PARTIAL_CONTENT,
        "a date equal to Last-Modified holds"
    );

    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let new = put("NEW CONTENT, VERSION TWO").await.unwrap();
    assert_eq!(new.status(), StatusCode::CREATED);
    let (status, body) = ranged(&url, &old_etag).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::OK, b"NEW CONTENT, VERSION TWO".as_ref()),
        "an old ETag gets the whole new body"
    );
    let (status, body) = ranged(&url, &modified).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 24), "an old date too");
    let (status, _) = ranged(&url, &format!("W/{}", etag(&new))).await;
    assert_eq!(status, StatusCode::OK, "a weak tag never holds");
    let (status, body) = ranged(&url, &etag(&new)).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::PARTIAL_CONTENT, b"T, VERSION TWO".as_ref())
    );
}

#[tokio::test]
async fn remote_copies_and_registry_blobs_honour_if_range() {
    let upstream = FakeUpstream::start().await;
    upstream.put("files/a.bin", FakeFile::Bytes(Bytes::from_static(b"0123456789abcdef")));
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "remote", "kind": "remote", "package": "generic", "base_url": format!("{}/files", upstream.base)}))
        .await;
    let url = server.url("/api/v1/remote/remote/a.bin");
    let stale = format!("\"{}\"", digest_of(b"what the client had before"));
    // A miss with a stale validator, then the cached copy with it and with the current one.
    let (status, body) = ranged(&url, &stale).await;
    assert_eq!((status, body.as_ref()), (StatusCode::OK, b"0123456789abcdef".as_ref()));
    let (status, _) = ranged(&url, &stale).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = ranged(&url, &format!("\"{}\"", digest_of(b"0123456789abcdef"))).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::PARTIAL_CONTENT, b"abcdef".as_ref())
    );

    server
        .create_repository(json!({"name": "reg", "kind": "local", "package": "docker"}))
        .await;
    let data = b"0123456789 layer bytes";
    let digest = digest_of(data);
    let pushed = Client::new()
        .post(server.url(&format!("/v2/reg/app/blobs/uploads/?digest={digest}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(data.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let blob = server.url(&format!("/v2/reg/app/blobs/{digest}"));
    let (status, body) = ranged(&blob, &stale).await;
    assert_eq!((status, body.as_ref()), (StatusCode::OK, data.as_ref()));
    let (status, body) = ranged(&blob, &format!("\"{digest}\"")).await;
    assert_eq!(
        (status, body.as_ref()),
        (StatusCode::PARTIAL_CONTENT, b" layer bytes".as_ref())
    );
}
