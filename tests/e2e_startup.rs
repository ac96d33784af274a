//! End to end: startup, configuration, logging, admin token bootstrap and graceful shutdown of the
//! real binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::process::Stdio;
use std::time::Duration;
use support::server::{ADMIN_TOKEN, Server, command, free_port};

/// Runs `serve` expecting it to fail fast; returns (exit code, stderr).
fn failing_start(env: &[(&str, String)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![("ARTIFACTAPI_LISTEN", format!("127.0.0.1:{}", free_port()))];
    all.extend(env.iter().cloned());
    let out = command(dir.path(), &["serve"], &all)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn bad_configuration_is_one_clear_line_and_a_non_zero_exit() {
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![("ARTIFACTAPI_BLOB_STORE", "gcs://bucket".into())],
            "supported: fs://, s3://",
        ),
        (
            vec![("ARTIFACTAPI_CACHE_URL", "memcached://127.0.0.1".into())],
            "supported: memory://, redis://",
        ),
        (
            vec![("ARTIFACTAPI_DATABASE_URL", "mysql://root:hunter2@127.0.0.1/x".into())],
            "supported: sqlite://, postgres://",
        ),
        (
            vec![(
                "ARTIFACTAPI_DATABASE_URL",
                "postgres://postgres:hunter2@127.0.0.1:1/none".into(),
            )],
            "cannot open the database",
        ),
        (
            vec![("ARTIFACTAPI_CACHE_URL", "redis://:hunter2@127.0.0.1:1".into())],
            "cannot reach the cache",
        ),
        (
            vec![("ARTIFACTAPI_LISTEN", "not-an-address".into())],
            "invalid value for listen",
        ),
        (
            vec![(
                "ARTIFACTAPI_BLOB_STORE",
                "s3://bucket?endpoint=http://127.0.0.1:1".into(),
            )],
            "cannot open the blob store",
        ),
    ];
    for (env, expected) in cases {
        let (code, stderr) = failing_start(&env);
        assert!(code.is_some_and(|c| c != 0), "{env:?} must fail: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(lines.len(), 1, "{env:?}: {stderr}");
        assert!(lines[0].contains(expected), "{env:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "credentials leaked: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_bad_config_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[repository]]\nname = \"Bad\"\nkind = \"local\"\npackage = \"generic\"\n",
    )
    .unwrap();
    let out = command(
        dir.path(),
        &["--config", file.to_str().unwrap(), "serve"],
        &[("ARTIFACTAPI_LISTEN", format!("127.0.0.1:{}", free_port()))],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("name"), "{stderr}");
}

#[tokio::test]
async fn config_repositories_json_logs_and_listing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("artifactapi.toml");
    std::fs::write(
        &file,
        "[[repository]]\nname = \"from-config\"\nkind = \"local\"\npackage = \"generic\"\n",
    )
    .unwrap();
    let server = Server::start_with(&[], &["--log-format", "json", "--config", file.to_str().unwrap()]).await;
    let list: serde_json::Value = reqwest::get(server.url("/api/v2/repositories"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let repo = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "from-config")
        .expect("config repository created");
    assert_eq!(repo["managed_by"], "config");
    let delete = reqwest::Client::new()
        .delete(server.url("/api/v2/repositories/from-config"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        delete.status(),
        409,
        "config-managed repositories are not deleted through the API"
    );
    let log = server.log();
    assert!(!log.trim().is_empty());
    for line in log.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
}

#[tokio::test]
async fn generated_admin_token_is_printed_once_and_works() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let start = || {
        command(dir.path(), &["serve"], &[("ARTIFACTAPI_LISTEN", listen.clone())])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = start();
    let token = read_token_line(&mut first).await.expect("first start prints the token");
    // The token is printed before the server listens.
    wait_healthy(&listen).await;
    let client = reqwest::Client::new();
    let created = client
        .post(format!("http://{listen}/api/v2/repositories"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "files", "kind": "local", "package": "generic"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    stop(&mut first);
    let stored = std::fs::read(dir.path().join("data/meta.db")).unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains(&token),
        "only the hash is stored"
    );

    let mut second = start();
    wait_healthy(&listen).await;
    stop(&mut second);
    let mut out = String::new();
    use std::io::Read;
    second.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(!out.contains("admin token"), "second start prints nothing: {out}");
}

async fn read_token_line(child: &mut std::process::Child) -> Option<String> {
    let stdout = child.stdout.take()?;
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout).lines().next()
    })
    .await
    .ok()??
    .ok()?;
    line.rsplit(' ').next().map(str::to_string)
}

