//! End to end: a local terraform repository is a provider registry that the real `terraform`
//! CLI installs from over HTTPS (a test CA through `SSL_CERT_FILE`), checking our GPG signature
//! of `SHA256SUMS`; a tampered `SHA256SUMS` (served by a man in the middle that copies every
//! other document from us) is refused. Uploads are checked (name, platform, zip content).
//!
//! Without a `terraform` CLI on PATH the CLI steps are skipped with a message, unless
//! `ARTIFACTAPI_REQUIRE_TERRAFORM=1` (which `scripts/test.sh` sets when the machine has one), under
//! which they fail: no Debian package ships Terraform, so a fresh machine may lack it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::server::{ADMIN_TOKEN, Server};
use support::tls::{TestCa, server_config};
use support::upstream::{FakeFile, FakeUpstream};

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
        eprintln!("SKIPPED: the terraform CLI is not on PATH; the registry is tested without it");
    }
    found
}

/// A provider archive as release tooling makes one: the executable (mode 0755) and a licence.
fn provider_zip(dir: &Path, provider: &str, version: &str, binary_name: &str) -> Vec<u8> {
    let out = dir.join(format!("{provider}-{version}-{binary_name}.zip"));
    let script = r##"
import sys, zipfile
out, name = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, "#!/bin/sh\necho 'a test provider'\n" + "x" * 4096)
    z.writestr("LICENSE", "MIT")
"##;
    let status = Command::new("python3")
        .args(["-c", script, out.to_str().unwrap(), binary_name])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

