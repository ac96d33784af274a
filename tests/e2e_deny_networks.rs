//! End to end: `upstream_deny_networks`. An upstream's index may name any host; the proxy does
//! not connect to loopback, link-local or metadata addresses for hosts an index names (by IP or
//! by a name resolving there), unless the host is the remote's own `base_url` origin.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::Server;
use support::upstream::{FakeFile, FakeUpstream};

fn sha(data: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(data))
}

/// An index on one loopback port naming files on another loopback port ("internal"), by IP and
/// by name, and a file on its own origin.
async fn upstreams() -> (FakeUpstream, FakeUpstream) {
    let index = FakeUpstream::start().await;
    let internal = FakeUpstream::start().await;
    internal.put("secret.tar.gz", FakeFile::Bytes(Bytes::from_static(b"internal secret")));
    index.put(
        "pypi/files/own.tar.gz",
        FakeFile::Bytes(Bytes::from_static(b"own file")),
    );
    let port = internal.base.rsplit(':').next().unwrap().to_string();
    let anchors = [
        format!(
            "http://127.0.0.1:{port}/secret.tar.gz#sha256={}",
            sha(b"internal secret")
        ),
        format!(
            "http://localhost:{port}/secret.tar.gz#sha256={}",
            sha(b"internal secret")
        ),
        format!("/pypi/files/own.tar.gz#sha256={}", sha(b"own file")),
    ]
    .iter()
    .map(|href| format!("<a href=\"{href}\">x</a>\n"))
    .collect::<String>();
    index.put(
        "pypi/simple/demo/",
        FakeFile::Page {
            body: Bytes::from(format!("<html><body>{anchors}</body></html>")),
            content_type: "text/html",
        },
    );
    (index, internal)
}

/// The rewritten links of the demo page, as absolute URLs.
async fn links(server: &Server, index: &FakeUpstream) -> Vec<reqwest::Url> {
    server
        .create_repository(
            json!({"name": "pypi", "kind": "remote", "package": "pypi", "base_url": format!("{}/pypi", index.base)}),
        )
        .await;
    let page_url = reqwest::Url::parse(&server.url("/api/v1/remote/pypi/simple/demo/")).unwrap();
    let page = reqwest::get(page_url.clone()).await.unwrap().text().await.unwrap();
    page.split("href=\"")
        .skip(1)
        .map(|rest| page_url.join(rest.split('"').next().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn hosts_an_index_names_may_not_be_loopback_by_default() {
    let (index, internal) = upstreams().await;
    let server = Server::start(&[]).await;
    let links = links(&server, &index).await;
    assert_eq!(links.len(), 3);
    for link in &links[..2] {
        let r = reqwest::get(link.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{link}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "ACCESS_DENIED");
        assert!(
            body["message"].as_str().unwrap().contains("upstream_deny_networks"),
            "{body}"
        );
    }
    assert_eq!(internal.hits("secret.tar.gz"), 0, "never connected");
    let own = reqwest::get(links[2].clone()).await.unwrap();
    assert_eq!(
        own.status(),
        StatusCode::OK,
        "the remote's own origin is not restricted"
    );
    assert_eq!(own.bytes().await.unwrap().as_ref(), b"own file");
}

#[tokio::test]
async fn an_empty_deny_list_allows_every_host() {
    let (index, internal) = upstreams().await;
    let server = Server::start(&[("ARTIFACTAPI_UPSTREAM_DENY_NETWORKS", String::new())]).await;
    let links = links(&server, &index).await;
    let r = reqwest::get(links[0].clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"internal secret");
    assert_eq!(internal.hits("secret.tar.gz"), 1);
}

#[tokio::test]
async fn a_bad_deny_list_is_a_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = support::server::command(
        dir.path(),
        &["serve"],
        &[
            ("ARTIFACTAPI_LISTEN", "127.0.0.1:0".to_string()),
            (
                "ARTIFACTAPI_UPSTREAM_DENY_NETWORKS",
                "127.0.0.0/8,not-a-network".to_string(),
            ),
        ],
    )
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with a bad upstream_deny_networks");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains("upstream_deny_networks") && stderr.contains("not-a-network"),
        "{stderr}"
    );
}
