//! End to end: `serve` over HTTPS with a certificate from a CA made in the test. curl speaks
//! HTTP/2 and HTTP/1.1 to it (ALPN); pip, npm and skopeo verify it (`--cert`, `--cafile`,
//! `--cert-dir` with `--tls-verify=true`) and follow absolute links that must be https; `apply`
//! reaches it with `--ca-file`. The certificate is reloaded on SIGHUP and on file change without
//! dropping an open connection, and a bad new certificate keeps the old one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::oci;
use support::packages::{build_wheel, pack, packument, simple_page};
use support::server::{ADMIN_TOKEN, Server};
use support::skopeo::{args, creds, skopeo, skopeo_available};
use support::tls::{Leaf, TestCa, server_config};
use support::upstream::{FakeFile, FakeUpstream};

/// A CA, a server certificate it signed for 127.0.0.1, and the files `serve` reads.
struct Certificates {
    ca: TestCa,
    dir: tempfile::TempDir,
    ca_file: PathBuf,
    cert_file: PathBuf,
    key_file: PathBuf,
}

impl Certificates {
    fn new() -> Certificates {
        let ca = TestCa::new("serve CA");
        let dir = tempfile::tempdir().unwrap();
        let ca_file = ca.write(dir.path(), "ca.pem");
        let (cert_file, key_file) = ca.server_leaf().write(dir.path(), "server");
        Certificates {
            ca,
            dir,
            ca_file,
            cert_file,
            key_file,
        }
    }

    fn env(&self, extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("ARTIFACTAPI_TLS_CERT_FILE", self.cert_file.display().to_string()),
            ("ARTIFACTAPI_TLS_KEY_FILE", self.key_file.display().to_string()),
        ];
        env.extend(extra.iter().cloned());
        env
    }

    /// Replaces the served files with `leaf` (key first, as a careful operator would not; the
    /// reloader copes either way).
    fn install(&self, leaf: &Leaf) {
        std::fs::write(&self.key_file, &leaf.key_pem).unwrap();
        std::fs::write(&self.cert_file, &leaf.cert_pem).unwrap();
    }
}