async fn wait_healthy(listen: &str) {
    for _ in 0..300 {
        if reqwest::get(format!("http://{listen}/api/v2/health"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not healthy");
}

fn stop(child: &mut std::process::Child) {
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_upload_finish() {
    let server = Server::start(&[]).await;
    let client = reqwest::Client::new();
    let created = client
        .post(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&serde_json::json!({"name": "files", "kind": "local", "package": "generic"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(4);
    let upload = tokio::spawn(
        client
            .put(server.url("/api/v1/local/files/slow.bin"))
            .bearer_auth(ADMIN_TOKEN)
            .body(reqwest::Body::wrap_stream(tokio_stream::wrappers::ReceiverStream::new(
                rx,
            )))
            .send(),
    );
    tx.send(Ok(bytes::Bytes::from_static(b"first half, "))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(server.pid().to_string())
        .status();
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(Ok(bytes::Bytes::from_static(b"second half"))).await.unwrap();
    drop(tx);
    let response = upload.await.unwrap().unwrap();
    assert_eq!(response.status(), 201, "the in-flight upload completes after SIGTERM");
    let mut server = server;
    let status = tokio::task::spawn_blocking(move || {
        let status = server.child.wait().unwrap();
        (status, server)
    })
    .await
    .unwrap();
    assert!(
        status.0.success(),
        "clean exit after SIGTERM: {:?}\n{}",
        status.0,
        status.1.log()
    );
}

/// The socket is bound before the backends are opened: with a cache that accepts connections but
/// never answers, liveness is 200 at once, readiness says `starting`, and other requests wait.
#[tokio::test]
async fn liveness_answers_while_the_backends_open() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let cache_url = format!("redis://{}", silent.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = command(
        dir.path(),
        &["serve"],
        &[
            ("ARTIFACTAPI_LISTEN", listen.clone()),
            ("ARTIFACTAPI_CACHE_URL", cache_url),
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    wait_healthy(&listen).await;
    let ready = reqwest::get(format!("http://{listen}/api/v2/health/ready"))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "starting");
    let waiting = reqwest::Client::new()
        .get(format!("http://{listen}/api/v2/repositories"))
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(
        waiting.is_err_and(|e| e.is_timeout()),
        "a request during start-up waits for the app"
    );
    let _ = child.kill();
    let _ = child.wait();
    drop(silent);
}

/// Requests are not logged at `log_level = info`; `access_log` writes one line per request,
/// without the query string.
#[tokio::test]
async fn the_access_log_is_separate_and_off_by_default() {
    let quiet = Server::start(&[]).await;
    let r = quiet.get("/api/v1/local/nothing-here/file.txt?token=secret").await;
    assert_eq!(r.status(), 404);
    assert!(!quiet.log().contains("nothing-here"), "{}", quiet.log());

    let logs = tempfile::tempdir().unwrap();
    let file = logs.path().join("access.log");
    let logged = Server::start(&[("ARTIFACTAPI_ACCESS_LOG", file.display().to_string())]).await;
    let r = logged.get("/api/v1/local/nothing-here/file.txt?token=secret").await;
    assert_eq!(r.status(), 404);
    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.contains("nothing-here") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let line = text
        .lines()
        .find(|l| l.contains("/api/v1/local/nothing-here/file.txt"))
        .unwrap_or_else(|| panic!("no access line: {text}"));
    let fields: Vec<&str> = line.split(' ').collect();
    assert_eq!(
        fields[1..5],
        ["127.0.0.1", "GET", "/api/v1/local/nothing-here/file.txt", "404"]
    );
    assert!(!text.contains("secret"), "the query string is not logged: {text}");
    assert!(!logged.log().contains("nothing-here"));
}
