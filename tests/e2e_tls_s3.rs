//! End to end: the blob store on S3 over HTTPS (s3s behind rustls) with a certificate from a
//! CA made in the test. Startup refuses an untrusted endpoint with one line naming TLS; with
//! `ca_file` files round-trip; when the endpoint starts presenting a certificate from another CA,
//! readiness says `tls` and why. S3 follows `HTTPS_PROXY` too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use support::proxy::ConnectProxy;
use support::s3::TestS3;
use support::server::{ADMIN_TOKEN, Server};
use support::tls::{TestCa, server_config};

fn s3_env(s3: &TestS3, endpoint: &str, ca_file: Option<&Path>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        (
            "ARTIFACTAPI_BLOB_STORE",
            format!("s3://artifacts?endpoint={endpoint}&region=us-east-1"),
        ),
        ("ARTIFACTAPI_S3_ACCESS_KEY", s3.access_key.clone()),
        ("ARTIFACTAPI_S3_SECRET_KEY", s3.secret_key.clone()),
    ];
    if let Some(ca) = ca_file {
        env.push(("ARTIFACTAPI_CA_FILE", ca.display().to_string()));
    }
    env
}

async fn upload_and_read_back(server: &Server) {
    server
        .create_repository(json!({"name": "files", "kind": "local", "package": "generic"}))
        .await;
    let url = server.url("/api/v1/local/files/a/hello.txt");
    let put = server
        .http
        .put(&url)
        .bearer_auth(ADMIN_TOKEN)
        .body("stored on S3 over TLS")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED, "{}", server.log());
    let back = server.http.get(&url).send().await.unwrap();
    assert_eq!(back.text().await.unwrap(), "stored on S3 over TLS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_over_https_is_trusted_through_ca_file_and_readiness_names_tls_failures() {
    let ca = TestCa::new("S3 CA");
    let s3 = TestS3::start_tls(server_config(&ca.server_leaf(), None)).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");

    // Untrusted: startup fails with one line naming TLS and no secret.
    let out = support::server::command(
        dir.path(),
        &["serve"],
        &[
            s3_env(&s3, &s3.endpoint, None),
            vec![("ARTIFACTAPI_LISTEN", "127.0.0.1:0".to_string())],
        ]
        .concat(),
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: cannot open the blob store") && last.contains("TLS") && last.contains("UnknownIssuer"),
        "{stderr}"
    );
    assert!(!stderr.contains(&s3.secret_key));

    let server = Server::start(&s3_env(&s3, &s3.endpoint, Some(&ca_file))).await;
    upload_and_read_back(&server).await;
    let ready = server.get("/api/v2/health/ready").await;
    assert_eq!(ready.status(), StatusCode::OK);

    // The endpoint now presents a certificate this server does not trust.
    let rogue = TestCa::new("rogue CA");
    s3.set_tls(server_config(&rogue.server_leaf(), None));
    let ready = server.get("/api/v2/health/ready").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let report: Value = ready.json().await.unwrap();
    let blob_store = report["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "blob_store")
        .unwrap()
        .clone();
    assert_eq!(blob_store["ok"], false, "{report}");
    assert_eq!(blob_store["failure"], "tls", "{report}");
    assert!(
        blob_store["error"].as_str().unwrap().contains("UnknownIssuer"),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_requests_follow_https_proxy() {
    let ca = TestCa::new("proxied S3 CA");
    let s3 = TestS3::start_tls(server_config(&ca.server_leaf_for(&["s3.test"]), None)).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    let proxy = ConnectProxy::start().await;
    let port = s3.endpoint.rsplit(':').next().unwrap().to_string();
    let name = format!("s3.test:{port}");
    proxy.resolve(&name, &format!("127.0.0.1:{port}"));

    // `s3.test` resolves only through the proxy, so a working server proves every S3 request
    // went through it.
    let mut env = s3_env(&s3, &format!("https://{name}"), Some(&ca_file));
    env.push(("HTTPS_PROXY", proxy.url.clone()));
    let server = Server::start(&env).await;
    upload_and_read_back(&server).await;
    assert!(proxy.tunnels_to(&name) >= 1);
}
