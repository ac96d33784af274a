//! End to end: the real `terraform` CLI drives `terraform-provider-artifactapi` (the workspace
//! crate, through `dev_overrides`, no `terraform init`) against the running server: plan, apply,
//! a second plan with no changes, drift made outside Terraform detected and repaired, objects
//! deleted outside Terraform planned again, changed fields applied in place, imports by name,
//! and destroy; for locals, remotes (every remote field, the upstream password kept out of plan
//! and state), virtuals, tokens and the two data sources. Without a `terraform` CLI it skips
//! (saying so) unless `ARTIFACTAPI_REQUIRE_TERRAFORM=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::{ADMIN_TOKEN, Server};
use support::terraform::{Tf, provider_dir, terraform_available};
use support::tls::TestCa;
use support::upstream::{FakeFile, FakeUpstream};

async fn repository(server: &Server, name: &str) -> (StatusCode, Value) {
    server.repository(name).await
}

async fn patch(server: &Server, name: &str, body: Value) {
    server.patch_repository(name, body).await
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

    // A change made outside Terraform is drift (exit code 2), and apply puts it back: to a
    // configured field (charts), and to one the configuration leaves out (files), which plans
    // the default.
    patch(&server, "charts", json!({"allow_overwrite": false})).await;
    patch(&server, "files", json!({"allow_overwrite": true})).await;
    let (code, out) = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2, "drift expected:\n{out}");
    assert!(out.contains("0 to add, 2 to change, 0 to destroy"), "{out}");
    tf.ok(&["apply", "-auto-approve"]);
    assert_eq!(repository(&server, "charts").await.1["allow_overwrite"], true);
    assert_eq!(repository(&server, "files").await.1["allow_overwrite"], false);

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

/// Remotes of three package types with every remote field, a local, a virtual over them, a
/// token, and both data sources. `@UPSTREAM@` is replaced by the fake upstream's URL.
const ESTATE: &str = r#"
resource "artifactapi_remote_generic" "files" {
  name               = "files-remote"
  base_url           = "@UPSTREAM@/"
  username           = "bot"
  password_env       = "TF_E2E_UPSTREAM_PASSWORD"
  mutable_ttl        = 60
  immutable_ttl      = 3600
  patterns           = ["^files/"]
  blocklist          = ["^files/secret"]
  mutable_patterns   = ["\\.json$"]
  immutable_patterns = ["\\.txt$"]
  offline            = false
}

resource "artifactapi_remote_docker" "hub" {
  name             = "hub"
  base_url         = "@UPSTREAM@"
  ban_tags         = ["^latest$"]
  offline          = true
  ca_file          = "/etc/artifactapi-e2e/ca.pem"
  client_cert_file = "/etc/artifactapi-e2e/client.pem"
  client_key_file  = "/etc/artifactapi-e2e/client.key"
}

resource "artifactapi_remote_pypi" "pypi" {
  name                     = "pypi-remote"
  base_url                 = "@UPSTREAM@"
  tls_insecure_skip_verify = true
}

resource "artifactapi_local_pypi" "internal" {
  name = "pypi-internal"
}

resource "artifactapi_virtual" "pypi" {
  name                       = "pypi"
  package                    = "pypi"
  members                    = [artifactapi_local_pypi.internal.name, artifactapi_remote_pypi.pypi.name]
  dependency_confusion_guard = false
}

resource "artifactapi_token" "ci" {
  name         = "ci"
  scopes       = ["write"]
  repositories = ["pypi*"]
  expires_at   = "2035-01-31T00:00:00Z"
}

data "artifactapi_repository" "files" {
  name = artifactapi_remote_generic.files.name
}

data "artifactapi_repositories" "remotes" {
  kind       = "remote"
  depends_on = [artifactapi_remote_generic.files, artifactapi_remote_docker.hub, artifactapi_remote_pypi.pypi]
}

output "files_has_password" {
  value = data.artifactapi_repository.files.has_password
}

output "files_blocklist" {
  value = data.artifactapi_repository.files.blocklist
}

output "remote_names" {
  value = data.artifactapi_repositories.remotes.names
}

output "ci_secret" {
  value     = artifactapi_token.ci.secret
  sensitive = true
}
"#;

/// Made through the API, then imported.
const IMPORTED: &str = r#"
resource "artifactapi_remote_npm" "npm" {
  name        = "npm-remote"
  base_url    = "@UPSTREAM@"
  mutable_ttl = 120
  blocklist   = ["^evil"]
}

resource "artifactapi_virtual" "npm" {
  name    = "npm"
  package = "npm"
  members = [artifactapi_remote_npm.npm.name]
}

resource "artifactapi_token" "reader" {
  name   = "reader"
  scopes = ["read"]
}
"#;

