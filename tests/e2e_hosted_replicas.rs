//! End to end: hosted PyPI, npm and Puppet repositories on two replicas sharing PostgreSQL, Redis
//! and S3. twine uploads, npm publishes and Forge publishes through A; pip, npm and puppet install
//! from B right away, because B renders its indexes from the shared database (no local files, no
//! in-process state).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::json;
use support::npm::{Npm, package};
use support::packages::build_wheel;
use support::puppet::{assert_installed, install, installed_version, module_archive, publish, puppet_available};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_npm_publish_through_one_replica_installs_from_the_other_at_once() {
    let Some(database_url) = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)
    else {
        return;
    };
    let s3 = support::s3::TestS3::start().await;
    let env = support::shared_backends_env(database_url, &s3, "npm-replicas");
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    a.create_repository(json!({"name": "npml", "kind": "local", "package": "npm"}))
        .await;
    // B has answered for the package before it exists.
    assert_eq!(b.get("/api/v1/local/npml/aa-replica").await.status(), 404);

    let work = tempfile::tempdir().unwrap();
    let dir = package(work.path(), "aa-replica", "2.0.0", json!({}));
    let through_a = Npm::new(&a, work.path(), "/api/v1/local/npml/", Some(ADMIN_TOKEN));
    let out = through_a.run(&dir, &["publish"]).await;
    assert!(out.status.success(), "npm publish through A: {}", text(&out));

    let from_b = Npm::new(&b, work.path(), "/api/v1/local/npml/", None);
    let project = work.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let out = from_b.run(&project, &["install", "aa-replica"]).await;
    assert!(out.status.success(), "npm install from B: {}", text(&out));
    assert_eq!(
        std::fs::read_to_string(project.join("node_modules/aa-replica/index.js")).unwrap(),
        "module.exports = 'aa-replica@2.0.0';\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_puppet_publish_through_one_replica_installs_from_the_other_at_once() {
    if support::backend_or_skip("puppet", puppet_available().then_some(())).is_none() {
        return;
    }
    let Some(database_url) = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)
    else {
        return;
    };
    let s3 = support::s3::TestS3::start().await;
    let env = support::shared_backends_env(database_url, &s3, "puppet-replicas");
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    a.create_repository(json!({"name": "forgel", "kind": "local", "package": "puppet"}))
        .await;
    // B has answered for the module before it exists.
    let before: serde_json::Value = b
        .get("/api/v1/local/forgel/v3/releases?module=aa-replica")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["pagination"]["total"], 0);

    let work = tempfile::tempdir().unwrap();
    let base = module_archive(work.path(), "bb-base", "1.0.0", &[]);
    let demo = module_archive(work.path(), "aa-replica", "2.0.0", &[("bb-base", ">= 1.0.0")]);
    for archive in [base, demo] {
        let published = publish(&a.url("/api/v1/local/forgel"), &archive, Some(ADMIN_TOKEN)).await;
        assert_eq!(published.status(), 201);
    }
    let installed = work.path().join("installed");
    assert_installed(&install(&b.url("/api/v1/local/forgel"), "aa-replica", None, &installed).await);
    assert_eq!(installed_version(&installed, "replica").as_deref(), Some("2.0.0"));
    assert_eq!(installed_version(&installed, "base").as_deref(), Some("1.0.0"));
}
