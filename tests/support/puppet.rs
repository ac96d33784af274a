//! Puppet modules as `puppet module build` lays them out (packed by the system tar), and the real
//! `puppet module install` run against a repository URL in a directory of its own.
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

pub fn puppet_available() -> bool {
    Command::new("puppet")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The `metadata.json` of `slug` (`owner-module`) at `version` depending on `dependencies`
/// (`(name, version_requirement)`).
pub fn metadata(slug: &str, version: &str, dependencies: &[(&str, &str)]) -> Value {
    let owner = slug.split('-').next().unwrap_or(slug);
    let deps: Vec<Value> = dependencies
        .iter()
        .map(|(name, requirement)| json!({"name": name, "version_requirement": requirement}))
        .collect();
    json!({"name": slug, "version": version, "author": owner, "summary": format!("{slug} {version}"),
        "license": "MIT", "source": "none", "dependencies": deps})
}

/// `<slug>-<version>.tar.gz` under `<slug>-<version>/`: metadata.json and a class.
pub fn module_archive(dir: &Path, slug: &str, version: &str, dependencies: &[(&str, &str)]) -> Vec<u8> {
    let top = format!("{slug}-{version}");
    let class = slug.split('-').nth(1).unwrap_or(slug);
    let src = dir.join("src").join(&top);
    std::fs::create_dir_all(src.join("manifests")).unwrap();
    std::fs::write(src.join("manifests/init.pp"), format!("class {class} {{}}\n")).unwrap();
    std::fs::write(
        src.join("metadata.json"),
        metadata(slug, version, dependencies).to_string(),
    )
    .unwrap();
    let archive = dir.join(format!("{top}.tar.gz"));
    let status = Command::new("tar")
        .arg("-C")
        .arg(dir.join("src"))
        .arg("-czf")
        .arg(&archive)
        .arg(&top)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(archive).unwrap()
}

/// `puppet module install <module> [--version V]` from `repository` into `dir/modules`, with
/// every puppet directory under `dir`.
pub async fn install(repository: &str, module: &str, version: Option<&str>, dir: &Path) -> std::process::Output {
    let (repository, module, dir) = (repository.to_string(), module.to_string(), dir.to_path_buf());
    let version = version.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new("puppet");
        cmd.args(["module", "install", &module, "--module_repository", &repository]);
        if let Some(version) = version {
            cmd.args(["--version", &version]);
        }
        cmd.arg("--target-dir").arg(dir.join("modules"));
        for (flag, sub) in [
            ("--confdir", "conf"),
            ("--vardir", "var"),
            ("--codedir", "code"),
            ("--logdir", "log"),
            ("--rundir", "run"),
        ] {
            cmd.arg(flag).arg(dir.join(sub));
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

/// The version of the module installed as `dir/modules/<name>` (its metadata.json).
pub fn installed_version(dir: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("modules").join(name).join("metadata.json")).ok()?;
    let metadata: Value = serde_json::from_str(&text).ok()?;
    metadata["version"].as_str().map(str::to_string)
}

/// Asserts the install succeeded, with puppet's output on failure.
pub fn assert_installed(output: &std::process::Output) {
    assert!(
        output.status.success(),
        "puppet failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// md5 through the system tool (the only place the tests need it).
pub fn md5_hex(data: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().next().unwrap().to_string()
}

/// The `/v3/releases` page a Forge gives for `releases` (`(metadata, archive)`), in that order,
/// on one page.
pub fn forge_releases(releases: &[(Value, &[u8])]) -> String {
    use sha2::Digest as _;
    let results: Vec<Value> = releases
        .iter()
        .map(|(metadata, archive)| {
            let slug = metadata["name"].as_str().unwrap();
            let version = metadata["version"].as_str().unwrap();
            let (owner, name) = slug.split_once('-').unwrap();
            json!({
                "uri": format!("/v3/releases/{slug}-{version}"), "slug": format!("{slug}-{version}"),
                "version": version,
                "module": {"uri": format!("/v3/modules/{slug}"), "slug": slug, "name": name, "deprecated_at": null,
                    "owner": {"uri": format!("/v3/users/{owner}"), "slug": owner, "username": owner}},
                "metadata": metadata,
                "file_uri": format!("/v3/files/{slug}-{version}.tar.gz"),
                "file_size": archive.len(),
                "file_md5": md5_hex(archive),
                "file_sha256": hex::encode(sha2::Sha256::digest(archive)),
                "deleted_at": null
            })
        })
        .collect();
    json!({
        "pagination": {"limit": 20, "offset": 0, "first": "/v3/releases", "previous": null,
            "current": "/v3/releases", "next": null, "total": results.len()},
        "results": results
    })
    .to_string()
}

/// The Forge's publish: `POST {repository}/v3/releases` with the archive as the form's `file`.
pub async fn publish(repository: &str, archive: &[u8], token: Option<&str>) -> reqwest::Response {
    let (content_type, body) = super::helm::multipart("file", "release.tar.gz", archive);
    let mut request = reqwest::Client::new()
        .post(format!("{repository}/v3/releases"))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}
