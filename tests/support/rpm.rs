//! rpm tests' helpers: packages built with rpmbuild, uploads, and dnf run against a repository
//! URL in a throw-away install root (dnf, rpmbuild and createrepo_c come from scripts/test.sh).
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::server::{ADMIN_TOKEN, Server};

pub fn available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether dnf and rpmbuild are here (the test skips, or fails under ARTIFACTAPI_REQUIRE_BACKENDS).
pub fn tools_or_skip() -> bool {
    let tools = ["dnf", "rpmbuild"].iter().all(|t| available(t));
    super::backend_or_skip("dnf and rpmbuild", tools.then_some(())).is_some()
}

/// Builds `name-version-1.noarch.rpm` owning `/opt/<name>/<name>.txt`, with `requires` (a
/// Requires: line's value, or empty), and returns its path.
pub fn build(dir: &Path, name: &str, version: &str, requires: &str) -> PathBuf {
    let top = dir.join(format!("top-{name}-{version}"));
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    let requires = if requires.is_empty() {
        String::new()
    } else {
        format!("Requires: {requires}\n")
    };
    let spec = format!(
        "Name: {name}\nVersion: {version}\nRelease: 1\nSummary: ArtifactAPI test package {name}\nLicense: MIT\n\
         BuildArch: noarch\nAutoReqProv: no\n{requires}\n%description\nBuilt by the test suite.\n\n%install\n\
         mkdir -p %{{buildroot}}/opt/{name}\necho '{name} {version}' > %{{buildroot}}/opt/{name}/{name}.txt\n\n\
         %files\n/opt/{name}/{name}.txt\n"
    );
    let spec_path = top.join(format!("SPECS/{name}.spec"));
    std::fs::write(&spec_path, spec).unwrap();
    let built = Command::new("rpmbuild")
        .arg("-bb")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .arg(&spec_path)
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    top.join(format!("RPMS/noarch/{name}-{version}-1.noarch.rpm"))
}

/// PUT of `body` at `path` of the repository URL `repo_path` (`/api/v1/local/el/`) as the admin.
pub async fn put(server: &Server, repo_path: &str, path: &str, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .put(server.url(&format!("{repo_path}{path}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// `dnf <args>` with only the repository at `url` enabled, in an install root under `root`.
pub async fn dnf(url: String, root: &Path, args: &[&str]) -> Output {
    dnf_checked(url, None, root, args).await
}

/// As [`dnf`]; with `repomd_key` (a URL), dnf checks repomd.xml's signature against that key
/// (`repo_gpgcheck`) instead of checking nothing.
pub async fn dnf_checked(url: String, repomd_key: Option<String>, root: &Path, args: &[&str]) -> Output {
    let checks = match repomd_key {
        None => vec!["--nogpgcheck".to_string()],
        Some(key) => vec![
            "--setopt=aa.gpgcheck=0".to_string(),
            "--setopt=aa.repo_gpgcheck=1".to_string(),
            format!("--setopt=aa.gpgkey={key}"),
        ],
    };
    let root = root.to_path_buf();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new("dnf")
            .arg("-y")
            .arg(format!("--installroot={}", root.join("root").display()))
            .arg(format!("--setopt=cachedir={}", root.join("cache").display()))
            .args(["--releasever=1", "--setopt=reposdir=/nonexistent", "--disablerepo=*"])
            .args(&checks)
            .arg(format!("--repofrompath=aa,{url}"))
            .arg("--enablerepo=aa")
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// Fails the test with dnf's output unless it succeeded; returns its stdout.
pub fn ok(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
