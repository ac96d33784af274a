//! End to end: a remote whose upstream serves HTTPS with a certificate from a CA made in the
//! test. Without that CA the answer is `502 UPSTREAM_TLS`; it works once the CA is trusted
//! through the config's `ca_file`, `SSL_CERT_FILE`, a platform store directory (`SSL_CERT_DIR`),
//! or the remote's own `ca_file`. Outbound proxies: `HTTPS_PROXY` carries every upstream request
//! (the upstream's name resolves only through the proxy), `NO_PROXY` bypasses it, and
//! `upstream_proxy` credentials reach the proxy but never a log line or a response.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::Path;
use support::proxy::ConnectProxy;
use support::server::Server;
use support::tls::{TestCa, server_config};
use support::upstream::{FakeFile, FakeUpstream};

const BODY: &[u8] = b"served over https";

async fn https_upstream(ca: &TestCa) -> FakeUpstream {
    let fake = FakeUpstream::start_tls(server_config(&ca.server_leaf(), None)).await;
    fake.put("tools/app.txt", FakeFile::Bytes(Bytes::from_static(BODY)));
    fake
}

async fn generic_remote(server: &Server, name: &str, base_url: &str, extra: Value) {
    let mut body = json!({"name": name, "kind": "remote", "package": "generic", "base_url": base_url});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    server.create_repository(body).await;
}

async fn get(server: &Server, repo: &str) -> reqwest::Response {
    server.get(&format!("/api/v1/remote/{repo}/app.txt")).await
}

async fn assert_served(server: &Server, repo: &str) {
    let response = get(server, repo).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", server.log());
    assert_eq!(response.bytes().await.unwrap().as_ref(), BODY);
}

async fn assert_tls_refused(server: &Server, repo: &str) {
    let response = get(server, repo).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["code"], "UPSTREAM_TLS", "{error}");
    assert!(error["message"].as_str().unwrap().contains("UnknownIssuer"), "{error}");
}

