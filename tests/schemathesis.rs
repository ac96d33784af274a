//! Schemathesis (from PyPI, installed by `scripts/test.sh`) fuzzes the live management API from
//! its own spec: a bounded number of examples per operation, and every response must be a
//! non-5xx whose status, content type and body the spec documents. The SSE stream
//! (`/api/v2/events`) is left out: it never ends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::json;
use std::process::Command;
use support::server::{ADMIN_TOKEN, Server};

fn schemathesis() -> Command {
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "schemathesis.cli"]);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_api_matches_its_spec_under_fuzzing() {
    let installed = schemathesis()
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if support::backend_or_skip("schemathesis", installed.then_some(())).is_none() {
        return;
    }
    let server = Server::start(&[]).await;
    // Some data, so that not every generated request is a 404.
    server
        .create_repository(json!({"name": "files", "kind": "local", "package": "generic"}))
        .await;
    server
        .create_repository(json!({"name": "mirror", "kind": "remote", "package": "generic",
            "base_url": "http://127.0.0.1:9/files"}))
        .await;
    let spec = server.url("/api/v2/openapi.json");
    let work = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking(move || {
        schemathesis()
            .current_dir(work.path())
            .args([
                "run",
                &spec,
                "--header",
                &format!("Authorization: Bearer {ADMIN_TOKEN}"),
                "--max-examples",
                "25",
                "--seed",
                "20261122",
                "--exclude-path",
                "/api/v2/events",
                "--phases",
                "examples,coverage,fuzzing",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--generation-database",
                "none",
                "--no-color",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        report.contains("Tested: 21"),
        "every operation but the SSE stream is tested:\n{report}"
    );
}
