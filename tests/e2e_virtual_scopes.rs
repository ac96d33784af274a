//! End to end: what a token scoped to a virtual docker repository may do. Reads through the
//! virtual reach its members (that is what a virtual is for); writes and deletes through it need
//! the scope on the member that is written; a member the token cannot read directly does not
//! leak through mounts or the catalog. A PUT through a virtual of another format lands in its
//! local member, under the same rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use support::oci::{OCI_MANIFEST, digest_of};
use support::server::{ADMIN_TOKEN, Server};

async fn code(r: Response) -> String {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or_else(|e| panic!("{status}: not JSON: {e}"));
    body["errors"][0]["code"].as_str().unwrap_or_default().to_string()
}

async fn push_blob(server: &Server, token: &str, image: &str, data: &[u8]) -> Response {
    Client::new()
        .post(server.url(&format!("/v2/{image}/blobs/uploads/?digest={}", digest_of(data))))
        .bearer_auth(token)
        .body(data.to_vec())
        .send()
        .await
        .unwrap()
}

fn manifest(config: &str, layer: &str) -> Vec<u8> {
    let desc = |d: &str, mt: &str| json!({"mediaType": mt, "digest": d, "size": 1});
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": desc(config, "application/vnd.oci.image.config.v1+json"),
        "layers": [desc(layer, "application/vnd.oci.image.layer.v1.tar")],
    }))
    .unwrap()
}

