//! `Upstream` over HTTPS: which certificates the adapter trusts (platform store, the instance's
//! `ca_file`, a remote's own `ca_file`, or none at all when verification is off), client
//! certificates, TLS failures as `PortError::Tls`, and an explicit proxy with credentials.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use artifactapi::adapters::upstream::http::{HttpUpstream, UpstreamConfig};
use artifactapi::domain::upstream_tls::UpstreamTls;
use artifactapi::ports::{Method, PortError, Upstream, UpstreamRequest};
use bytes::Bytes;
use support::proxy::ConnectProxy;
use support::tls::{TestCa, server_config};
use support::upstream::{FakeFile, FakeUpstream};

fn upstream(config: UpstreamConfig) -> HttpUpstream {
    HttpUpstream::new(config).unwrap()
}

fn get(url: String, tls: UpstreamTls) -> UpstreamRequest {
    UpstreamRequest {
        method: Method::Get,
        url,
        headers: vec![],
        timeout: None,
        tls,
        named_by_upstream: false,
    }
}

async fn https_upstream(ca: &TestCa, client_ca: Option<&TestCa>) -> FakeUpstream {
    let fake = FakeUpstream::start_tls(server_config(&ca.server_leaf(), client_ca)).await;
    fake.put("file.txt", FakeFile::Bytes(Bytes::from_static(b"over tls")));
    fake
}

fn path(p: &std::path::Path) -> Option<String> {
    Some(p.display().to_string())
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error_and_a_ca_file_fixes_it() {
    let ca = TestCa::new("contract CA");
    let fake = https_upstream(&ca, None).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    let url = format!("{}/file.txt", fake.base);

    let plain = upstream(UpstreamConfig::default());
    let err = plain
        .send(get(url.clone(), UpstreamTls::default()))
        .await
        .err()
        .unwrap();
    match &err {
        PortError::Tls(message) => assert!(
            message.contains("UnknownIssuer") && message.contains("127.0.0.1") && !message.contains("file.txt"),
            "{message}"
        ),
        other => panic!("expected a TLS error, got {other:?}"),
    }

    // Instance-wide.
    let trusting = upstream(UpstreamConfig {
        ca_file: Some(ca_file.clone()),
        ..UpstreamConfig::default()
    });
    let response = trusting.send(get(url.clone(), UpstreamTls::default())).await.unwrap();
    assert_eq!(response.status, 200);

    // Per remote: only requests carrying it trust the CA.
    let own = UpstreamTls {
        ca_file: path(&ca_file),
        ..UpstreamTls::default()
    };
    assert_eq!(plain.send(get(url.clone(), own)).await.unwrap().status, 200);
    assert!(matches!(
        plain.send(get(url.clone(), UpstreamTls::default())).await,
        Err(PortError::Tls(_))
    ));

    // Verification off accepts it without any CA.
    let insecure = UpstreamTls {
        tls_insecure_skip_verify: true,
        ..UpstreamTls::default()
    };
    assert_eq!(plain.send(get(url, insecure)).await.unwrap().status, 200);
}

#[tokio::test]
async fn a_client_certificate_is_presented_when_configured() {
    let ca = TestCa::new("mtls CA");
    let clients = TestCa::new("client CA");
    let fake = https_upstream(&ca, Some(&clients)).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    let (cert, key) = clients.client_leaf("artifactapi").write(dir.path(), "client");
    let url = format!("{}/file.txt", fake.base);
    let adapter = upstream(UpstreamConfig::default());

    let without = UpstreamTls {
        ca_file: path(&ca_file),
        ..UpstreamTls::default()
    };
    let err = adapter.send(get(url.clone(), without.clone())).await.err().unwrap();
    assert!(matches!(err, PortError::Tls(_)), "{err:?}");

    let with = UpstreamTls {
        client_cert_file: path(&cert),
        client_key_file: path(&key),
        ..without
    };
    assert_eq!(adapter.send(get(url, with)).await.unwrap().status, 200);
}

#[tokio::test]
async fn unloadable_tls_files_are_tls_errors_that_do_not_echo_the_key() {
    let ca = TestCa::new("files CA");
    let fake = https_upstream(&ca, None).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    let (cert, _) = ca.client_leaf("c").write(dir.path(), "client");
    let key = dir.path().join("broken.key");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw!!\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let adapter = upstream(UpstreamConfig::default());
    let url = format!("{}/file.txt", fake.base);
    for tls in [
        UpstreamTls {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..UpstreamTls::default()
        },
        UpstreamTls {
            ca_file: path(&ca_file),
            client_cert_file: path(&cert),
            client_key_file: path(&key),
            ..UpstreamTls::default()
        },
    ] {
        let err = adapter.send(get(url.clone(), tls)).await.err().unwrap();
        let PortError::Tls(message) = &err else {
            panic!("expected a TLS error, got {err:?}");
        };
        assert!(!message.contains("c2VjcmV0"), "{message}");
    }
    assert!(
        HttpUpstream::new(UpstreamConfig {
            ca_file: Some(key),
            ..UpstreamConfig::default()
        })
        .is_err()
    );
}

#[tokio::test]
async fn an_explicit_proxy_tunnels_every_request_with_its_credentials() {
    let ca = TestCa::new("proxy CA");
    let fake = https_upstream(&ca, None).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    let proxy = ConnectProxy::start_with_auth("squid", "proxy-secret-42").await;
    let target = fake.base.trim_start_matches("https://").to_string();

    let through = upstream(UpstreamConfig {
        ca_file: Some(ca_file.clone()),
        proxy: Some(format!("http://squid:proxy-secret-42@{}", proxy.addr)),
        ..UpstreamConfig::default()
    });
    for _ in 0..2 {
        let response = through
            .send(get(format!("{}/file.txt", fake.base), UpstreamTls::default()))
            .await
            .unwrap();
        assert_eq!(response.status, 200);
    }
    assert!(proxy.tunnels_to(&target) >= 1, "no tunnel to {target}");
    assert_eq!(fake.hits("file.txt"), 2);

    let wrong = upstream(UpstreamConfig {
        ca_file: Some(ca_file),
        proxy: Some(format!("http://squid:wrong-secret-17@{}", proxy.addr)),
        ..UpstreamConfig::default()
    });
    let err = wrong
        .send(get(format!("{}/file.txt", fake.base), UpstreamTls::default()))
        .await
        .err()
        .unwrap();
    assert!(proxy.refused() >= 1);
    assert!(!err.to_string().contains("wrong-secret-17"), "{err}");
    assert!(
        HttpUpstream::new(UpstreamConfig {
            proxy: Some("not a url with secret-99".into()),
            ..UpstreamConfig::default()
        })
        .err()
        .is_some_and(|e| !e.to_string().contains("secret-99"))
    );
}