fn env(pairs: &[(&'static str, &Path)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, p)| (*k, p.display().to_string())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_upstream_is_upstream_tls_and_the_config_ca_file_fixes_it() {
    let ca = TestCa::new("upstream CA");
    let fake = https_upstream(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    let base = format!("{}/tools", fake.base);

    let plain = Server::start(&[]).await;
    generic_remote(&plain, "tools", &base, json!({})).await;
    assert_tls_refused(&plain, "tools").await;
    assert_eq!(fake.hits("tools/app.txt"), 0, "no request got through the handshake");

    let trusting = Server::start(&env(&[("ARTIFACTAPI_CA_FILE", &ca_file)])).await;
    generic_remote(&trusting, "tools", &base, json!({})).await;
    assert_served(&trusting, "tools").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_cert_file_and_a_platform_store_directory_are_trusted() {
    let ca = TestCa::new("platform CA");
    let fake = https_upstream(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = ca.write(dir.path(), "bundle.pem");
    // A trust directory as `update-ca-certificates` leaves it: one PEM per CA plus the OpenSSL
    // hash-named link (any name is read; the link is what OpenSSL itself would look up).
    let store = dir.path().join("certs");
    std::fs::create_dir(&store).unwrap();
    let pem = ca.write(&store, "artifactapi-test-ca.pem");
    std::os::unix::fs::symlink(&pem, store.join("a1b2c3d4.0")).unwrap();
    let base = format!("{}/tools", fake.base);

    for (var, path) in [("SSL_CERT_FILE", &bundle), ("SSL_CERT_DIR", &store)] {
        let server = Server::start(&env(&[(var, path)])).await;
        generic_remote(&server, "tools", &base, json!({})).await;
        assert_served(&server, "tools").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_can_trust_its_own_ca_or_skip_verification() {
    let ca = TestCa::new("remote CA");
    let fake = https_upstream(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "remote-ca.pem");
    let base = format!("{}/tools", fake.base);

    let server = Server::start(&[]).await;
    generic_remote(&server, "own", &base, json!({"ca_file": ca_file.display().to_string()})).await;
    generic_remote(&server, "other", &base, json!({})).await;
    generic_remote(&server, "blind", &base, json!({"tls_insecure_skip_verify": true})).await;
    assert_served(&server, "own").await;
    assert_tls_refused(&server, "other").await;
    assert_served(&server, "blind").await;
    let log = server.log();
    assert!(log.contains("tls_insecure_skip_verify is on"), "{log}");

    // A relative path is refused when the remote is defined.
    let bad = server
        .http
        .post(server.url("/api/v2/repositories"))
        .bearer_auth(support::server::ADMIN_TOKEN)
        .json(&json!({"name": "rel", "kind": "remote", "package": "generic", "base_url": base, "ca_file": "ca.pem"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let error: Value = bad.json().await.unwrap();
    assert_eq!(error["field"], "ca_file", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_carries_every_upstream_request_and_no_proxy_bypasses_it() {
    let ca = TestCa::new("proxied CA");
    let fake = FakeUpstream::start_tls(server_config(&ca.server_leaf_for(&["upstream.test"]), None)).await;
    for file in ["a", "b", "c"] {
        fake.put(&format!("tools/{file}.txt"), FakeFile::Bytes(Bytes::from_static(BODY)));
    }
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    let proxy = ConnectProxy::start().await;
    let port = fake.base.rsplit(':').next().unwrap().to_string();
    let name = format!("upstream.test:{port}");
    proxy.resolve(&name, &format!("127.0.0.1:{port}"));

    let mut vars = env(&[("ARTIFACTAPI_CA_FILE", &ca_file)]);
    vars.push(("HTTPS_PROXY", proxy.url.clone()));
    let server = Server::start(&vars).await;
    generic_remote(&server, "tools", &format!("https://{name}/tools"), json!({})).await;
    for file in ["a", "b", "c"] {
        let response = server.get(&format!("/api/v1/remote/tools/{file}.txt")).await;
        assert_eq!(response.status(), StatusCode::OK, "{}", server.log());
        assert_eq!(fake.hits(&format!("tools/{file}.txt")), 1);
    }
    assert!(proxy.tunnels_to(&name) >= 1);

    // NO_PROXY names the upstream: straight there, no tunnel.
    let direct_fake = https_upstream(&ca).await;
    let mut vars = env(&[("ARTIFACTAPI_CA_FILE", &ca_file)]);
    vars.push(("HTTPS_PROXY", proxy.url.clone()));
    vars.push(("NO_PROXY", "127.0.0.1".to_string()));
    let before = proxy.total();
    let direct = Server::start(&vars).await;
    generic_remote(&direct, "tools", &format!("{}/tools", direct_fake.base), json!({})).await;
    assert_served(&direct, "tools").await;
    assert_eq!(proxy.total(), before, "NO_PROXY was not respected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_proxy_credentials_reach_the_proxy_and_nothing_else() {
    let ca = TestCa::new("proxy auth CA");
    let fake = https_upstream(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    let proxy = ConnectProxy::start_with_auth("mirror", "px-secret-3141").await;
    let target = fake.base.trim_start_matches("https://").to_string();
    let base = format!("{}/tools", fake.base);

    for (password, works) in [("px-secret-3141", true), ("px-wrong-2718", false)] {
        let mut vars = env(&[("ARTIFACTAPI_CA_FILE", &ca_file)]);
        vars.push((
            "ARTIFACTAPI_UPSTREAM_PROXY",
            format!("http://mirror:{password}@{}", proxy.addr),
        ));
        let server = Server::start_with(&vars, &["--log-format", "json"]).await;
        generic_remote(&server, "tools", &base, json!({})).await;
        let response = get(&server, "tools").await;
        let status = response.status();
        let text = response.text().await.unwrap();
        if works {
            assert_eq!(status, StatusCode::OK, "{text}");
            assert!(proxy.tunnels_to(&target) >= 1);
        } else {
            assert_eq!(status, StatusCode::BAD_GATEWAY, "{text}");
            assert!(proxy.refused() >= 1);
        }
        assert!(!text.contains(password), "{text}");
        let log = server.log();
        assert!(!log.contains(password), "proxy password in the log:\n{log}");
    }
}