async fn put(server: &Server, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let r = server
        .http
        .put(server.url(&format!("/api/v1/local/{path}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get_json(server: &Server, path: &str) -> (StatusCode, Value) {
    let r = server.get(path).await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A working directory whose configuration requires `source` (any version) and an isolated
/// CLI configuration, home and plugin cache.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new(source: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.tf"),
            format!("terraform {{\n  required_providers {{\n    random = {{ source = \"{source}\" }}\n  }}\n}}\n"),
        )
        .unwrap();
        std::fs::write(dir.path().join("cli.tfrc"), "disable_checkpoint = true\n").unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        Workspace { dir }
    }

    fn init(&self, ca_file: &Path) -> (bool, String) {
        let out = Command::new("terraform")
            .args(["init", "-input=false", "-no-color"])
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("SSL_CERT_FILE", ca_file)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

struct Tls {
    ca: TestCa,
    _dir: tempfile::TempDir,
    ca_file: PathBuf,
    env: Vec<(&'static str, String)>,
}

fn tls() -> Tls {
    let ca = TestCa::new("terraform CA");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path(), "ca.pem");
    let (cert, key) = ca.server_leaf().write(dir.path(), "server");
    let env = vec![
        ("ARTIFACTAPI_TLS_CERT_FILE", cert.display().to_string()),
        ("ARTIFACTAPI_TLS_KEY_FILE", key.display().to_string()),
    ];
    Tls {
        ca,
        _dir: dir,
        ca_file,
        env,
    }
}

const ARCHIVE: &str = "tf/random/terraform-provider-random_1.2.0_linux_amd64.zip";

// Multi-threaded: `terraform init` blocks one thread while the man in the middle serves on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terraform_installs_a_signed_provider_and_refuses_tampered_sums() {
    let tls = tls();
    let server = Server::start_https(&tls.env, &tls.ca.cert_pem()).await;
    server
        .create_repository(json!({"name": "tf", "kind": "local", "package": "terraform"}))
        .await;
    let work = tempfile::tempdir().unwrap();
    let archive = provider_zip(work.path(), "random", "1.2.0", "terraform-provider-random_v1.2.0");
    let (status, stored) = put(&server, ARCHIVE, archive.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    let darwin = provider_zip(work.path(), "random", "1.2.0", "terraform-provider-random_v1.2.0_x5");
    let (status, _) = put(
        &server,
        "tf/random/terraform-provider-random_1.2.0_darwin_arm64.zip",
        darwin.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let older = provider_zip(work.path(), "random", "1.1.0", "terraform-provider-random");
    let (status, _) = put(
        &server,
        "tf/random/terraform-provider-random_1.1.0_linux_amd64.zip",
        older,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // The protocol documents.
    let (status, discovery) = get_json(&server, "/.well-known/terraform.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(discovery, json!({"providers.v1": "/terraform/providers/v1/"}));
    let (status, versions) = get_json(&server, "/terraform/providers/v1/tf/random/versions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        versions,
        json!({"versions": [
            {"version": "1.2.0", "protocols": ["5.0", "6.0"], "platforms": [
                {"os": "darwin", "arch": "arm64"}, {"os": "linux", "arch": "amd64"}]},
            {"version": "1.1.0", "protocols": ["5.0", "6.0"], "platforms": [{"os": "linux", "arch": "amd64"}]},
        ]})
    );
    let (status, download) = get_json(&server, "/terraform/providers/v1/tf/random/1.2.0/download/linux/amd64").await;
    assert_eq!(status, StatusCode::OK, "{download}");
    let sha = support::oci::digest_of(&archive);
    let sha = sha.strip_prefix("sha256:").unwrap();
    assert_eq!(download["shasum"], sha);
    assert_eq!(download["filename"], "terraform-provider-random_1.2.0_linux_amd64.zip");
    assert_eq!(
        download["download_url"],
        server.url(&format!("/api/v1/local/{ARCHIVE}"))
    );
    let sums_url = download["shasums_url"].as_str().unwrap().to_string();
    assert_eq!(
        sums_url,
        server.url("/terraform/providers/v1/tf/random/1.2.0/SHA256SUMS")
    );
    let key = &download["signing_keys"]["gpg_public_keys"][0];
    let key_id = key["key_id"].as_str().unwrap().to_string();
    assert_eq!(key_id.len(), 16);
    let sums = server
        .get("/terraform/providers/v1/tf/random/1.2.0/SHA256SUMS")
        .await
        .text()
        .await
        .unwrap();
    let darwin_sha = support::oci::digest_of(&darwin);
    assert_eq!(
        sums,
        format!(
            "{}  terraform-provider-random_1.2.0_darwin_arm64.zip\n{sha}  terraform-provider-random_1.2.0_linux_amd64.zip\n",
            darwin_sha.strip_prefix("sha256:").unwrap()
        )
    );
    let signature = server
        .get("/terraform/providers/v1/tf/random/1.2.0/SHA256SUMS.sig")
        .await
        .bytes()
        .await
        .unwrap();
    assert_gpg_verifies(
        work.path(),
        key["ascii_armor"].as_str().unwrap(),
        sums.as_bytes(),
        &signature,
    );
    for (path, want) in [
        (
            "/terraform/providers/v1/tf/random/9.9.9/download/linux/amd64",
            StatusCode::NOT_FOUND,
        ),
        (
            "/terraform/providers/v1/tf/random/1.2.0/download/windows/amd64",
            StatusCode::NOT_FOUND,
        ),
        ("/terraform/providers/v1/tf/none/versions", StatusCode::NOT_FOUND),
        ("/terraform/providers/v1/nope/random/versions", StatusCode::NOT_FOUND),
        ("/terraform/providers/v1/tf/random", StatusCode::NOT_FOUND),
    ] {
        assert_eq!(server.get(path).await.status(), want, "{path}");
    }

    // The key is the instance's: the same after a restart on the same database.
    let dir = server.kill();
    let server = Server::start_in_https(dir, &tls.env, &tls.ca.cert_pem()).await;
    let (_, again) = get_json(&server, "/terraform/providers/v1/tf/random/1.2.0/download/linux/amd64").await;
    assert_eq!(again["signing_keys"]["gpg_public_keys"][0]["key_id"], key_id.as_str());

    if !terraform_available() {
        return;
    }
    let host = server.addr.clone();
    let ws = Workspace::new(&format!("{host}/tf/random"));
    let (ok, out) = ws.init(&tls.ca_file);
    assert!(ok, "terraform init failed:\n{out}\nserver log:\n{}", server.log());
    assert!(out.contains("Installed"), "{out}");
    assert!(out.contains("1.2.0"), "the newest version is chosen: {out}");
    assert!(
        out.contains(&format!("key ID {key_id}")),
        "signature checked with our key: {out}"
    );
    let lock = std::fs::read_to_string(ws.path().join(".terraform.lock.hcl")).unwrap();
    assert!(lock.contains(&format!("zh:{sha}")), "{lock}");
    let installed = ws.path().join(format!(
        ".terraform/providers/{host}/tf/random/1.2.0/linux_amd64/terraform-provider-random_v1.2.0"
    ));
    assert!(installed.exists(), "{}", installed.display());

    // A man in the middle copies every document from the registry but adds a line to
    // SHA256SUMS (the archive's own line untouched): the signature no longer matches.
    let mitm = FakeUpstream::start_tls(server_config(&tls.ca.server_leaf(), None)).await;
    let mitm_host = mitm.base.strip_prefix("https://").unwrap().to_string();
    let page = |body: String| FakeFile::Page {
        body: body.into(),
        content_type: "application/json",
    };
    mitm.put(".well-known/terraform.json", page(discovery.to_string()));
    mitm.put("terraform/providers/v1/tf/random/versions", page(versions.to_string()));
    let mut forged = download.clone();
    forged["download_url"] = json!(format!("{}/archive.zip", mitm.base));
    forged["shasums_url"] = json!(format!("{}/SHA256SUMS", mitm.base));
    forged["shasums_signature_url"] = json!(format!("{}/SHA256SUMS.sig", mitm.base));
    mitm.put(
        "terraform/providers/v1/tf/random/1.2.0/download/linux/amd64",
        page(forged.to_string()),
    );
    mitm.put("archive.zip", FakeFile::Bytes(archive.into()));
    let tampered = format!(
        "{sums}{}  terraform-provider-random_1.2.0_windows_amd64.zip\n",
        "0".repeat(64)
    );
    mitm.put("SHA256SUMS", FakeFile::Bytes(tampered.into()));
    mitm.put("SHA256SUMS.sig", FakeFile::Bytes(signature));
    let ws = Workspace::new(&format!("{mitm_host}/tf/random"));
    let (ok, out) = ws.init(&tls.ca_file);
    assert!(!ok, "a tampered SHA256SUMS must be refused:\n{out}");
    assert!(out.contains("invalid signature"), "{out}");
    assert!(
        mitm.hits("SHA256SUMS.sig") > 0,
        "terraform fetched the signature: {out}"
    );
}

/// gpg (a second, independent OpenPGP implementation) verifies the detached signature too.
fn assert_gpg_verifies(dir: &Path, armored_key: &str, data: &[u8], signature: &[u8]) {
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    let (key, data_file, sig) = (dir.join("key.asc"), dir.join("SHA256SUMS"), dir.join("SHA256SUMS.sig"));
    std::fs::write(&key, armored_key).unwrap();
    std::fs::write(&data_file, data).unwrap();
    std::fs::write(&sig, signature).unwrap();
    let gpg = |args: &[&std::ffi::OsStr]| {
        Command::new("gpg")
            .arg("--homedir")
            .arg(&home)
            .args(["--batch", "--no-tty"])
            .args(args)
            .output()
            .unwrap()
    };
    let import = gpg(&["--import".as_ref(), key.as_os_str()]);
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let verify = gpg(&["--verify".as_ref(), sig.as_os_str(), data_file.as_os_str()]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    std::fs::write(&data_file, [data, b"x".as_slice()].concat()).unwrap();
    let bad = gpg(&["--verify".as_ref(), sig.as_os_str(), data_file.as_os_str()]);
    assert!(!bad.status.success(), "a changed file must not verify");
}

#[tokio::test]
async fn bad_provider_uploads_are_refused_and_store_nothing() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "tf", "kind": "local", "package": "terraform"}))
        .await;
    let work = tempfile::tempdir().unwrap();
    let good = provider_zip(work.path(), "random", "1.0.0", "terraform-provider-random_v1.0.0");
    let readme_only = provider_zip(work.path(), "random", "1.0.0", "README.md");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("tf/random/random.zip", good.clone(), "expected"),
        (
            "tf/random/terraform-provider-random_1.0_linux_amd64.zip",
            good.clone(),
            "not a version",
        ),
        (
            "tf/random/terraform-provider-random_1.0.0_plan9_amd64.zip",
            good.clone(),
            "operating system",
        ),
        (
            "tf/other/terraform-provider-random_1.0.0_linux_amd64.zip",
            good.clone(),
            "uploaded under",
        ),
        (
            "tf/random/terraform-provider-random_1.0.0_linux_amd64.zip",
            b"not a zip".to_vec(),
            "not a zip",
        ),
        (
            "tf/random/terraform-provider-random_1.0.0_linux_amd64.zip",
            readme_only,
            "provider executable",
        ),
    ];
    for (path, body, message) in cases {
        let (status, error) = put(&server, path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {error}");
        assert_eq!(error["code"], "INVALID_PACKAGE", "{path}: {error}");
        assert!(error["message"].as_str().unwrap().contains(message), "{path}: {error}");
    }
    let objects: Value = server
        .http
        .get(server.url("/api/v2/repositories/tf/objects"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(objects.as_array().map(Vec::len), Some(0), "{objects}");
    assert_eq!(
        server.get("/terraform/providers/v1/tf/random/versions").await.status(),
        StatusCode::NOT_FOUND
    );
    // An anonymous upload is refused before anything is read.
    let r = server
        .http
        .put(server.url("/api/v1/local/tf/random/terraform-provider-random_1.0.0_linux_amd64.zip"))
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The same archive once more is a conflict (the repository does not allow overwrite).
    let path = "tf/random/terraform-provider-random_1.0.0_linux_amd64.zip";
    assert_eq!(put(&server, path, good.clone()).await.0, StatusCode::CREATED);
    assert_eq!(put(&server, path, good).await.0, StatusCode::CONFLICT);
    // The archive downloads like any file, and deletes take it out of the registry.
    assert_eq!(
        server.get(&format!("/api/v1/local/{path}")).await.status(),
        StatusCode::OK
    );
    let r = server
        .http
        .delete(server.url(&format!("/api/v1/local/{path}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        server.get("/terraform/providers/v1/tf/random/versions").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_virtual_repository_merges_its_members_versions() {
    let tls = tls();
    let server = Server::start_https(&tls.env, &tls.ca.cert_pem()).await;
    for name in ["tf-one", "tf-two"] {
        server
            .create_repository(json!({"name": name, "kind": "local", "package": "terraform"}))
            .await;
    }
    server
        .create_repository(
            json!({"name": "tf-all", "kind": "virtual", "package": "terraform", "members": ["tf-one", "tf-two"]}),
        )
        .await;
    let work = tempfile::tempdir().unwrap();
    let one = provider_zip(work.path(), "random", "1.0.0", "terraform-provider-random_v1.0.0");
    let shadowed = provider_zip(work.path(), "random", "1.0.0", "terraform-provider-random");
    let two = provider_zip(work.path(), "random", "2.0.0", "terraform-provider-random_v2.0.0");
    for (path, body) in [
        (
            "tf-one/random/terraform-provider-random_1.0.0_linux_amd64.zip",
            one.clone(),
        ),
        (
            "tf-two/random/terraform-provider-random_1.0.0_linux_amd64.zip",
            shadowed,
        ),
        (
            "tf-two/random/terraform-provider-random_1.0.0_darwin_arm64.zip",
            one.clone(),
        ),
        (
            "tf-two/random/terraform-provider-random_2.0.0_linux_amd64.zip",
            two.clone(),
        ),
    ] {
        assert_eq!(put(&server, path, body).await.0, StatusCode::CREATED, "{path}");
    }
    let (status, versions) = get_json(&server, "/terraform/providers/v1/tf-all/random/versions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        versions,
        json!({"versions": [
            {"version": "2.0.0", "protocols": ["5.0", "6.0"], "platforms": [{"os": "linux", "arch": "amd64"}]},
            {"version": "1.0.0", "protocols": ["5.0", "6.0"], "platforms": [{"os": "linux", "arch": "amd64"}]},
        ]}),
        "1.0.0 comes whole from tf-one, the first member holding it"
    );
    let (_, download) = get_json(
        &server,
        "/terraform/providers/v1/tf-all/random/1.0.0/download/linux/amd64",
    )
    .await;
    let sha = |data: &[u8]| {
        support::oci::digest_of(data)
            .strip_prefix("sha256:")
            .unwrap()
            .to_string()
    };
    assert_eq!(download["shasum"], sha(&one));
    assert_eq!(
        download["shasums_url"],
        server.url("/terraform/providers/v1/tf-one/random/1.0.0/SHA256SUMS")
    );
    let (status, _) = get_json(
        &server,
        "/terraform/providers/v1/tf-all/random/1.0.0/download/darwin/arm64",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    if !terraform_available() {
        return;
    }
    let host = server.addr.clone();
    for (constraint, version, archive) in [("2.0.0", "2.0.0", &two), ("~> 1.0.0", "1.0.0", &one)] {
        let ws = Workspace::new(&format!("{host}/tf-all/random"));
        let main = std::fs::read_to_string(ws.path().join("main.tf")).unwrap().replace(
            &format!("source = \"{host}/tf-all/random\""),
            &format!("source = \"{host}/tf-all/random\", version = \"{constraint}\""),
        );
        std::fs::write(ws.path().join("main.tf"), main).unwrap();
        let (ok, out) = ws.init(&tls.ca_file);
        assert!(ok, "terraform init through the virtual failed:\n{out}");
        assert!(out.contains(&format!("tf-all/random v{version}")), "{out}");
        let lock = std::fs::read_to_string(ws.path().join(".terraform.lock.hcl")).unwrap();
        assert!(lock.contains(&format!("zh:{}", sha(archive))), "{lock}");
    }
}
