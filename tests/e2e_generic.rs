//! End to end: the real binary, a local generic repository, real HTTP. Once on the embedded
//! defaults (SQLite + fs + memory) and once on PostgreSQL + S3 + Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::server::{ADMIN_TOKEN, Server, raw_status};

const BIG: u64 = 256 * 1024 * 1024;

async fn create_repo(client: &reqwest::Client, server: &Server, body: Value) -> reqwest::Response {
    client
        .post(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Upload, download, verify, ranges, conditional requests, overwrite refusal and delete.
async fn generic_slice(server: &Server) {
    let client = reqwest::Client::new();
    let created = create_repo(
        &client,
        server,
        json!({"name": "files", "kind": "local", "package": "generic"}),
    )
    .await;
    assert_eq!(created.status(), StatusCode::CREATED);

    let digest = support::data::sha256_hex(7, BIG);
    let put = client
        .put(server.url("/api/v1/local/files/big/blob.bin"))
        .bearer_auth(ADMIN_TOKEN)
        .header("X-Checksum-Sha256", &digest)
        .header("Content-Length", BIG)
        .body(reqwest::Body::wrap_stream(support::data::stream(7, BIG)))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED, "{}", put.text().await.unwrap());

    let get = client
        .get(server.url("/api/v1/local/files/big/blob.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert_eq!(get.headers()["content-length"], BIG.to_string().as_str());
    assert_eq!(get.headers()["etag"], format!("\"sha256:{digest}\"").as_str());
    assert_eq!(get.headers()["accept-ranges"], "bytes");
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    let mut body = get.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        received += chunk.len() as u64;
        hasher.update(&chunk);
    }
    assert_eq!(received, BIG);
    assert_eq!(hex::encode(hasher.finalize()), digest, "downloaded bytes differ");

    let head = client
        .head(server.url("/api/v1/local/files/big/blob.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], BIG.to_string().as_str());

    let small = b"0123456789";
    let put = client
        .put(server.url("/api/v1/local/files/small.txt"))
        .bearer_auth(ADMIN_TOKEN)
        .body(&small[..])
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    let ranged = client
        .get(server.url("/api/v1/local/files/small.txt"))
        .header("Range", "bytes=2-4")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.headers()["content-range"], "bytes 2-4/10");
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), b"234");
    let suffix = client
        .get(server.url("/api/v1/local/files/small.txt"))
        .header("Range", "bytes=-3")
        .send()
        .await
        .unwrap();
    assert_eq!(suffix.bytes().await.unwrap().as_ref(), b"789");
    let beyond = client
        .get(server.url("/api/v1/local/files/small.txt"))
        .header("Range", "bytes=10-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.headers()["content-range"], "bytes */10");

    let etag = client
        .get(server.url("/api/v1/local/files/small.txt"))
        .send()
        .await
        .unwrap()
        .headers()["etag"]
        .clone();
    let cached = client
        .get(server.url("/api/v1/local/files/small.txt"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    let again = client
        .put(server.url("/api/v1/local/files/small.txt"))
        .bearer_auth(ADMIN_TOKEN)
        .body("other")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let unchanged = client
        .get(server.url("/api/v1/local/files/small.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        unchanged.bytes().await.unwrap().as_ref(),
        small,
        "a refused overwrite changes nothing"
    );

    let basic = client
        .put(server.url("/api/v1/local/files/basic.txt"))
        .basic_auth("anyone", Some(ADMIN_TOKEN))
        .body("b")
        .send()
        .await
        .unwrap();
    assert_eq!(
        basic.status(),
        StatusCode::CREATED,
        "Basic auth with the token as password"
    );

    let deleted = client
        .delete(server.url("/api/v1/local/files/small.txt"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = client
        .get(server.url("/api/v1/local/files/small.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    let ready = client.get(server.url("/api/v2/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    let names: Vec<&str> = ready["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["database", "blob_store", "cache", "disk"], "{ready}");

    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"artifactapi_http_requests_total{repository="files",method="PUT",status="201"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            r#"artifactapi_http_bytes_total{{repository="files",direction="received",status="201"}} {}"#,
            BIG + 11
        )),
        "{metrics}"
    );

    assert!(
        !server.log().contains(ADMIN_TOKEN),
        "the admin token must never be logged"
    );
}

#[tokio::test]
async fn embedded_defaults() {
    let server = Server::start(&[]).await;
    generic_slice(&server).await;
    assert!(server.data_dir().join("meta.db").exists(), "SQLite database in ./data");
    assert!(
        server.data_dir().join("blobs/blobs/sha256").exists(),
        "blobs under ./data/blobs"
    );
}

#[tokio::test]
async fn postgres_s3_redis() {
    let Some(database_url) = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)
    else {
        return;
    };
    let redis_ok = redis_reachable().await;
    if support::backend_or_skip("Redis", redis_ok.then_some(())).is_none() {
        return;
    }
    let s3 = support::s3::TestS3::start().await;
    let server = Server::start(&support::shared_backends_env(database_url, &s3, "e2e-blobs")).await;
    generic_slice(&server).await;
    assert!(
        !server.data_dir().join("meta.db").exists(),
        "no SQLite when PostgreSQL is configured"
    );
    assert!(
        !server.data_dir().join("blobs").exists(),
        "no fs blobs when S3 is configured"
    );
    assert!(!server.log().contains(&s3.secret_key), "S3 secret never logged");
}

async fn redis_reachable() -> bool {
    let url = support::test_redis_url();
    // `redis://host:port[/db]`: the database number is not part of the address.
    let host = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    tokio::net::TcpStream::connect(host).await.is_ok()
}

fn raw(method: &str, target: &str, extra: &str) -> String {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Length: 1\r\nConnection: close\r\n{extra}\r\nx"
    )
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let server = Server::start(&[("ARTIFACTAPI_MAX_UPLOAD_SIZE", (4 * 1024 * 1024).to_string())]).await;
    let client = reqwest::Client::new();
    assert_eq!(
        create_repo(
            &client,
            &server,
            json!({"name": "files", "kind": "local", "package": "generic"})
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        create_repo(
            &client,
            &server,
            json!({"name": "other", "kind": "virtual", "package": "generic"})
        )
        .await
        .status(),
        StatusCode::CREATED
    );

    for target in [
        "/api/v1/local/files/../etc/passwd",
        "/api/v1/local/files/%2e%2e/etc/passwd",
        "/api/v1/local/files/a/%2E%2E/%2e%2e/x",
        "/api/v1/local/files/a%5c..%5cb",
        "/api/v1/local/files//etc/passwd",
        "/api/v1/local/files/%2fetc/passwd",
        "/api/v1/local/files/a%00b",
        "/api/v1/local/files/C:/windows",
    ] {
        let status = raw_status(&server.addr, &raw("PUT", target, "")).await;
        assert_eq!(status, 400, "PUT {target}");
        let status = raw_status(&server.addr, &raw("GET", target, "")).await;
        assert_eq!(status, 400, "GET {target}");
    }

    let put = |path: &str| client.put(server.url(path)).bearer_auth(ADMIN_TOKEN);
    let unknown = put("/api/v1/local/nope/a").body("x").send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], "REPOSITORY_NOT_FOUND");
    let wrong_kind = client.get(server.url("/api/v1/remote/files/a")).send().await.unwrap();
    assert_eq!(wrong_kind.status(), StatusCode::NOT_FOUND);
    let wrong_kind = put("/api/v1/virtual/files/a").body("x").send().await.unwrap();
    assert_eq!(wrong_kind.status(), StatusCode::NOT_FOUND);

    let bad_name = create_repo(
        &client,
        &server,
        json!({"name": "Bad_Name", "kind": "local", "package": "generic"}),
    )
    .await;
    assert_eq!(bad_name.status(), StatusCode::BAD_REQUEST);
    let body: Value = bad_name.json().await.unwrap();
    assert_eq!(
        (body["code"].as_str(), body["field"].as_str()),
        (Some("INVALID_FIELD"), Some("name")),
        "{body}"
    );
    for (payload, field) in [
        (json!({"name": "r", "kind": "remote", "package": "pypi"}), "base_url"),
        (
            json!({"name": "r", "kind": "remote", "package": "pypi", "base_url": "file:///etc"}),
            "base_url",
        ),
        (json!({"name": "r", "kind": "local", "package": "maven"}), "package"),
        (
            json!({"name": "r", "kind": "remote", "package": "pypi", "base_url": "http://127.0.0.1:1", "patterns": ["("]}),
            "patterns",
        ),
        (
            json!({"name": "v", "kind": "virtual", "package": "generic", "members": ["missing"]}),
            "members",
        ),
    ] {
        let r = create_repo(&client, &server, payload.clone()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{payload}");
        assert_eq!(r.json::<Value>().await.unwrap()["field"], field, "{payload}");
    }
    let not_json = client
        .post(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(not_json.json::<Value>().await.unwrap()["code"], "INVALID_BODY");

    let no_token = client
        .put(server.url("/api/v1/local/files/a.txt"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    assert!(
        no_token
            .headers()
            .get_all("www-authenticate")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("Bearer"))
    );
    let bad_token = client
        .put(server.url("/api/v1/local/files/a.txt"))
        .bearer_auth("wrong")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);
    let no_token = client
        .post(server.url("/api/v2/repositories"))
        .json(&json!({"name": "x", "kind": "local", "package": "generic"}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    let no_token = client
        .delete(server.url("/api/v2/repositories/files"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);

    let mismatch = put("/api/v1/local/files/m.txt")
        .header("X-Checksum-Sha256", "0".repeat(64))
        .body("content")
        .send()
        .await
        .unwrap();
    assert_eq!(mismatch.status(), StatusCode::BAD_REQUEST);
    assert_eq!(mismatch.json::<Value>().await.unwrap()["code"], "CHECKSUM_MISMATCH");
    assert_eq!(
        client
            .get(server.url("/api/v1/local/files/m.txt"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    // Refused bodies end their connection; use one client per request so none is reused.
    let fresh = || reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let too_big_declared = fresh()
        .put(server.url("/api/v1/local/files/big.bin"))
        .bearer_auth(ADMIN_TOKEN)
        .header("Content-Length", 5 * 1024 * 1024)
        .body(reqwest::Body::wrap_stream(support::data::stream(1, 5 * 1024 * 1024)))
        .send()
        .await;
    if let Ok(r) = too_big_declared {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let too_big_streamed = fresh()
        .put(server.url("/api/v1/local/files/big.bin"))
        .bearer_auth(ADMIN_TOKEN)
        .body(reqwest::Body::wrap_stream(support::data::stream(2, 5 * 1024 * 1024)))
        .send()
        .await;
    if let Ok(r) = too_big_streamed {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // The client may see the connection close before it reads the 413; the server's own count
    // says what it answered.
    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"artifactapi_http_requests_total{repository="files",method="PUT",status="413"} 2"#),
        "{metrics}"
    );
    assert_eq!(
        fresh()
            .get(server.url("/api/v1/local/files/big.bin"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    // Nothing partial was left behind: no blobs (nothing valid was uploaded) and no temp files.
    let blobs = server.data_dir().join("blobs/blobs");
    assert!(!blobs.exists() || walk(&blobs) == 0, "no blob stored");
    assert_eq!(walk(&server.data_dir().join("tmp")), 0, "no temp files left");
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .map(|e| e.unwrap().path())
        .map(|p| if p.is_dir() { walk(&p) } else { 1 })
        .sum()
}

/// Percent-encoded bytes that are not UTF-8 are a JSON `INVALID_PATH` on every surface (OCI
/// error JSON on `/v2`), never the framework's plain-text 400.
#[tokio::test]
async fn a_path_that_is_not_utf8_is_a_json_invalid_path() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "files", "kind": "local", "package": "generic"}))
        .await;
    server
        .create_repository(json!({"name": "reg", "kind": "local", "package": "docker"}))
        .await;
    let client = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/api/v1/local/files/%c0%ae"),
        ("PUT", "/api/v1/local/files/a/%ff.txt"),
        ("GET", "/api/v1/remote/up/%c0%ae"),
        ("GET", "/api/v1/local/fi%c0les/x"),
        ("GET", "/api/v2/repositories/%c0%ae"),
    ] {
        let r = client
            .request(method.parse().unwrap(), server.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{method} {path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{method} {path}"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "INVALID_PATH", "{method} {path}: {body}");
    }
    for path in ["/v2/reg/%c0%ae/manifests/1.0", "/v2/re%ffg/app/tags/list"] {
        let r = client
            .get(server.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "NAME_INVALID", "{path}: {body}");
    }
}