fn curl(args: &[&str]) -> (bool, String, String) {
    let out = without_ambient_trust(&mut Command::new("curl"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The machine may point pip, requests or OpenSSL at its own bundle through the environment
/// (`REQUESTS_CA_BUNDLE` even beats pip's `--cert`); the clients here must see only the test CA.
fn without_ambient_trust(cmd: &mut Command) -> &mut Command {
    for var in [
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "PIP_CERT",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "NODE_EXTRA_CA_CERTS",
        "NPM_CONFIG_CAFILE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_speaks_http2_and_http1_and_links_are_https() {
    let certs = Certificates::new();
    let server = Server::start_https(&certs.env(&[]), &certs.ca.cert_pem()).await;
    let health = server.url("/api/v2/health");
    let ca = certs.ca_file.display().to_string();
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let (ok, out, err) = curl(&["-sS", "--cacert", &ca, flag, "-w", "\n%{http_version}", &health]);
        assert!(ok, "curl {flag}: {err}");
        assert!(out.contains("\"status\":\"ok\""), "{out}");
        assert_eq!(out.lines().last(), Some(version), "{out}");
    }
    // Without the CA curl refuses; plain HTTP to the TLS port gets nowhere.
    let (ok, _, _) = curl(&["-sS", &health]);
    assert!(!ok, "curl trusted a certificate it had no CA for");
    let plain = health.replace("https://", "http://");
    let (ok, _, _) = curl(&["-sS", "--max-time", "5", &plain]);
    assert!(!ok, "plain HTTP was served on the TLS port");

    // The registry's token realm names https, so docker clients stay on TLS.
    let ping = server.get("/v2/").await;
    assert_eq!(ping.status(), StatusCode::UNAUTHORIZED);
    let challenge = ping.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert!(
        challenge.contains(&format!("realm=\"https://{}/v2/token\"", server.addr)),
        "{challenge}"
    );

    // The key never reaches the log.
    let key = std::fs::read_to_string(&certs.key_file).unwrap();
    let key_body = key.lines().nth(1).unwrap();
    assert!(!server.log().contains(key_body));
}

/// pip over HTTPS (`--cert`) through a PyPI remote whose upstream has another private CA
/// (trusted by the remote's `ca_file`), and npm (`--cafile`) through an npm remote whose
/// packument's tarball links are rewritten to https links on this server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pip_and_npm_install_over_https() {
    let certs = Certificates::new();
    let upstream_ca = TestCa::new("upstream CA");
    let upstream_ca_file = upstream_ca.write(certs.dir.path(), "upstream-ca.pem");
    let index = FakeUpstream::start_tls(server_config(&upstream_ca.server_leaf(), None)).await;
    let work = tempfile::tempdir().unwrap();

    let wheel = build_wheel(work.path(), "aatls", "1.0");
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&wheel));
    index.put(
        "pypi/packages/aatls-1.0-py3-none-any.whl",
        FakeFile::Bytes(Bytes::from(wheel)),
    );
    let file_url = format!("{}/pypi/packages/aatls-1.0-py3-none-any.whl#sha256={sha}", index.base);
    index.put(
        "pypi/simple/aatls/",
        simple_page(&[(file_url, "aatls-1.0-py3-none-any.whl".into())]),
    );
    let tarball = pack(work.path(), "aa-tls", "1.0.0");
    index.put(
        "npm/aa-tls/-/aa-tls-1.0.0.tgz",
        FakeFile::Bytes(Bytes::from(tarball.clone())),
    );
    index.put(
        "npm/aa-tls",
        packument(&index, "aa-tls", "1.0.0", "npm/aa-tls/-/aa-tls-1.0.0.tgz", &tarball),
    );

    let server = Server::start_https(&certs.env(&[]), &certs.ca.cert_pem()).await;
    let upstream_trust = upstream_ca_file.display().to_string();
    for package in ["pypi", "npm"] {
        server
            .create_repository(json!({
                "name": package, "kind": "remote", "package": package,
                "base_url": format!("{}/{package}", index.base), "ca_file": upstream_trust,
            }))
            .await;
    }

    let (pip_index, ca, target) = (
        server.url("/api/v1/remote/pypi/simple/"),
        certs.ca_file.clone(),
        work.path().join("site"),
    );
    let out = blocking(move || {
        without_ambient_trust(&mut Command::new("python3"))
            .args([
                "-m",
                "pip",
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--no-deps",
            ])
            .args(["--index-url", &pip_index])
            .arg("--cert")
            .arg(&ca)
            .arg("--target")
            .arg(&target)
            .arg("aatls")
            .env("PIP_CONFIG_FILE", "/dev/null")
            .output()
            .unwrap()
    })
    .await;
    assert!(out.status.success(), "pip: {}", String::from_utf8_lossy(&out.stderr));
    assert!(work.path().join("site/aatls/__init__.py").exists());

    let packument = server.get("/api/v1/remote/npm/aa-tls").await;
    let doc: serde_json::Value = packument.json().await.unwrap();
    let link = doc["versions"]["1.0.0"]["dist"]["tarball"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(link.starts_with(&format!("https://{}/", server.addr)), "{link}");

    let (registry, ca, project) = (
        server.url("/api/v1/remote/npm/"),
        certs.ca_file.clone(),
        work.path().join("project"),
    );
    let out = blocking(move || {
        std::fs::create_dir_all(&project).unwrap();
        without_ambient_trust(&mut Command::new("npm"))
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--no-update-notifier",
                "--fetch-retries=0",
            ])
            .args(["--registry", &registry])
            .arg("--cafile")
            .arg(&ca)
            .arg("--cache")
            .arg(project.join(".npm-cache"))
            .arg("aa-tls")
            .current_dir(&project)
            .env("NPM_CONFIG_USERCONFIG", "/dev/null")
            .output()
            .unwrap()
    })
    .await;
    assert!(out.status.success(), "npm: {}", String::from_utf8_lossy(&out.stderr));
    assert!(work.path().join("project/node_modules/aa-tls/index.js").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_pushes_and_pulls_with_tls_verification() {
    if support::backend_or_skip("skopeo", skopeo_available().then_some(())).is_none() {
        return;
    }
    let certs = Certificates::new();
    let server = Server::start_https(&certs.env(&[]), &certs.ca.cert_pem()).await;
    server
        .create_repository(json!({"name": "containers", "kind": "local", "package": "docker"}))
        .await;
    let work = tempfile::tempdir().unwrap();
    let cert_dir = work.path().join("certs.d");
    std::fs::create_dir(&cert_dir).unwrap();
    certs.ca.write(&cert_dir, "ca.crt");
    let cert_dir = cert_dir.display().to_string();
    let (layout, _) = oci::single_arch(work.path(), "v1", b"layer over tls\n");
    let image = format!("docker://{}/containers/team/app:v1", server.addr);

    let (ok, err) = skopeo(args(&[
        "copy",
        "--dest-tls-verify=true",
        "--dest-cert-dir",
        &cert_dir,
        "--dest-creds",
        &creds(),
        &format!("oci:{}:v1", layout.display()),
        &image,
    ]))
    .await;
    assert!(ok, "push: {err}");
    let back = work.path().join("back");
    let (ok, err) = skopeo(args(&[
        "copy",
        "--src-tls-verify=true",
        "--src-cert-dir",
        &cert_dir,
        &image,
        &format!("oci:{}:pulled", back.display()),
    ]))
    .await;
    assert!(ok, "pull: {err}");
    assert_eq!(oci::blob_names(&back), oci::blob_names(&layout));

    // Without the CA, verification fails.
    let (ok, _) = skopeo(args(&["inspect", "--tls-verify=true", &image])).await;
    assert!(!ok, "skopeo trusted the server without its CA");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_reaches_an_https_server_with_its_ca_file() {
    let certs = Certificates::new();
    let server = Server::start_https(&certs.env(&[]), &certs.ca.cert_pem()).await;
    let file = certs.dir.path().join("repos.toml");
    std::fs::write(
        &file,
        "[[repository]]\nname = \"files\"\nkind = \"local\"\npackage = \"generic\"\n",
    )
    .unwrap();
    let run = |ca: Option<&Path>| {
        let mut cmd = support::server::command(
            certs.dir.path(),
            &["apply", file.to_str().unwrap(), "--server", &server.base],
            &[("ARTIFACTAPI_TOKEN", ADMIN_TOKEN.to_string())],
        );
        if let Some(ca) = ca {
            cmd.arg("--ca-file").arg(ca);
        }
        cmd.output().unwrap()
    };
    let refused = run(None);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("UnknownIssuer"));
    let applied = run(Some(&certs.ca_file));
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    let listed = server.get("/api/v2/repositories/files").await;
    assert_eq!(listed.status(), StatusCode::OK);
}

/// A client that trusts only `ca` and never reuses a connection.
fn fresh_client(ca: &TestCa) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.cert_pem().as_bytes()).unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn trusted_by(ca: &TestCa, server: &Server) -> bool {
    fresh_client(ca).get(server.url("/api/v2/health")).send().await.is_ok()
}

