//! End to end: the web UI at `/ui`. One test drives it in Debian's Chromium through Playwright
//! (tests/browser/ui_test.py: log in, create a remote with a validation error first, watch a
//! fetch arrive live on the events page, evict the object, create and revoke a token, 375 px and
//! no-JavaScript checks), saving screenshots of every page under `target/ui-screenshots/`. The
//! others check the session and CSRF rules over plain HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::json;
use std::path::Path;
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Python Playwright and Debian's Chromium, as `scripts/test.sh` installs them.
fn browser_available() -> bool {
    let playwright = std::process::Command::new("python3")
        .args(["-c", "import playwright.sync_api"])
        .status()
        .is_ok_and(|s| s.success());
    playwright && Path::new("/usr/bin/chromium").exists()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ui_works_in_a_real_browser() {
    if support::backend_or_skip(
        "Python Playwright and /usr/bin/chromium",
        browser_available().then_some(()),
    )
    .is_none()
    {
        return;
    }
    let upstream = FakeUpstream::start().await;
    upstream.put(
        "hello.txt",
        FakeFile::Bytes(bytes::Bytes::from_static(b"hello from upstream\n")),
    );
    let server = Server::start(&[]).await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shots = root.join("target/ui-screenshots");
    let output = tokio::process::Command::new("python3")
        .arg(root.join("tests/browser/ui_test.py"))
        .args([
            "--base",
            &server.base,
            "--token",
            ADMIN_TOKEN,
            "--upstream",
            &upstream.base,
        ])
        .arg("--screenshots")
        .arg(&shots)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser test failed\nstdout:\n{stdout}\nstderr:\n{stderr}\nserver log:\n{}",
        server.log()
    );
    assert!(stdout.contains("every step passed"), "{stdout}");
    for page in [
        "04-repository-detail",
        "06-events",
        "07-objects",
        "11-token-created",
        "14-phone-repository",
    ] {
        assert!(shots.join(format!("{page}.png")).exists(), "no screenshot of {page}");
    }
    // Fetched, evicted in the browser, fetched again (the event the boosted events page shows).
    assert_eq!(upstream.hits("hello.txt"), 2);
}

