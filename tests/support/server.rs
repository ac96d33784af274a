//! Runs the real `artifactapi` binary on a random loopback port, in its own data directory.
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789abcdef";

pub struct Server {
    pub child: Child,
    pub base: String,
    pub addr: String,
    pub dir: tempfile::TempDir,
    /// A client for this server (trusting its test CA when it serves HTTPS).
    pub http: reqwest::Client,
}

/// `127.0.0.1:<port>` from the server's `listening` log line (human or JSON format).
fn listening_address(log: &str) -> Option<String> {
    let line = log
        .lines()
        .find(|l| l.contains("listening") && l.contains("socket://127.0.0.1:"))?;
    let rest = &line[line.find("socket://127.0.0.1:")? + "socket://".len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The command, with a clean environment for our variables, run inside `dir`.
pub fn command(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_artifactapi"));
    cmd.current_dir(dir).args(args);
    // Trust and proxy variables too: a test that wants them sets them.
    const OUTBOUND: &[&str] = &[
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    ];
    for (key, _) in std::env::vars() {
        if key.starts_with("ARTIFACTAPI_") || OUTBOUND.contains(&key.to_ascii_uppercase().as_str()) {
            cmd.env_remove(key);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

impl Server {
    /// Starts `serve` with `env` on top of a listen address and the admin token, and waits for
    /// `/api/v2/health`. stderr goes to `<dir>/server.log`.
    pub async fn start(env: &[(&str, String)]) -> Server {
        Self::start_with(env, &[]).await
    }

    /// The server binds port 0 and the address is read from its `listening` log line, so
    /// servers started in parallel can never answer each other's requests.
    pub async fn start_with(env: &[(&str, String)], extra_args: &[&str]) -> Server {
        Self::launch(tempfile::tempdir().unwrap(), env, extra_args, None).await
    }

    /// Like `start_with`, in a directory that may hold an earlier server's data (see `kill`).
    pub async fn start_in(dir: tempfile::TempDir, env: &[(&str, String)], extra_args: &[&str]) -> Server {
        Self::launch(dir, env, extra_args, None).await
    }

    /// `serve` over HTTPS: `env` must set `ARTIFACTAPI_TLS_CERT_FILE`/`_KEY_FILE` to a
    /// certificate for 127.0.0.1 signed by the CA in `ca_pem`; `base` is `https://127.0.0.1:<port>`.
    pub async fn start_https(env: &[(&str, String)], ca_pem: &str) -> Server {
        Self::launch(tempfile::tempdir().unwrap(), env, &[], Some(ca_pem)).await
    }

    /// `start_https` in a directory that may hold an earlier server's data (see `kill`).
    pub async fn start_in_https(dir: tempfile::TempDir, env: &[(&str, String)], ca_pem: &str) -> Server {
        Self::launch(dir, env, &[], Some(ca_pem)).await
    }

    async fn launch(
        dir: tempfile::TempDir,
        env: &[(&str, String)],
        extra_args: &[&str],
        ca_pem: Option<&str>,
    ) -> Server {
        let mut all: Vec<(&str, String)> = vec![
            ("ARTIFACTAPI_LISTEN", "127.0.0.1:0".to_string()),
            ("ARTIFACTAPI_ADMIN_TOKEN", ADMIN_TOKEN.to_string()),
        ];
        all.extend(env.iter().cloned());
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let mut args = extra_args.to_vec();
        args.push("serve");
        let mut child = command(dir.path(), &args, &all)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let log_path = dir.path().join("server.log");
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(addr) = listening_address(&text) {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("server exited ({status}) before listening; log:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "server did not start listening; log:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let mut http = reqwest::Client::builder();
        if let Some(pem) = ca_pem {
            http = http.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
        }
        let scheme = if ca_pem.is_some() { "https" } else { "http" };
        let server = Server {
            child,
            base: format!("{scheme}://{addr}"),
            addr,
            dir,
            http: http.build().unwrap(),
        };
        server.wait_healthy().await;
        server
    }

    /// Liveness answers as soon as the socket is bound; the server is started once readiness
    /// says anything but `starting` (a disk test may see `low_space`, which is still started).
    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = self.http.get(format!("{}/api/v2/health/ready", self.base)).send().await
                && let Ok(body) = r.json::<serde_json::Value>().await
                && body["status"] != "starting"
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not finish starting; log:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path` with this server's client; transport errors fail the test.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// Creates a repository through the management API as the admin; anything but 201 fails.
    /// A GET that does not follow redirects (to check a 301 and its Location).
    pub async fn get_unfollowed(&self, path: &str) -> reqwest::Response {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(self.url(path))
            .send()
            .await
            .unwrap()
    }

    pub async fn create_repository(&self, body: serde_json::Value) {
        let r = self
            .http
            .post(self.url("/api/v2/repositories"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED, "{}", r.text().await.unwrap());
    }

    /// `GET /api/v2/repositories/{name}` as the admin: the status and the JSON (null if none).
    pub async fn repository(&self, name: &str) -> (reqwest::StatusCode, serde_json::Value) {
        let r = self
            .http
            .get(self.url(&format!("/api/v2/repositories/{name}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A merge patch of a repository's fields as the admin; it must succeed.
    pub async fn patch_repository(&self, name: &str, body: serde_json::Value) {
        let r = self
            .http
            .patch(self.url(&format!("/api/v2/repositories/{name}")))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK, "{}", r.text().await.unwrap());
    }

    /// Creates an API token as the admin and returns its secret.
    pub async fn create_token(&self, body: serde_json::Value) -> String {
        let r = self
            .http
            .post(self.url("/api/v2/tokens"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
        let created: serde_json::Value = r.json().await.unwrap();
        created["secret"].as_str().unwrap().to_string()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILLs the server (no cleanup of any kind) and hands back its directory, data and all.
    pub fn kill(mut self) -> tempfile::TempDir {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends raw bytes as an HTTP/1.1 request (so paths reach the server exactly as written, with no
/// client-side normalisation of `..` or `%2e`) and returns the status code.
pub async fn raw_status(addr: &str, request_line_and_headers: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request_line_and_headers.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"))
}
