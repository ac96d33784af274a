//! Running skopeo (on the blocking pool) against test servers.
use serde_json::Value;
use std::path::Path;
use std::process::Command;

use super::server::ADMIN_TOKEN;

pub fn skopeo_available() -> bool {
    Command::new("skopeo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs skopeo (blocking, so on the blocking pool) and returns (success, stderr).
pub async fn skopeo(args: Vec<String>) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new("skopeo")
            .arg("--insecure-policy")
            .args(&args)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    })
    .await
    .unwrap()
}

pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub fn creds() -> String {
    format!("ci:{ADMIN_TOKEN}")
}

pub async fn push(layout: &Path, tag: &str, dest: &str, all: bool) {
    let mut a = args(&["copy", "--dest-tls-verify=false", "--dest-creds", &creds()]);
    if all {
        a.push("--all".into());
    }
    a.push(format!("oci:{}:{tag}", layout.display()));
    a.push(dest.to_string());
    let (ok, err) = skopeo(a).await;
    assert!(ok, "push to {dest} failed: {err}");
}

pub async fn pull(src: &str, layout: &Path, all: bool) {
    let mut a = args(&["copy", "--src-tls-verify=false"]);
    if all {
        a.push("--all".into());
    }
    a.push(src.to_string());
    a.push(format!("oci:{}:pulled", layout.display()));
    let (ok, err) = skopeo(a).await;
    assert!(ok, "pull of {src} failed: {err}");
}

pub async fn inspect_raw(src: &str) -> Value {
    let src = src.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("skopeo")
            .args(["--insecure-policy", "inspect", "--raw", "--tls-verify=false", &src])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}
