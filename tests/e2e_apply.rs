//! End to end: `artifactapi apply FILE` against a running server: dry run, apply, update with
//! prune, idempotence, and refusals that change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::Value;
use support::server::{ADMIN_TOKEN, Server, command};

/// Runs `artifactapi apply` (blocking, on the blocking pool): (success, stdout, stderr).
async fn apply(server: &Server, file: &str, extra: &[&str], token: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("repos.toml");
    std::fs::write(&path, file).unwrap();
    let mut args = vec![
        "apply".to_string(),
        path.display().to_string(),
        "--server".into(),
        server.base.clone(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let token = token.to_string();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = command(dir.path(), &args, &[("ARTIFACTAPI_TOKEN", token)])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

async fn names(server: &Server) -> Vec<String> {
    let list: Vec<Value> = reqwest::Client::new()
        .get(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.iter().map(|r| r["name"].as_str().unwrap().to_string()).collect()
}

const FIRST: &str = r#"
listen = "ignored: apply reads only the repositories"

[[repository]]
name = "files"
kind = "local"
package = "generic"

[[repository]]
name = "mirror"
kind = "remote"
package = "generic"
base_url = "http://127.0.0.1:9/files"
username = "bot"
password = "upstream-secret"

[[repository]]
name = "all"
kind = "virtual"
package = "generic"
members = ["files", "mirror"]
"#;

const SECOND: &str = r#"
[[repository]]
name = "files"
kind = "local"
package = "generic"
allow_overwrite = true
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_plans_then_reconciles_through_the_api() {
    let server = Server::start(&[]).await;
    server
        .create_repository(serde_json::json!({"name": "manual", "kind": "local", "package": "generic"}))
        .await;

    let (ok, out, err) = apply(&server, FIRST, &["--dry-run"], ADMIN_TOKEN).await;
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "+ create files",
            "+ create mirror",
            "+ create all",
            "dry run: nothing changed"
        ]
    );
    assert_eq!(names(&server).await, vec!["manual"]);

    let (ok, out, err) = apply(&server, FIRST, &[], ADMIN_TOKEN).await;
    assert!(ok, "{err}");
    assert!(out.ends_with("applied\n"), "{out}");
    assert_eq!(names(&server).await, vec!["all", "files", "manual", "mirror"]);

    // Again: nothing to do (the password cannot be read back, so it is not a change).
    let (ok, out, _) = apply(&server, FIRST, &[], ADMIN_TOKEN).await;
    assert!(ok);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec!["= unchanged files", "= unchanged mirror", "= unchanged all", "applied"]
    );

    // Update one, prune the rest: the virtual goes before its members.
    let (ok, out, err) = apply(&server, SECOND, &["--prune"], ADMIN_TOKEN).await;
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "~ update files (allow_overwrite)",
            "- delete all",
            "- delete manual",
            "- delete mirror",
            "applied"
        ]
    );
    assert_eq!(names(&server).await, vec!["files"]);

    // Refusals: a bad file sends nothing; a wrong token is a clear error.
    let bad = "[[repository]]\nname = \"Bad Name\"\nkind = \"local\"\npackage = \"generic\"\n";
    let (ok, _, err) = apply(&server, bad, &[], ADMIN_TOKEN).await;
    assert!(!ok && err.contains("Bad Name"), "{err}");
    let (ok, _, err) = apply(&server, FIRST, &[], "wrong-token").await;
    assert!(!ok && err.contains("401"), "{err}");
    assert!(!err.contains("wrong-token"), "the token is never printed");
    assert_eq!(names(&server).await, vec!["files"]);
}