/// Polls until a new connection trusting `ca` succeeds (the reload is asynchronous).
async fn wait_until_trusted(ca: &TestCa, server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !trusted_by(ca, server).await {
        assert!(
            Instant::now() < deadline,
            "certificate not reloaded; log:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_reloads_on_sighup_and_on_file_change_without_dropping_connections() {
    let certs = Certificates::new();
    let server = Server::start_https(
        &certs.env(&[("ARTIFACTAPI_TLS_RELOAD_INTERVAL", "1".to_string())]),
        &certs.ca.cert_pem(),
    )
    .await;
    // One connection opened now and kept: it must survive every reload.
    let kept = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(certs.ca.cert_pem().as_bytes()).unwrap())
        .http2_prior_knowledge()
        .build()
        .unwrap();
    assert!(
        kept.get(server.url("/api/v2/health"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );

    // SIGHUP.
    let second = TestCa::new("second CA");
    certs.install(&second.server_leaf());
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_until_trusted(&second, &server).await;
    assert!(
        !trusted_by(&certs.ca, &server).await,
        "the old certificate is still served"
    );

    // A broken pair keeps the current certificate, and the log says why.
    std::fs::write(&certs.cert_file, "not a certificate").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !server.log().contains("still serving the previous one") {
        assert!(
            Instant::now() < deadline,
            "no log of the refused certificate:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(trusted_by(&second, &server).await);

    // A change of the files is seen by the poll.
    let third = TestCa::new("third CA");
    certs.install(&third.server_leaf());
    wait_until_trusted(&third, &server).await;

    // The first connection was never dropped: an HTTP/2 client reuses it, and a new handshake
    // would have met a certificate it does not trust.
    let response = kept.get(server.url("/api/v2/health")).send().await.unwrap();
    assert!(response.status().is_success());
    assert!(server.log().contains("TLS certificate reloaded"));
}

#[tokio::test]
async fn a_bad_certificate_at_startup_is_one_clear_line() {
    let certs = Certificates::new();
    let other = TestCa::new("other CA").server_leaf();
    std::fs::write(&certs.key_file, &other.key_pem).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = support::server::command(
        dir.path(),
        &["serve"],
        &certs.env(&[
            ("ARTIFACTAPI_LISTEN", "127.0.0.1:0".to_string()),
            ("ARTIFACTAPI_ADMIN_TOKEN", ADMIN_TOKEN.to_string()),
        ]),
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.starts_with("error: tls_cert_file"), "{stderr}");
    assert!(last.contains("do not match"), "{stderr}");
    assert!(!stderr.contains(other.key_pem.lines().nth(1).unwrap()), "{stderr}");
}
