//! End to end: hosted Helm and Go module repositories on two replicas sharing PostgreSQL, Redis
//! and S3. A chart and a module version uploaded through A are listed and served by B at once
//! (B rendered its index / list before the upload), because indexes come from the shared
//! database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::json;
use support::go::{escape, go, go_found, module_zip, text};
use support::helm::{chart, follow_index};
use support::server::{ADMIN_TOKEN, Server};

async fn replicas(prefix: &str) -> Option<(Server, Server, support::s3::TestS3)> {
    let database_url = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)?;
    let s3 = support::s3::TestS3::start().await;
    let env = support::shared_backends_env(database_url, &s3, prefix);
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    Some((a, b, s3))
}

async fn put(server: &Server, path: &str, body: Vec<u8>) -> u16 {
    reqwest::Client::new()
        .put(server.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_uploaded_through_one_replica_is_indexed_by_the_other_at_once() {
    let Some((a, b, _s3)) = replicas("helm-replicas").await else {
        return;
    };
    a.create_repository(json!({"name": "charts", "kind": "local", "package": "helm"}))
        .await;
    let repo_b = b.url("/api/v1/local/charts/");
    let (_, before) = follow_index(&repo_b, None).await;
    assert!(before.is_empty());
    let archive = chart("replica", "1.0.0", "");
    assert_eq!(
        put(&a, "/api/v1/local/charts/replica-1.0.0.tgz", archive.clone()).await,
        201
    );
    let (text, fetched) = follow_index(&repo_b, None).await;
    assert_eq!(fetched.len(), 1, "{text}");
    assert_eq!(
        fetched[0].sha256,
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&archive))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_uploaded_through_one_replica_is_fetched_from_the_other_at_once() {
    if support::backend_or_skip("the go command", go_found().then_some(())).is_none() {
        return;
    }
    let Some((a, b, _s3)) = replicas("go-replicas").await else {
        return;
    };
    a.create_repository(json!({"name": "gol", "kind": "local", "package": "goproxy"}))
        .await;
    let module = "example.test/Replica";
    let list = format!("/api/v1/local/gol/{}/@v/list", escape(module));
    assert_eq!(b.get(&list).await.text().await.unwrap(), "");
    let go_mod = format!("module {module}\n\ngo 1.19\n");
    let base = format!("/api/v1/local/gol/{}/@v/v1.0.0", escape(module));
    assert_eq!(put(&a, &format!("{base}.mod"), go_mod.clone().into_bytes()).await, 201);
    let zip = module_zip(module, "v1.0.0", &[("go.mod", &go_mod), ("r.go", "package replica\n")]);
    assert_eq!(put(&a, &format!("{base}.zip"), zip).await, 201);
    assert_eq!(b.get(&list).await.text().await.unwrap(), "v1.0.0\n");

    let work = tempfile::tempdir().unwrap();
    let out = go(
        work.path(),
        &work.path().join("home"),
        &b.url("/api/v1/local/gol"),
        &["mod", "download", "-json", &format!("{module}@latest")],
    )
    .await;
    assert!(out.status.success(), "go mod download from B: {}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["Version"], "v1.0.0");
}
