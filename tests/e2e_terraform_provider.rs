//! End to end: the real `terraform` CLI drives `terraform-provider-artifactapi` (the workspace
//! crate, through `dev_overrides`, no `terraform init`) against the running server: plan, apply,
//! a second plan with no changes, drift made outside Terraform detected and repaired, a changed
//! field applied in place, an import by name, and destroy. Without a `terraform` CLI it skips
//! (saying so) unless `ARTIFACTAPI_REQUIRE_TERRAFORM=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::server::{ADMIN_TOKEN, Server};

/// The provider binary, built now (a no-op when `cargo test --workspace` built it already).
fn provider_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "terraform-provider-artifactapi"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "building terraform-provider-artifactapi failed");
    // target/debug/deps/<this test> → target/debug
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    assert!(dir.join("terraform-provider-artifactapi").exists(), "{}", dir.display());
    dir
}

fn terraform_available() -> bool {
    let found = Command::new("terraform")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("ARTIFACTAPI_REQUIRE_TERRAFORM").as_deref() != Ok("1"),
            "ARTIFACTAPI_REQUIRE_TERRAFORM=1 but no terraform CLI on PATH"
        );
        eprintln!("SKIPPED: the terraform CLI is not on PATH");
    }
    found
}

struct Tf {
    dir: tempfile::TempDir,
    server_base: String,
}

impl Tf {
    fn new(server: &Server, providers: &Path) -> Tf {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cli.tfrc"),
            format!(
                "disable_checkpoint = true\nprovider_installation {{\n  dev_overrides {{\n    \"artifactapi.test/artifactapi/artifactapi\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                providers.display()
            ),
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        Tf {
            dir,
            server_base: server.base.clone(),
        }
    }

    /// Writes main.tf: the provider block, then `resources`.
    fn config(&self, resources: &str) {
        let text = format!(
            "terraform {{\n  required_providers {{\n    artifactapi = {{ source = \"artifactapi.test/artifactapi/artifactapi\" }}\n  }}\n}}\n\nprovider \"artifactapi\" {{\n  url   = \"{}\"\n  token = \"{ADMIN_TOKEN}\"\n}}\n\n{resources}",
            self.server_base
        );
        std::fs::write(self.dir.path().join("main.tf"), text).unwrap();
    }

    /// Runs terraform; returns the exit code and the output.
    fn run(&self, args: &[&str]) -> (i32, String) {
        // Options go before the command's arguments (import's ADDR ID).
        let out = Command::new("terraform")
            .arg(args[0])
            .args(["-no-color", "-input=false"])
            .args(&args[1..])
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out) = self.run(args);
        assert_eq!(code, 0, "terraform {args:?}:\n{out}");
        out
    }
}

async fn repository(server: &Server, name: &str) -> (StatusCode, Value) {
    let r = server
        .http
        .get(server.url(&format!("/api/v2/repositories/{name}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn patch(server: &Server, name: &str, body: Value) {
    let r = server
        .http
        .patch(server.url(&format!("/api/v2/repositories/{name}")))
        .bearer_auth(ADMIN_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

const FILES: &str = "resource \"artifactapi_local_generic\" \"files\" {\n  name = \"files\"\n}\n\nresource \"artifactapi_local_helm\" \"charts\" {\n  name            = \"charts\"\n  allow_overwrite = true\n}\n";

// Multi-threaded: terraform blocks one thread while the test's HTTP client may use another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_manages_local_repositories() {
    if !terraform_available() {
        return;
    }
    let providers = provider_dir();
    let server = Server::start(&[]).await;
    let tf = Tf::new(&server, &providers);
    tf.config(FILES);

    let plan = tf.ok(&["plan"]);
    assert!(plan.contains("2 to add, 0 to change, 0 to destroy"), "{plan}");
    tf.ok(&["apply", "-auto-approve"]);
    let (status, files) = repository(&server, "files").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&files["kind"], &files["package"]),
        (&json!("local"), &json!("generic"))
    );
    assert_eq!(files["allow_overwrite"], false);
    let (_, charts) = repository(&server, "charts").await;
    assert_eq!(
        (&charts["package"], &charts["allow_overwrite"]),
        (&json!("helm"), &json!(true))
    );

    // Nothing to do: exit code 0 under -detailed-exitcode.
    let (code, out) = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "no drift expected:\n{out}");

    // A change made outside Terraform to a configured field is drift (exit code 2), and apply
    // puts it back. (`files` leaves allow_overwrite unset: optional and computed, whatever the
    // server has is accepted.)
    patch(&server, "charts", json!({"allow_overwrite": false})).await;
    let (code, out) = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2, "drift expected:\n{out}");
    assert!(out.contains("allow_overwrite"), "{out}");
    tf.ok(&["apply", "-auto-approve"]);
    assert_eq!(repository(&server, "charts").await.1["allow_overwrite"], true);

    // A changed field is updated in place.
    tf.config(&FILES.replace("name = \"files\"", "name = \"files\"\n  allow_overwrite = true"));
    let plan = tf.ok(&["plan"]);
    assert!(plan.contains("0 to add, 1 to change, 0 to destroy"), "{plan}");
    tf.ok(&["apply", "-auto-approve"]);
    assert_eq!(repository(&server, "files").await.1["allow_overwrite"], true);
    let (code, out) = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");

    // A repository made elsewhere is imported by name, then matches its configuration.
    server
        .create_repository(json!({"name": "imported", "kind": "local", "package": "npm", "allow_overwrite": true}))
        .await;
    let with_import = format!(
        "{}\nresource \"artifactapi_local_npm\" \"imported\" {{\n  name            = \"imported\"\n  allow_overwrite = true\n}}\n",
        FILES.replace("name = \"files\"", "name = \"files\"\n  allow_overwrite = true")
    );
    tf.config(&with_import);
    tf.ok(&["import", "artifactapi_local_npm.imported", "imported"]);
    let (code, out) = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "the import matches the configuration:\n{out}");

    tf.ok(&["destroy", "-auto-approve"]);
    for name in ["files", "charts", "imported"] {
        assert_eq!(repository(&server, name).await.0, StatusCode::NOT_FOUND, "{name}");
    }
}