/// Logs in like the login form does and returns the `aa_session=...` cookie pair.
async fn login(server: &Server, token: &str) -> String {
    let r = no_redirects()
        .post(server.url("/ui/login"))
        .header(ORIGIN, &server.base)
        .form(&[("token", token), ("next", "/ui/tokens")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/ui/tokens");
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/ui"),
        "{set}"
    );
    assert!(
        !set.contains("Secure"),
        "plain HTTP: a Secure cookie would never come back"
    );
    assert!(!set.contains(token), "the cookie must not carry the token");
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn sessions_forms_and_reading_without_javascript() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "files", "kind": "local", "package": "generic"}))
        .await;
    let http = no_redirects();

    // The root leads to the UI; pages read without a session or JavaScript (anonymous_read).
    let root = http.get(server.url("/")).send().await.unwrap();
    assert_eq!(root.headers()[LOCATION], "/ui/repositories");
    let page = http.get(server.url("/ui/repositories/files")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<h1>files</h1>") && html.contains("/api/v1/local/files/path/to/file.tar.gz"),
        "{html}"
    );
    // Objects page by page (100 a page), by prefix, without a session.
    for i in 0..101 {
        let put = reqwest::Client::new()
            .put(server.url(&format!("/api/v1/local/files/pkg/f{i:03}.txt")))
            .bearer_auth(ADMIN_TOKEN)
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), StatusCode::CREATED);
    }
    let first = http
        .get(server.url("/ui/repositories/files/objects?prefix=pkg/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(first.contains("pkg/f000.txt") && first.contains("pkg/f099.txt") && !first.contains("pkg/f100.txt"));
    let next = first
        .split("href=\"")
        .map(|rest| rest.split('"').next().unwrap())
        .find(|href| href.contains("cursor="))
        .expect("a next-page link")
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    let second = http.get(server.url(&next)).send().await.unwrap().text().await.unwrap();
    assert!(
        second.contains("pkg/f100.txt") && !second.contains("pkg/f099.txt"),
        "{next}"
    );
    assert!(!second.contains("Evict"), "anonymous readers get no evict buttons");

    let tokens = http.get(server.url("/ui/tokens")).send().await.unwrap();
    assert_eq!(tokens.headers()[LOCATION], "/ui/login?next=/ui/tokens");

    // A wrong token is refused at the field; a right one opens a session.
    let refused = http
        .post(server.url("/ui/login"))
        .header(ORIGIN, &server.base)
        .form(&[("token", "aa_wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.unwrap().contains(r#"id="token-error""#));
    let cookie = login(&server, ADMIN_TOKEN).await;
    let page = http
        .get(server.url("/ui/tokens"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Signed in as <strong>admin</strong>")
    );

    // A form posted from another site changes nothing, even with a good session.
    let create = |origin: Option<&str>, site: Option<&str>| {
        let mut r = http
            .post(server.url("/ui/repositories"))
            .header(COOKIE, &cookie)
            .form(&[("name", "evil"), ("kind", "local"), ("package", "generic")]);
        if let Some(o) = origin {
            r = r.header(ORIGIN, o);
        }
        if let Some(s) = site {
            r = r.header("sec-fetch-site", s);
        }
        r.send()
    };
    for (origin, site) in [
        (Some("http://evil.test"), None),
        (Some(server.base.as_str()), Some("cross-site")),
        (None, None),
    ] {
        assert_eq!(
            create(origin, site).await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{origin:?} {site:?}"
        );
    }
    let missing = reqwest::Client::new()
        .get(server.url("/api/v2/repositories/evil"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let made = create(Some(&server.base), Some("same-origin")).await.unwrap();
    assert_eq!(made.status(), StatusCode::SEE_OTHER);
    assert_eq!(made.headers()[LOCATION], "/ui/repositories/evil?saved=1");

    // The event stream takes the session (EventSource sends no headers), and nothing else.
    let stream = http
        .get(server.url("/ui/events/stream"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    drop(stream);
    let anonymous = http.get(server.url("/ui/events/stream")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // Logging out ends that session for good; a forged cookie is nobody.
    let out = http
        .post(server.url("/ui/logout"))
        .header(ORIGIN, &server.base)
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert!(out.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    for stale in [cookie.as_str(), "aa_session=aas.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let again = http
            .get(server.url("/ui/tokens"))
            .header(COOKIE, stale)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::SEE_OTHER, "{stale}");
    }
}

#[tokio::test]
async fn revoking_a_token_ends_its_sessions_and_closed_instances_ask_for_a_login() {
    let server = Server::start(&[("ARTIFACTAPI_ANONYMOUS_READ", "false".to_string())]).await;
    let http = no_redirects();
    let list = http.get(server.url("/ui/repositories")).send().await.unwrap();
    assert_eq!(list.status(), StatusCode::SEE_OTHER);
    assert_eq!(list.headers()[LOCATION], "/ui/login?next=/ui/repositories");

    let secret = server.create_token(json!({"name": "reader", "scopes": ["read"]})).await;
    let cookie = login(&server, &secret).await;
    let read = http
        .get(server.url("/ui/repositories"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let html = read.text().await.unwrap();
    assert!(
        !html.contains("New repository") && !html.contains("/ui/tokens"),
        "a reader sees no admin links"
    );
    let admin_page = http
        .get(server.url("/ui/tokens"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(admin_page.status(), StatusCode::FORBIDDEN);

    let tokens: serde_json::Value = reqwest::Client::new()
        .get(server.url("/api/v2/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "reader")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let revoked = reqwest::Client::new()
        .delete(server.url(&format!("/api/v2/tokens/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let after = http
        .get(server.url("/ui/repositories"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "the session died with its token");
    assert!(after.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
}
