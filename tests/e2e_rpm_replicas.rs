//! End to end: one local rpm repository on two replicas sharing PostgreSQL, Redis and S3. Twenty
//! packages are uploaded at once, half through each replica, while repomd.xml is read over and
//! over: every repomd read names only files that are there, and afterwards both replicas' repodata
//! list all twenty exactly once, which dnf confirms against B.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use flate2::read::GzDecoder;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use std::io::Read;
use support::rpm::{build, dnf, ok, put, tools_or_skip};
use support::server::Server;

const REPO: &str = "/api/v1/local/el/";

/// Reads repomd.xml and every file it names (their checksums checked); the primary's text.
async fn read_repodata(server: &Server) -> String {
    let repomd = server
        .get(&format!("{REPO}repodata/repomd.xml"))
        .await
        .text()
        .await
        .unwrap();
    let mut primary = String::new();
    for data in repomd.split("<data type=").skip(1) {
        let between = |a: &str, b: &str| data.split(a).nth(1).unwrap().split(b).next().unwrap().to_string();
        let href = between("<location href=\"", "\"");
        let sha256 = between("<checksum type=\"sha256\">", "<");
        let r = server.get(&format!("{REPO}{href}")).await;
        assert_eq!(r.status(), 200, "{href} named by a repomd must be there");
        let body = r.bytes().await.unwrap();
        let actual: String = Sha256::digest(&body).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(actual, sha256, "{href}");
        if href.ends_with("-primary.xml.gz") {
            GzDecoder::new(body.as_ref()).read_to_string(&mut primary).unwrap();
        }
    }
    primary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_uploads_on_two_replicas_are_each_listed_once() {
    if !tools_or_skip() {
        return;
    }
    let Some(database_url) = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)
    else {
        return;
    };
    let s3 = support::s3::TestS3::start().await;
    let env = support::shared_backends_env(database_url, &s3, "rpm-replicas");
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    a.create_repository(json!({"name": "el", "kind": "local", "package": "rpm"}))
        .await;
    let work = tempfile::tempdir().unwrap();
    let packages: Vec<(String, Vec<u8>)> = (1..=20)
        .map(|i| {
            let name = format!("aapar{i:02}");
            let body = std::fs::read(build(work.path(), &name, "1.0", "")).unwrap();
            (format!("{name}-1.0-1.noarch.rpm"), body)
        })
        .collect();

    let uploads = packages.iter().enumerate().map(|(i, (file, body))| {
        let server = if i % 2 == 0 { &a } else { &b };
        async move { put(server, REPO, file, body.clone()).await.status() }
    });
    let readers = async {
        for i in 0..10 {
            read_repodata(if i % 2 == 0 { &b } else { &a }).await;
        }
    };
    let (statuses, ()) = tokio::join!(futures::future::join_all(uploads), readers);
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");

    let from_a = read_repodata(&a).await;
    let from_b = read_repodata(&b).await;
    assert_eq!(from_a, from_b, "both replicas render the same repodata");
    assert!(from_b.contains("packages=\"20\""));
    for (file, _) in &packages {
        assert_eq!(
            from_b.matches(&format!("<location href=\"{file}\"/>")).count(),
            1,
            "{file}"
        );
    }
    let listed = ok(
        &dnf(b.url(REPO), &work.path().join("dnf"), &["repoquery", "--qf", "%{name}"]).await,
        "repoquery from B",
    );
    for i in 1..=20 {
        assert_eq!(
            listed.lines().filter(|l| *l == format!("aapar{i:02}")).count(),
            1,
            "{listed}"
        );
    }
}
