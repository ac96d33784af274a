//! End to end: `artifactapi tui` in a real terminal (tmux), driven with `send-keys` and read with
//! `capture-pane`, against a running server: live counters, the object browser (prefix search,
//! evict, probe, flush), health, the event tail with its filter, help, a resize, and the tail
//! reconnecting after the server restarts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

/// A tmux server of our own (its own socket), so nothing else's sessions are touched.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn start(command: &str, width: u16, height: u16) -> Tmux {
        let tmux = Tmux {
            socket: format!("artifactapi-e2e-{}", std::process::id()),
        };
        let (w, h) = (width.to_string(), height.to_string());
        let out = tmux.run(&["new-session", "-d", "-s", "tui", "-x", &w, "-y", &h, command]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        tmux
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let out = self.run(&["send-keys", "-t", "tui", k]);
            assert!(out.status.success(), "send-keys {k}");
        }
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        assert!(self.run(&["send-keys", "-t", "tui", "-l", text]).status.success());
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "tui"]).stdout).to_string()
    }

    /// Polls the screen until `ok` holds (15 s at most).
    async fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_for(&self, needle: &str) -> String {
        self.wait(needle, |s| s.contains(needle)).await
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen.lines().find(|l| l.contains(needle)).unwrap_or("")
}

/// The row of `name` on the repositories view as words: name, kind, package, objects, size,
/// unit, hits, misses, errors.
fn repo_columns(screen: &str, name: &str) -> Vec<String> {
    line_with(screen, &format!(" {name} "))
        .split(|c: char| c.is_whitespace() || c == '│' || c == '>')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

async fn put(server: &Server, repo: &str, path: &str, body: &'static str) {
    let r = reqwest::Client::new()
        .put(server.url(&format!("/api/v1/local/{repo}/{path}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
}

async fn get_status(server: &Server, path: &str) -> u16 {
    reqwest::get(server.url(path)).await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tui_drives_a_running_server() {
    let tmux_found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if support::backend_or_skip("tmux", tmux_found.then_some(())).is_none() {
        return;
    }
    let upstream = FakeUpstream::start().await;
    upstream.put("hello.txt", FakeFile::Bytes(bytes::Bytes::from_static(b"hello\n")));
    let server = Server::start(&[]).await;
    server
        .create_repository(serde_json::json!({"name": "files", "kind": "local", "package": "generic"}))
        .await;
    server
        .create_repository(
            serde_json::json!({"name": "mirror", "kind": "remote", "package": "generic", "base_url": upstream.base}),
        )
        .await;
    put(&server, "files", "app/app-1.0.txt", "one").await;
    put(&server, "files", "app/readme.txt", "read me").await;
    put(&server, "files", "other/x.txt", "x").await;
    assert_eq!(get_status(&server, "/api/v1/remote/mirror/hello.txt").await, 200);

    let bin = env!("CARGO_BIN_EXE_artifactapi");
    let command = format!(
        "{bin} tui --endpoint {} --token {ADMIN_TOKEN}; echo \"tui exited $?\"; sleep 60",
        server.base
    );
    let tmux = Tmux::start(&command, 110, 30);

    // Repositories with live counters: a second fetch shows up as a hit without a key press.
    let screen = tmux.wait_for("mirror").await;
    assert!(
        screen.contains("files") && screen.contains("? help") && screen.contains("q quit"),
        "{screen}"
    );
    assert_eq!(repo_columns(&screen, "mirror")[..3], ["mirror", "remote", "generic"]);
    assert_eq!(get_status(&server, "/api/v1/remote/mirror/hello.txt").await, 200);
    tmux.wait("a live hit", |s| {
        let c = repo_columns(s, "mirror");
        c.len() >= 9 && c[6] == "1" && c[7] == "1"
    })
    .await;

    // Objects of `files`: prefix search, then evict with a confirmation.
    tmux.keys(&["Enter"]);
    tmux.wait_for("app/app-1.0.txt").await;
    assert!(tmux.screen().contains("other/x.txt"));
    tmux.keys(&["/"]);
    tmux.type_text("app/r");
    tmux.keys(&["Enter"]);
    let screen = tmux
        .wait("the prefix search", |s| {
            s.contains("prefix 'app/r'") && !s.contains("app-1.0.txt")
        })
        .await;
    assert!(screen.contains("app/readme.txt"), "{screen}");
    tmux.keys(&["e"]);
    tmux.wait_for("Evict app/readme.txt from files? (y/n)").await;
    tmux.keys(&["y"]);
    tmux.wait_for("Evicted app/readme.txt.").await;
    assert_eq!(get_status(&server, "/api/v1/local/files/app/readme.txt").await, 404);

    // Probe the remote's upstream, then flush its cache.
    tmux.keys(&["Escape"]);
    tmux.wait("the repositories", |s| s.contains("Repositories (2)")).await;
    tmux.keys(&["Down", "p"]);
    tmux.wait_for("Probe path:").await;
    tmux.type_text("hello.txt");
    tmux.keys(&["Enter"]);
    tmux.wait_for("HTTP 200").await;
    tmux.keys(&["Enter"]);
    tmux.wait("mirror's objects", |s| {
        s.contains("mirror page 1") && s.contains("immutable")
    })
    .await;
    tmux.keys(&["F", "y"]);
    tmux.wait_for("Flushed 1 cached copies of mirror.").await;

    // Health.
    tmux.keys(&["3"]);
    let screen = tmux.wait_for("Health: ready").await;
    assert!(line_with(&screen, "database").contains("ok"), "{screen}");

    // Events: an upload arrives; the filter hides what does not match.
    tmux.keys(&["4"]);
    tmux.wait_for("Events: live").await;
    put(&server, "files", "live/one.txt", "1").await;
    tmux.wait_for("live/one.txt").await;
    tmux.keys(&["/"]);
    tmux.type_text("nomatch");
    tmux.wait("the filter", |s| {
        s.contains("filter 'nomatch'") && !s.contains("live/one.txt")
    })
    .await;
    tmux.keys(&["Enter", "Escape"]);
    tmux.wait("the cleared filter", |s| {
        s.contains("live/one.txt") && !s.contains("nomatch")
    })
    .await;

    // Help, and a resize to a small terminal.
    tmux.keys(&["?"]);
    tmux.wait_for("Help: any key closes").await;
    tmux.keys(&["x"]);
    tmux.wait("help closed", |s| !s.contains("Help: any key closes")).await;
    assert!(
        tmux.run(&["resize-window", "-t", "tui", "-x", "50", "-y", "14"])
            .status
            .success()
    );
    let small = tmux
        .wait("the resize", |s| {
            s.lines().all(|l| l.chars().count() <= 50) && s.contains("Events: live")
        })
        .await;
    assert!(small.contains("1 Repositories"), "{small}");

    // The tail reconnects when the server comes back on the same address.
    let addr = server.addr.clone();
    let dir = server.dir.path().to_path_buf();
    let mut first = server;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    tmux.wait_for("reconnecting").await;
    let log = std::fs::File::create(dir.join("second.log")).unwrap();
    let mut second = support::server::command(
        &dir,
        &["serve"],
        &[
            ("ARTIFACTAPI_LISTEN", addr.clone()),
            ("ARTIFACTAPI_ADMIN_TOKEN", ADMIN_TOKEN.to_string()),
        ],
    )
    .stdout(Stdio::null())
    .stderr(log)
    .spawn()
    .unwrap();
    tmux.wait_for("Events: live").await;
    let r = reqwest::Client::new()
        .put(format!("http://{addr}/api/v1/local/files/after/restart.txt"))
        .bearer_auth(ADMIN_TOKEN)
        .body("2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    tmux.wait_for("after/rest").await; // the path is cut at 50 columns

    tmux.keys(&["q"]);
    tmux.wait_for("tui exited 0").await;
    second.kill().unwrap();
    second.wait().unwrap();
}
