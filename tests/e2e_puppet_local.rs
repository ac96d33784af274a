//! End to end: a hosted Puppet repository and the real `puppet module install`. Releases arrive
//! by the Forge's `POST v3/releases` (multipart `file`) and by `PUT` of the archive; puppet
//! installs the latest and a pinned version of a module, resolving its dependency from the same
//! repository. Generated pages are JSON with ETags (304 on a match), archives are served with
//! their sha256. Bad uploads (garbage, truncated, a name that does not match its metadata, an
//! oversized metadata.json, a member that escapes, no token) are 4xx and change nothing; a
//! re-upload is 409; a release is deleted by its slug.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::{Value, json};
use sha2::Digest as _;
use support::helm::tgz;
use support::puppet::{assert_installed, install, installed_version, module_archive, puppet_available};
use support::server::{ADMIN_TOKEN, Server};

const REPO: &str = "/api/v1/local/forge-local";

async fn put(server: &Server, path: &str, body: Vec<u8>, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .put(server.url(&format!("{REPO}/{path}")))
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn publish(server: &Server, repo: &str, data: &[u8], token: Option<&str>) -> reqwest::Response {
    support::puppet::publish(&server.url(repo), data, token).await
}

/// Every release the repository lists, as `v3/releases` pages them (following `next`).
async fn all_releases(server: &Server) -> Vec<Value> {
    let mut next = Some("/v3/releases?limit=2&sort_by=module".to_string());
    let mut releases = Vec::new();
    while let Some(link) = next {
        let page: Value = server.get(&format!("{REPO}{link}")).await.json().await.unwrap();
        releases.extend(page["results"].as_array().unwrap().iter().cloned());
        next = page["pagination"]["next"].as_str().map(str::to_string);
    }
    releases
}

fn slugs(releases: &[Value]) -> Vec<String> {
    releases
        .iter()
        .map(|r| r["slug"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puppet_installs_latest_and_pinned_modules_with_dependencies_from_a_local_repository() {
    if support::backend_or_skip("puppet", puppet_available().then_some(())).is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "forge-local", "kind": "local", "package": "puppet"}))
        .await;
    let base_dep = [("bb/base", ">= 1.0.0 < 2.0.0")];
    let base_1 = module_archive(work.path(), "bb-base", "1.0.0", &[]);
    let base_11 = module_archive(work.path(), "bb-base", "1.1.0", &[]);
    let base_2 = module_archive(work.path(), "bb-base", "2.0.0", &[]);
    let demo_1 = module_archive(work.path(), "aa-demo", "1.0.0", &base_dep);
    let demo_12 = module_archive(work.path(), "aa-demo", "1.2.0", &base_dep);

    // PUT under v3/files/, PUT of the bare file name, and the Forge's POST.
    let created = put(
        &server,
        "v3/files/bb-base-1.0.0.tar.gz",
        base_1.clone(),
        Some(ADMIN_TOKEN),
    )
    .await;
    assert_eq!(created.status(), 201);
    assert_eq!(
        created.json::<Value>().await.unwrap()["path"],
        "v3/files/bb-base-1.0.0.tar.gz"
    );
    assert_eq!(
        put(&server, "bb-base-1.1.0.tar.gz", base_11.clone(), Some(ADMIN_TOKEN))
            .await
            .status(),
        201
    );
    for archive in [&base_2, &demo_1, &demo_12] {
        let published = publish(&server, REPO, archive, Some(ADMIN_TOKEN)).await;
        assert_eq!(published.status(), 201);
        let release: Value = published.json().await.unwrap();
        assert!(
            release["file_uri"].as_str().unwrap().starts_with("/v3/files/"),
            "{release}"
        );
    }

    // The pages: JSON, ETag and 304, every release once across pages, file checksums right.
    let releases = all_releases(&server).await;
    assert_eq!(
        slugs(&releases),
        [
            "aa-demo-1.2.0",
            "aa-demo-1.0.0",
            "bb-base-2.0.0",
            "bb-base-1.1.0",
            "bb-base-1.0.0"
        ]
    );
    for release in &releases {
        let file = server
            .get(&format!("{REPO}{}", release["file_uri"].as_str().unwrap()))
            .await;
        assert_eq!(file.status(), 200);
        assert_eq!(file.headers()["content-type"], "application/gzip");
        assert!(file.headers().contains_key("etag"));
        let bytes = file.bytes().await.unwrap();
        assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), release["file_sha256"]);
        assert_eq!(support::puppet::md5_hex(&bytes), release["file_md5"]);
        assert_eq!(release["file_size"], bytes.len());
    }
    for page in [
        "/v3/releases?module=aa-demo",
        "/v3/modules/aa-demo",
        "/v3/releases/bb-base-1.1.0",
    ] {
        let response = server.get(&format!("{REPO}{page}")).await;
        assert_eq!(response.status(), 200, "{page}");
        assert_eq!(response.headers()["content-type"], "application/json", "{page}");
        let etag = response.headers()["etag"].to_str().unwrap().to_string();
        let again = reqwest::Client::new()
            .get(server.url(&format!("{REPO}{page}")))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{page}");
    }
    let module: Value = server
        .get(&format!("{REPO}/v3/modules/aa-demo"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(module["current_release"]["version"], "1.2.0");

    // Latest: aa-demo 1.2.0 and the newest bb-base its requirement allows.
    let repository = server.url(REPO);
    let latest = work.path().join("latest");
    assert_installed(&install(&repository, "aa-demo", None, &latest).await);
    assert_eq!(installed_version(&latest, "demo").as_deref(), Some("1.2.0"));
    assert_eq!(installed_version(&latest, "base").as_deref(), Some("1.1.0"));
    let pinned = work.path().join("pinned");
    assert_installed(&install(&repository, "aa/demo", Some("1.0.0"), &pinned).await);
    assert_eq!(installed_version(&pinned, "demo").as_deref(), Some("1.0.0"));
    assert_eq!(installed_version(&pinned, "base").as_deref(), Some("1.1.0"));

    // Re-uploads are conflicts, by PUT and by POST.
    assert_eq!(
        put(
            &server,
            "v3/files/aa-demo-1.2.0.tar.gz",
            demo_12.clone(),
            Some(ADMIN_TOKEN)
        )
        .await
        .status(),
        409
    );
    assert_eq!(publish(&server, REPO, &base_2, Some(ADMIN_TOKEN)).await.status(), 409);

    // Bad input: 4xx with a JSON error, nothing stored, the pages unchanged.
    let before = all_releases(&server).await;
    let truncated = demo_12[..demo_12.len() / 2].to_vec();
    let big_metadata = json!({"name": "cc-big", "version": "1.0.0", "summary": "x".repeat(1 << 20)}).to_string();
    let big = tgz(&[("cc-big-1.0.0/metadata.json", big_metadata.as_bytes())]);
    let slip = tgz(&[
        (
            "cc-evil-1.0.0/metadata.json",
            br#"{"name":"cc-evil","version":"1.0.0"}"#,
        ),
        ("cc-evil-1.0.0/../../../etc/cron.d/x", b"x"),
    ]);
    let other_dir = tgz(&[("cc-dir-2.0.0/metadata.json", br#"{"name":"cc-dir","version":"1.0.0"}"#)]);
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("v3/files/cc-garbage-1.0.0.tar.gz", b"not a tarball".to_vec()),
        ("v3/files/aa-demo-3.0.0.tar.gz", truncated.clone()),
        ("v3/files/aa-demo-9.9.9.tar.gz", demo_1.clone()),
        ("v3/files/cc-big-1.0.0.tar.gz", big.clone()),
        ("v3/files/cc-evil-1.0.0.tar.gz", slip.clone()),
        ("v3/files/cc-dir-1.0.0.tar.gz", other_dir.clone()),
        ("v3/files/not-a-module.zip", demo_1.clone()),
    ];
    for (path, body) in bad {
        let response = put(&server, path, body, Some(ADMIN_TOKEN)).await;
        assert_eq!(response.status(), 400, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["code"], "INVALID_PACKAGE", "{path}: {error}");
    }
    for body in [truncated, big, slip, other_dir, b"garbage".to_vec()] {
        assert_eq!(publish(&server, REPO, &body, Some(ADMIN_TOKEN)).await.status(), 400);
    }
    let empty_form = reqwest::Client::new()
        .post(server.url(&format!("{REPO}/v3/releases")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(empty_form.status(), 400);
    let fresh = module_archive(work.path(), "cc-new", "1.0.0", &[]);
    assert_eq!(
        put(&server, "v3/files/cc-new-1.0.0.tar.gz", fresh.clone(), None)
            .await
            .status(),
        401
    );
    assert_eq!(publish(&server, REPO, &fresh, None).await.status(), 401);
    assert_eq!(all_releases(&server).await, before);

    // Delete by the release's slug: gone from the pages, its file gone.
    let deleted = reqwest::Client::new()
        .delete(server.url(&format!("{REPO}/v3/releases/aa-demo-1.0.0")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        slugs(&all_releases(&server).await),
        ["aa-demo-1.2.0", "bb-base-2.0.0", "bb-base-1.1.0", "bb-base-1.0.0"]
    );
    assert_eq!(
        server
            .get(&format!("{REPO}/v3/files/aa-demo-1.0.0.tar.gz"))
            .await
            .status(),
        404
    );
}