async fn put_manifest(server: &Server, token: &str, image: &str, tag: &str, body: &[u8]) -> Response {
    Client::new()
        .put(server.url(&format!("/v2/{image}/manifests/{tag}")))
        .bearer_auth(token)
        .header("content-type", OCI_MANIFEST)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

/// `member` (local) behind `virt`, with `member/team/app:1.0` pushed by the admin, and `mine`
/// (local) for the scoped token's own writes.
async fn setup() -> (Server, String, String) {
    let server = Server::start(&[("ARTIFACTAPI_ANONYMOUS_READ", "false".to_string())]).await;
    for name in ["member", "mine"] {
        server
            .create_repository(json!({"name": name, "kind": "local", "package": "docker"}))
            .await;
    }
    server
        .create_repository(json!({"name": "virt", "kind": "virtual", "package": "docker", "members": ["member"]}))
        .await;
    for data in [b"config".as_slice(), b"layer"] {
        assert_eq!(
            push_blob(&server, ADMIN_TOKEN, "member/team/app", data).await.status(),
            StatusCode::CREATED
        );
    }
    let body = manifest(&digest_of(b"config"), &digest_of(b"layer"));
    assert_eq!(
        put_manifest(&server, ADMIN_TOKEN, "member/team/app", "1.0", &body)
            .await
            .status(),
        StatusCode::CREATED
    );
    let token = server
        .create_token(json!({"name": "virt-writer", "scopes": ["write"], "repositories": ["virt", "mine"]}))
        .await;
    (server, token, digest_of(&body))
}

#[tokio::test]
async fn writes_through_a_virtual_need_the_scope_on_the_member_written() {
    let (server, token, manifest_digest) = setup().await;
    let client = Client::new();

    // Reading through the virtual is what the virtual is for; the member itself is out of reach.
    let through = client
        .get(server.url("/v2/virt/team/app/manifests/1.0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(through.status(), StatusCode::OK);
    let direct = client
        .get(server.url("/v2/member/team/app/manifests/1.0"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::FORBIDDEN);

    // Every write path through the virtual lands in `member`, which this token may not write.
    let r = push_blob(&server, &token, "virt/team/app", b"new layer").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "monolithic blob push");
    assert_eq!(code(r).await, "DENIED");
    let r = client
        .post(server.url("/v2/virt/team/app/blobs/uploads/"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "upload session");
    let r = client
        .post(server.url(&format!(
            "/v2/virt/team/app/blobs/uploads/?mount={}&from=virt/team/app",
            digest_of(b"layer")
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "mount into the member");
    let body = manifest(&digest_of(b"config"), &digest_of(b"layer"));
    let r = put_manifest(&server, &token, "virt/team/app", "2.0", &body).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "manifest push");
    for reference in ["1.0".to_string(), manifest_digest.clone()] {
        let r = client
            .delete(server.url(&format!("/v2/virt/team/app/manifests/{reference}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "delete manifest {reference}");
    }
    let r = client
        .delete(server.url(&format!("/v2/virt/team/app/blobs/{}", digest_of(b"layer"))))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "delete blob");

    // Nothing changed in the member.
    let tags: Value = client
        .get(server.url("/v2/member/team/app/tags/list"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], json!(["1.0"]));
    let r = client
        .head(server.url(&format!("/v2/member/team/app/blobs/{}", digest_of(b"layer"))))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // With write on the member too, the same push through the virtual goes ahead.
    let both = server
        .create_token(json!({"name": "both", "scopes": ["write"], "repositories": ["virt", "member"]}))
        .await;
    let r = push_blob(&server, &both, "virt/team/app", b"new layer").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = put_manifest(&server, &both, "virt/team/app", "2.0", &body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn members_out_of_reach_do_not_leak_through_mounts_or_the_catalog() {
    let (server, token, _) = setup().await;
    let client = Client::new();
    let layer = digest_of(b"layer");

    // A mount from the member itself is not done (the caller may not read it): a new session.
    let r = client
        .post(server.url(&format!(
            "/v2/mine/team/app/blobs/uploads/?mount={layer}&from=member/team/app"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED, "not mounted");
    let r = client
        .head(server.url(&format!("/v2/mine/team/app/blobs/{layer}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Mounting from the virtual is a read through the virtual, which the token may do.
    let r = client
        .post(server.url(&format!(
            "/v2/mine/team/app/blobs/uploads/?mount={layer}&from=virt/team/app"
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "mounted from the virtual");

    // The catalog lists what the token may read directly: `mine`, never `member`.
    let catalog: Value = client
        .get(server.url("/v2/_catalog"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = catalog["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!listed.iter().any(|r| r.starts_with("member/")), "{catalog}");
}

/// A `PUT` through a virtual of a format with hosted indexes lands in its first local member,
/// and only for a token that may write that member; nothing is stored when it may not.
#[tokio::test]
async fn puts_through_a_virtual_land_in_the_local_member_the_token_may_write() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "mods", "kind": "local", "package": "goproxy"}))
        .await;
    server
        .create_repository(json!({"name": "gov", "kind": "virtual", "package": "goproxy", "members": ["mods"]}))
        .await;
    let virtual_only = server
        .create_token(json!({"name": "virtual-only", "scopes": ["write"], "repositories": ["gov"]}))
        .await;
    let both = server
        .create_token(json!({"name": "both", "scopes": ["write"], "repositories": ["gov", "mods"]}))
        .await;
    let path = "/api/v1/virtual/gov/example.test/m/@v/v1.0.0.mod";
    let put = |token: String| {
        let url = server.url(path);
        async move {
            Client::new()
                .put(url)
                .bearer_auth(token)
                .body("module example.test/m\n")
                .send()
                .await
                .unwrap()
        }
    };
    let refused = put(virtual_only).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let stored = server.get("/api/v1/local/mods/example.test/m/@v/v1.0.0.mod").await;
    assert_eq!(stored.status(), StatusCode::NOT_FOUND, "nothing stored");
    let landed = put(both).await;
    assert_eq!(landed.status(), StatusCode::CREATED);
    assert_eq!(landed.json::<Value>().await.unwrap()["repository"], "mods");
    let stored = server.get("/api/v1/local/mods/example.test/m/@v/v1.0.0.mod").await;
    assert_eq!(stored.text().await.unwrap(), "module example.test/m\n");
}
