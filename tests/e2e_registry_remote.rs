//! End to end: docker remotes. skopeo pulls a multi-arch image through a remote whose upstream
//! is Debian's `docker-registry` (the CNCF distribution registry), then again with the upstream
//! stopped, by tag and by index digest; and through a remote whose upstream is another
//! artifactapi that only lets a token read, so the remote must answer its Bearer challenge.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::distribution::{self, Distribution};
use support::oci;
use support::server::{ADMIN_TOKEN, Server};
use support::skopeo::{args, inspect_raw, pull, skopeo, skopeo_available};

async fn tags_of(client: &reqwest::Client, server: &Server, repo: &str) -> serde_json::Value {
    let url = server.url(&format!("/v2/{repo}/team/app/tags/list"));
    client
        .get(url)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["tags"]
        .clone()
}

fn clients_available() -> Option<()> {
    support::backend_or_skip("skopeo", skopeo_available().then_some(()))?;
    support::backend_or_skip("docker-registry", distribution::available().then_some(()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_pulls_through_a_docker_remote_and_again_with_the_upstream_gone() {
    if clients_available().is_none() {
        return;
    }
    let mut upstream = Distribution::start().await;
    let work = tempfile::tempdir().unwrap();
    let (layout, index_digest, children) = oci::multi_arch(work.path(), "v2");
    let (ok, err) = skopeo(args(&[
        "copy",
        "--all",
        "--dest-tls-verify=false",
        &format!("oci:{}:v2", layout.display()),
        &format!("docker://{}/team/app:v2", upstream.addr),
    ]))
    .await;
    assert!(ok, "seeding the upstream failed: {err}");

    let server = Server::start(&[]).await;
    // mutable_ttl 0: every tag lookup asks the upstream, so the second pull proves stale-on-error.
    server
        .create_repository(json!({"name": "hub", "kind": "remote", "package": "docker",
            "base_url": format!("http://{}", upstream.addr), "mutable_ttl": 0}))
        .await;
    let host = server.addr.clone();
    let first = work.path().join("first");
    pull(&format!("docker://{host}/hub/team/app:v2"), &first, true).await;
    assert_eq!(oci::blob_names(&first), oci::blob_names(&layout), "pulled blobs differ");
    let raw = inspect_raw(&format!("docker://{host}/hub/team/app:v2")).await;
    assert_eq!(raw["mediaType"], oci::OCI_INDEX);

    // Banned tags and blocked images are refused before any upstream request.
    server
        .create_repository(json!({"name": "strict", "kind": "remote", "package": "docker",
            "base_url": format!("http://{}", upstream.addr), "ban_tags": ["^v2$"], "blocklist": ["^secret/"]}))
        .await;
    for path in ["/v2/strict/team/app/manifests/v2", "/v2/strict/secret/app/manifests/v1"] {
        let r = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "DENIED");
    }

    let client = reqwest::Client::new();
    let get_index = || {
        client
            .get(server.url("/v2/hub/team/app/manifests/v2"))
            .header("accept", oci::OCI_INDEX)
            .send()
    };
    let cached = get_index().await.unwrap();
    assert_eq!(cached.status(), StatusCode::OK);
    assert_eq!(cached.headers()["x-artifact-source"], "cache", "pulled once already");
    let tags = || async {
        let r = client
            .get(server.url("/v2/hub/team/app/tags/list"))
            .send()
            .await
            .unwrap();
        r.json::<serde_json::Value>().await.unwrap()
    };
    assert_eq!(tags().await, json!({"name": "hub/team/app", "tags": ["v2"]}));

    upstream.stop();
    let by_tag = work.path().join("by-tag");
    pull(&format!("docker://{host}/hub/team/app:v2"), &by_tag, true).await;
    let by_digest = work.path().join("by-digest");
    pull(
        &format!("docker://{host}/hub/team/app@{index_digest}"),
        &by_digest,
        true,
    )
    .await;
    for child in &children {
        assert!(oci::blob_names(&by_digest).contains(&child.trim_start_matches("sha256:").to_string()));
    }
    let stale = get_index().await.unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.headers()["docker-content-digest"], index_digest.as_str());
    assert_eq!(tags().await["tags"], json!(["v2"]), "tags served from the cache");

    // A virtual over a local repository and the remote: the local has no such image, so the
    // remote member answers; pushes to the virtual land in the local member.
    server
        .create_repository(json!({"name": "own", "kind": "local", "package": "docker"}))
        .await;
    server
        .create_repository(json!({"name": "all", "kind": "virtual", "package": "docker", "members": ["own", "hub"]}))
        .await;
    let via_virtual = inspect_raw(&format!("docker://{host}/all/team/app@{index_digest}")).await;
    assert_eq!(via_virtual["manifests"], raw["manifests"]);
    let (single, _) = oci::single_arch(work.path(), "mine", b"own layer\n");
    support::skopeo::push(&single, "mine", &format!("docker://{host}/all/team/app:mine"), false).await;
    let own = inspect_raw(&format!("docker://{host}/own/team/app:mine")).await;
    assert_eq!(own["mediaType"], oci::OCI_MANIFEST);
    // Which member answered, and from where.
    let from_local = client
        .get(server.url("/v2/all/team/app/manifests/mine"))
        .header("accept", oci::OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(from_local.status(), StatusCode::OK);
    assert_eq!(from_local.headers()["x-artifact-source"], "local");
    assert_eq!(from_local.headers()["x-artifact-member"], "own");
    let child: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            layout
                .join("blobs/sha256")
                .join(children[0].trim_start_matches("sha256:")),
        )
        .unwrap(),
    )
    .unwrap();
    let layer = child["layers"][0]["digest"].as_str().unwrap();
    let from_remote = client
        .get(server.url(&format!("/v2/all/team/app/blobs/{layer}")))
        .send()
        .await
        .unwrap();
    assert_eq!(from_remote.status(), StatusCode::OK);
    assert_eq!(from_remote.headers()["x-artifact-source"], "cache");
    assert_eq!(from_remote.headers()["x-artifact-member"], "hub");
    assert_eq!(tags_of(&client, &server, "all").await, json!(["mine", "v2"]));
    // Never fetched, and the upstream is gone: a 502 that names the failure, nothing invented.
    let missing = client
        .get(server.url("/v2/hub/team/other/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_GATEWAY);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "UPSTREAM_FAILED");
    let push = client
        .post(server.url("/v2/hub/team/app/blobs/uploads/"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), StatusCode::METHOD_NOT_ALLOWED, "remotes take no pushes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_remote_answers_the_upstream_bearer_challenge_with_its_credentials() {
    if clients_available().is_none() {
        return;
    }
    // The upstream: an artifactapi that lets nobody read anonymously.
    let private = Server::start(&[("ARTIFACTAPI_ANONYMOUS_READ", "false".to_string())]).await;
    private
        .create_repository(json!({"name": "containers", "kind": "local", "package": "docker"}))
        .await;
    let work = tempfile::tempdir().unwrap();
    let (layout, manifest_digest) = oci::single_arch(work.path(), "v1", b"private layer\n");
    support::skopeo::push(
        &layout,
        "v1",
        &format!("docker://{}/containers/app:v1", private.addr),
        false,
    )
    .await;
    let client = reqwest::Client::new();
    let reader = private
        .create_token(json!({"name": "mirror", "scopes": ["read"]}))
        .await;

    let server = Server::start(&[]).await;
    let remote = |name: &str, password: Option<&str>| {
        let mut body = json!({"name": name, "kind": "remote", "package": "docker",
            "base_url": private.base.clone()});
        if let Some(p) = password {
            body["username"] = json!("mirror");
            body["password"] = json!(p);
        }
        body
    };
    server.create_repository(remote("private", Some(&reader))).await;
    server.create_repository(remote("nocreds", None)).await;
    let raw = inspect_raw(&format!("docker://{}/private/containers/app:v1", server.addr)).await;
    assert_eq!(raw["mediaType"], oci::OCI_MANIFEST);
    let pulled = work.path().join("pulled");
    pull(
        &format!("docker://{}/private/containers/app:v1", server.addr),
        &pulled,
        false,
    )
    .await;
    assert!(oci::blob_names(&pulled).contains(&manifest_digest.trim_start_matches("sha256:").to_string()));

    // Without credentials the upstream's challenge cannot be met: a clear failure, nothing cached.
    let denied = client
        .get(server.url("/v2/nocreds/containers/app/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::BAD_GATEWAY);
    let body: serde_json::Value = denied.json().await.unwrap();
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("401"), "{body}");
    assert!(!server.log().contains(&reader), "the upstream password is never logged");
}
