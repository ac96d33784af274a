//! End to end: a hosted PyPI repository on two replicas sharing PostgreSQL, Redis and S3. twine
//! uploads through A; pip installs from B right away, because B renders its pages from the
//! shared database (no local files, no in-process state).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::json;
use support::packages::build_wheel;
use support::python::{pip, text, twine};
use support::server::{ADMIN_TOKEN, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_through_one_replica_installs_from_the_other_at_once() {
    let Some(database_url) = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)
    else {
        return;
    };
    let s3 = support::s3::TestS3::start().await;
    let env = support::shared_backends_env(database_url, &s3, "pypi-replicas");
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    a.create_repository(json!({"name": "py", "kind": "local", "package": "pypi"}))
        .await;
    // B has rendered the empty project page before the upload.
    assert_eq!(b.get("/api/v1/local/py/simple/replica-demo/").await.status(), 404);

    let work = tempfile::tempdir().unwrap();
    build_wheel(work.path(), "replica_demo", "2.0");
    let wheel = work.path().join("replica_demo-2.0-py3-none-any.whl");
    let out = twine(a.url("/api/v1/local/py/"), ADMIN_TOKEN, vec![wheel]).await;
    assert!(out.status.success(), "twine: {}", text(&out));

    let page = b.get("/api/v1/local/py/simple/replica-demo/").await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("replica_demo-2.0-py3-none-any.whl"));
    let target = work.path().join("installed");
    let out = pip(b.url("/api/v1/local/py/simple/"), "replica-demo==2.0", &target).await;
    assert!(out.status.success(), "pip from B: {}", text(&out));
    let installed = std::fs::read_to_string(target.join("replica_demo/__init__.py")).unwrap();
    assert!(installed.contains("replica_demo 2.0"), "{installed}");
}
