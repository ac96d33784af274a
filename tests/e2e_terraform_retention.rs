//! End to end: the storage-lifecycle fields through the real `terraform` CLI and the workspace
//! provider (`dev_overrides`): a docker local's quota and tag/manifest retention, a remote's
//! cache limits, a non-docker local's quota; drift made through the API detected and repaired,
//! a removed line clearing the setting on the server, the data source reading them, import.
//! Without a `terraform` CLI it skips (saying so) unless `ARTIFACTAPI_REQUIRE_TERRAFORM=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::Server;
use support::terraform::{Tf, provider_dir, terraform_available};

/// A repository's JSON; it must exist.
async fn repository(server: &Server, name: &str) -> Value {
    let (status, view) = server.repository(name).await;
    assert_eq!(status, StatusCode::OK, "{name}");
    view
}

const RETAINED: &str = r#"
resource "artifactapi_local_docker" "images" {
  name                   = "images"
  quota_bytes            = 1073741824
  keep_last_tags         = 3
  keep_tag_patterns      = ["^stable$", "^release-"]
  untagged_manifest_days = 14
}

resource "artifactapi_remote_generic" "cache" {
  name        = "cache"
  base_url    = "http://127.0.0.1:9/"
  max_bytes   = 10485760
  unused_days = 30
}

resource "artifactapi_local_npm" "packages" {
  name        = "packages"
  quota_bytes = 5000
}

data "artifactapi_repository" "images" {
  name = artifactapi_local_docker.images.name
}

output "images_retention" {
  value = [data.artifactapi_repository.images.keep_last_tags, data.artifactapi_repository.images.untagged_manifest_days]
}
"#;

fn fields(view: &Value, names: &[&str]) -> Vec<Value> {
    names.iter().map(|n| view[*n].clone()).collect()
}

const DOCKER_FIELDS: [&str; 4] = [
    "quota_bytes",
    "keep_last_tags",
    "keep_tag_patterns",
    "untagged_manifest_days",
];

// Multi-threaded: terraform blocks one thread while the test's HTTP client may use another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_manages_quotas_and_retention() {
    if !terraform_available() {
        return;
    }
    let providers = provider_dir();
    let server = Server::start(&[]).await;
    let tf = Tf::new(&server, &providers);
    tf.config(RETAINED);
    tf.ok(&["apply", "-auto-approve"]);
    let images = repository(&server, "images").await;
    assert_eq!(
        fields(&images, &DOCKER_FIELDS),
        [json!(1073741824), json!(3), json!(["^stable$", "^release-"]), json!(14)]
    );
    let cache = repository(&server, "cache").await;
    assert_eq!(
        fields(&cache, &["max_bytes", "unused_days"]),
        [json!(10485760), json!(30)]
    );
    assert_eq!(repository(&server, "packages").await["quota_bytes"], 5000);
    let outputs: Value = serde_json::from_str(&tf.ok(&["output", "-json"])).unwrap();
    assert_eq!(outputs["images_retention"]["value"], json!([3, 14]), "{outputs}");
    let (code, out) = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "no drift expected:\n{out}");

    // Changed or cleared through the API: drift, and apply puts the configuration back.
    server
        .patch_repository("images", json!({"keep_last_tags": 10, "keep_tag_patterns": null}))
        .await;
    server.patch_repository("cache", json!({"max_bytes": null})).await;
    server.patch_repository("packages", json!({"quota_bytes": 1})).await;
    let (code, out) = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2, "drift expected:\n{out}");
    assert!(out.contains("0 to add, 3 to change, 0 to destroy"), "{out}");
    tf.ok(&["apply", "-auto-approve"]);
    assert_eq!(
        fields(&repository(&server, "images").await, &DOCKER_FIELDS),
        fields(&images, &DOCKER_FIELDS)
    );
    assert_eq!(repository(&server, "cache").await["max_bytes"], 10485760);
    assert_eq!(repository(&server, "packages").await["quota_bytes"], 5000);

    // A setting set through the API that the configuration leaves out is drift too.
    server.patch_repository("cache", json!({"unused_days": 7})).await;
    let without_limits = RETAINED
        .replace("  unused_days = 30\n", "")
        .replace("  keep_tag_patterns      = [\"^stable$\", \"^release-\"]\n", "")
        .replace("  untagged_manifest_days = 14\n", "");
    tf.config(&without_limits);
    let (code, out) = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 2, "{out}");
    tf.ok(&["apply", "-auto-approve"]);
    // Removed lines clear the settings on the server; the others stay.
    let images = repository(&server, "images").await;
    assert_eq!(
        fields(&images, &DOCKER_FIELDS),
        [json!(1073741824), json!(3), Value::Null, Value::Null]
    );
    assert_eq!(
        fields(&repository(&server, "cache").await, &["max_bytes", "unused_days"]),
        [json!(10485760), Value::Null]
    );
    let (code, out) = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "{out}");

    // A repository made through the API with retention imports and matches its configuration.
    server
        .create_repository(json!({"name": "imported", "kind": "local", "package": "docker",
            "keep_last_tags": 2, "keep_tag_patterns": ["^v1$"]}))
        .await;
    tf.config(&format!(
        "{without_limits}\nresource \"artifactapi_local_docker\" \"imported\" {{\n  name              = \"imported\"\n  keep_last_tags    = 2\n  keep_tag_patterns = [\"^v1$\"]\n}}\n"
    ));
    tf.ok(&["import", "artifactapi_local_docker.imported", "imported"]);
    let (code, out) = tf.run(&["plan", "-detailed-exitcode"]);
    assert_eq!(code, 0, "the import matches the configuration:\n{out}");

    // The server's own validation reaches the plan's author: patterns need keep_last_tags.
    tf.config(&format!(
        "{without_limits}\nresource \"artifactapi_local_docker\" \"bad\" {{\n  name              = \"bad\"\n  keep_tag_patterns = [\"^v1$\"]\n}}\n"
    ));
    let (code, out) = tf.run(&["apply", "-auto-approve"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("keep_last_tags"), "{out}");

    tf.config("");
    tf.ok(&["apply", "-auto-approve"]);
}