const PASSWORD_VAR: &str = "TF_E2E_UPSTREAM_PASSWORD";
const PASSWORD_1: &str = "first-upstream-pw-4f1c";
const PASSWORD_2: &str = "second-upstream-pw-9d2e";

async fn get_as(server: &Server, path: &str, token: &str) -> StatusCode {
    server
        .http
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn tokens(server: &Server) -> Vec<Value> {
    let r = server
        .http
        .get(server.url("/api/v2/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

async fn delete(server: &Server, path: &str) {
    let r = server
        .http
        .delete(server.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "DELETE {path}");
}

/// Neither the password nor anything shaped like it is in `text`.
fn assert_no_password(text: &str, what: &str) {
    for pw in [PASSWORD_1, PASSWORD_2] {
        assert!(!text.contains(pw), "{what} holds an upstream password:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_manages_remotes_virtuals_tokens_and_reads_repositories() {
    if !terraform_available() {
        return;
    }
    let providers = provider_dir();
    let server = Server::start(&[]).await;
    let upstream = FakeUpstream::start().await;
    upstream.require_basic("bot", PASSWORD_1);
    upstream.put("files/a.txt", FakeFile::Bytes("first file".into()));
    upstream.put("files/b.txt", FakeFile::Bytes("second file".into()));
    let tf = Tf::new(&server, &providers);
    let estate = ESTATE.replace("@UPSTREAM@", &upstream.base);
    tf.config(&estate);
    let pw1 = [(PASSWORD_VAR, PASSWORD_1)];

    let plan = tf.ok_with(&["plan"], &pw1);
    assert!(plan.contains("6 to add, 0 to change, 0 to destroy"), "{plan}");
    assert_no_password(&plan, "plan output");
    let out = tf.ok_with(&["apply", "-auto-approve"], &pw1);
    assert_no_password(&out, "apply output");

    // Every field reached the server.
    let (_, files) = repository(&server, "files-remote").await;
    assert_eq!(files["base_url"], upstream.base.as_str());
    assert_eq!(
        (
            &files["kind"],
            &files["package"],
            &files["username"],
            &files["has_password"]
        ),
        (&json!("remote"), &json!("generic"), &json!("bot"), &json!(true))
    );
    assert_eq!(
        (&files["mutable_ttl"], &files["immutable_ttl"]),
        (&json!(60), &json!(3600))
    );
    assert_eq!(files["patterns"], json!(["^files/"]));
    assert_eq!(files["blocklist"], json!(["^files/secret"]));
    assert_eq!(files["mutable_patterns"], json!(["\\.json$"]));
    assert_eq!(files["immutable_patterns"], json!(["\\.txt$"]));
    let (_, hub) = repository(&server, "hub").await;
    assert_eq!((&hub["package"], &hub["offline"]), (&json!("docker"), &json!(true)));
    assert_eq!(hub["ban_tags"], json!(["^latest$"]));
    assert_eq!(hub["ca_file"], "/etc/artifactapi-e2e/ca.pem");
    assert_eq!(hub["client_cert_file"], "/etc/artifactapi-e2e/client.pem");
    assert_eq!(hub["client_key_file"], "/etc/artifactapi-e2e/client.key");
    assert_eq!(hub["has_password"], false);
    let (_, pypi_remote) = repository(&server, "pypi-remote").await;
    assert_eq!(pypi_remote["tls_insecure_skip_verify"], true);
    let (_, virtual_pypi) = repository(&server, "pypi").await;
    assert_eq!(virtual_pypi["members"], json!(["pypi-internal", "pypi-remote"]));
    assert_eq!(virtual_pypi["dependency_confusion_guard"], false);
    let ci = tokens(&server).await.into_iter().find(|t| t["name"] == "ci").unwrap();
    assert_eq!(
        (&ci["scopes"], &ci["repositories"]),
        (&json!(["write"]), &json!(["pypi*"]))
    );
    assert!(
        ci["expires_at"].as_str().unwrap().starts_with("2035-01-31T00:00:00"),
        "{ci}"
    );

    // The password the remote sends upstream is the one in the variable.
    let r = server.get("/api/v1/remote/files-remote/files/a.txt").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "first file");

    // The token's secret is an output that works, and only for what the token allows.
    let secret = tf.ok_with(&["output", "-raw", "ci_secret"], &pw1);
    assert_eq!(
        get_as(&server, "/api/v2/repositories/pypi", &secret).await,
        StatusCode::OK
    );
    assert_eq!(get_as(&server, "/api/v2/tokens", &secret).await, StatusCode::FORBIDDEN);

    // The data sources.
    let outputs: Value = serde_json::from_str(&tf.ok_with(&["output", "-json"], &pw1)).unwrap();
    assert_eq!(outputs["files_has_password"]["value"], true);
    assert_eq!(outputs["files_blocklist"]["value"], json!(["^files/secret"]));
    assert_eq!(
        outputs["remote_names"]["value"],
        json!(["files-remote", "hub", "pypi-remote"])
    );

    // Nothing to do; and the password is in neither the state nor `show -json`.
    let (code, out) = tf.run_with(&["plan", "-detailed-exitcode"], &pw1);
    assert_eq!(code, 0, "no drift expected:\n{out}");
    assert_no_password(&tf.ok_with(&["show", "-json"], &pw1), "terraform show -json");
    assert_no_password(
        &std::fs::read_to_string(tf.dir.path().join("terraform.tfstate")).unwrap(),
        "terraform.tfstate",
    );

    // Drift made through the API, on fields set and left out, is planned back (exit code 2).
    patch(
        &server,
        "files-remote",
        json!({"mutable_ttl": 5, "mutable_patterns": []}),
    )
    .await;
    patch(&server, "hub", json!({"immutable_ttl": 7})).await;
    patch(&server, "pypi", json!({"members": ["pypi-remote", "pypi-internal"]})).await;
    let (code, out) = tf.run_with(&["plan", "-detailed-exitcode"], &pw1);
    assert_eq!(code, 2, "drift expected:\n{out}");
    assert!(out.contains("0 to add, 3 to change, 0 to destroy"), "{out}");
    tf.ok_with(&["apply", "-auto-approve"], &pw1);
    let (_, files) = repository(&server, "files-remote").await;
    assert_eq!(
        (&files["mutable_ttl"], &files["mutable_patterns"]),
        (&json!(60), &json!(["\\.json$"]))
    );
    assert_eq!(repository(&server, "hub").await.1["immutable_ttl"], 0);
    assert_eq!(
        repository(&server, "pypi").await.1["members"],
        json!(["pypi-internal", "pypi-remote"])
    );

    // Deleted outside Terraform: dropped from state and planned again. A remote recreated
    // without its password is drift too (has_password false), repaired by sending it.
    delete(&server, "/api/v2/repositories/hub").await;
    delete(&server, &format!("/api/v2/tokens/{}", ci["id"].as_str().unwrap())).await;
    delete(&server, "/api/v2/repositories/files-remote").await;
    server
        .create_repository(json!({"name": "files-remote", "kind": "remote", "package": "generic",
            "base_url": upstream.base, "username": "bot", "mutable_ttl": 60, "immutable_ttl": 3600,
            "patterns": ["^files/"], "blocklist": ["^files/secret"], "mutable_patterns": ["\\.json$"],
            "immutable_patterns": ["\\.txt$"]}))
        .await;
    let (code, out) = tf.run_with(&["plan", "-detailed-exitcode"], &pw1);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("2 to add, 1 to change, 0 to destroy"), "{out}");
    assert!(out.contains("password_hash"), "{out}");
    tf.ok_with(&["apply", "-auto-approve"], &pw1);
    assert_eq!(repository(&server, "files-remote").await.1["has_password"], true);
    assert_eq!(repository(&server, "hub").await.0, StatusCode::OK);
    let new_secret = tf.ok_with(&["output", "-raw", "ci_secret"], &pw1);
    assert_ne!(new_secret, secret);
    assert_eq!(
        get_as(&server, "/api/v2/repositories/pypi", &new_secret).await,
        StatusCode::OK
    );
    assert_eq!(
        get_as(&server, "/api/v2/repositories/pypi", &secret).await,
        StatusCode::UNAUTHORIZED
    );
    let (code, out) = tf.run_with(&["plan", "-detailed-exitcode"], &pw1);
    assert_eq!(code, 0, "{out}");

    // Changed fields update in place; a new password in the variable is an update that sends
    // it (the plan never shows it).
    upstream.require_basic("bot", PASSWORD_2);
    let pw2 = [(PASSWORD_VAR, PASSWORD_2)];
    let (code, out) = tf.run_with(&["plan", "-detailed-exitcode"], &pw2);
    assert_eq!(code, 2, "a changed password is a change:\n{out}");
    assert!(out.contains("0 to add, 1 to change, 0 to destroy"), "{out}");
    let changed = estate
        .replace(
            "ban_tags         = [\"^latest$\"]",
            "ban_tags         = [\"^latest$\", \"^dev-\"]",
        )
        .replace(
            "dependency_confusion_guard = false",
            "dependency_confusion_guard = true",
        );
    tf.config(&changed);
    let plan = tf.ok_with(&["plan"], &pw2);
    assert!(plan.contains("0 to add, 3 to change, 0 to destroy"), "{plan}");
    assert_no_password(&plan, "plan output");
    tf.ok_with(&["apply", "-auto-approve"], &pw2);
    assert_eq!(
        repository(&server, "hub").await.1["ban_tags"],
        json!(["^latest$", "^dev-"])
    );
    assert_eq!(repository(&server, "pypi").await.1["dependency_confusion_guard"], true);
    let r = server.get("/api/v1/remote/files-remote/files/b.txt").await;
    assert_eq!(r.status(), StatusCode::OK, "the upstream wants the new password");
    assert_eq!(r.text().await.unwrap(), "second file");
    let (code, out) = tf.run_with(&["plan", "-detailed-exitcode"], &pw2);
    assert_eq!(code, 0, "{out}");
    assert_no_password(&tf.ok_with(&["show", "-json"], &pw2), "terraform show -json");

    // Made elsewhere, imported by name, then matching the configuration.
    server
        .create_repository(json!({"name": "npm-remote", "kind": "remote", "package": "npm",
            "base_url": upstream.base, "mutable_ttl": 120, "blocklist": ["^evil"]}))
        .await;
    server
        .create_repository(json!({"name": "npm", "kind": "virtual", "package": "npm", "members": ["npm-remote"]}))
        .await;
    server.create_token(json!({"name": "reader", "scopes": ["read"]})).await;
    tf.config(&format!("{changed}{}", IMPORTED.replace("@UPSTREAM@", &upstream.base)));
    tf.ok_with(&["import", "artifactapi_remote_npm.npm", "npm-remote"], &pw2);
    tf.ok_with(&["import", "artifactapi_virtual.npm", "npm"], &pw2);
    tf.ok_with(&["import", "artifactapi_token.reader", "reader"], &pw2);
    let (code, out) = tf.run_with(&["plan", "-detailed-exitcode"], &pw2);
    assert_eq!(code, 0, "the imports match the configuration:\n{out}");

    tf.ok_with(&["destroy", "-auto-approve"], &pw2);
    let r = server
        .http
        .get(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!([]));
    let names: Vec<Value> = tokens(&server).await.into_iter().map(|t| t["name"].clone()).collect();
    assert_eq!(names, vec![json!("admin")]);
}

/// The way README installs the provider: its archive uploaded to a local terraform repository
/// of the server it then manages, found by `terraform init` over HTTPS with a private CA that
/// both terraform and the provider trust through `SSL_CERT_FILE`; then apply, a clean plan and
/// destroy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_installs_from_the_servers_own_registry() {
    if !terraform_available() {
        return;
    }
    let providers = provider_dir();
    let ca = TestCa::new("provider registry CA");
    let work = tempfile::tempdir().unwrap();
    let ca_file = ca.write(work.path(), "ca.pem");
    let (cert, key) = ca.server_leaf().write(work.path(), "server");
    let env = [
        ("ARTIFACTAPI_TLS_CERT_FILE", cert.display().to_string()),
        ("ARTIFACTAPI_TLS_KEY_FILE", key.display().to_string()),
    ];
    let server = Server::start_https(&env, &ca.cert_pem()).await;
    server
        .create_repository(json!({"name": "tf", "kind": "local", "package": "terraform"}))
        .await;

    // The release archive: the executable at its root, its mode kept.
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let name = format!(
        "terraform-provider-artifactapi_0.1.0_{}_{arch}.zip",
        std::env::consts::OS
    );
    let archive = work.path().join(&name);
    let zipped = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n    z.write(sys.argv[2], 'terraform-provider-artifactapi')\n",
        ])
        .arg(&archive)
        .arg(providers.join("terraform-provider-artifactapi"))
        .status()
        .unwrap();
    assert!(zipped.success());
    let r = server
        .http
        .put(server.url(&format!("/api/v1/local/tf/artifactapi/{name}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(std::fs::read(&archive).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());

    let tf = Tf::from_registry(&server, &format!("{}/tf/artifactapi", server.addr), "0.1.0");
    tf.config("resource \"artifactapi_local_generic\" \"files\" {\n  name = \"from-registry\"\n}\n");
    let trust = [("SSL_CERT_FILE", ca_file.to_str().unwrap())];
    let init = tf.ok_with(&["init"], &trust);
    assert!(init.contains("Installed"), "{init}");
    tf.ok_with(&["apply", "-auto-approve"], &trust);
    assert_eq!(repository(&server, "from-registry").await.0, StatusCode::OK);
    let (code, out) = tf.run_with(&["plan", "-detailed-exitcode"], &trust);
    assert_eq!(code, 0, "{out}");
    tf.ok_with(&["destroy", "-auto-approve"], &trust);
    assert_eq!(repository(&server, "from-registry").await.0, StatusCode::NOT_FOUND);
}
