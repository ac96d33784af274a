//! End to end: the OCI distribution protocol over plain HTTP, the cases clients rarely exercise:
//! chunked uploads with `Content-Range`, resume, gaps, bad digests, invalid manifests and names,
//! tags pagination, catalog, referrers, deletion, mounts and the token flow. Each failure has the
//! spec's error code and leaves nothing behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use support::oci::{OCI_INDEX, OCI_MANIFEST, digest_of};
use support::server::{ADMIN_TOKEN, Server};

async fn registry() -> Server {
    let server = Server::start(&[]).await;
    for name in ["reg", "other"] {
        server
            .create_repository(json!({"name": name, "kind": "local", "package": "docker"}))
            .await;
    }
    server
}

async fn code(r: Response) -> String {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or_else(|e| panic!("{status}: not JSON: {e}"));
    body["errors"][0]["code"].as_str().unwrap_or_default().to_string()
}

/// Sends a request with the admin token.
async fn as_admin(request: reqwest::RequestBuilder) -> Response {
    request.bearer_auth(ADMIN_TOKEN).send().await.unwrap()
}

async fn head_status(client: &Client, url: String) -> StatusCode {
    client.head(url).send().await.unwrap().status()
}

fn location(r: &Response) -> String {
    r.headers()[reqwest::header::LOCATION].to_str().unwrap().to_string()
}

/// Pushes a blob monolithically and returns its digest.
async fn push_blob(server: &Server, image: &str, data: &[u8]) -> String {
    let digest = digest_of(data);
    let r = Client::new()
        .post(server.url(&format!("/v2/{image}/blobs/uploads/?digest={digest}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(data.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    digest
}

fn manifest(config: &str, layers: &[&str], extra: Value) -> Vec<u8> {
    let desc = |d: &str, mt: &str| json!({"mediaType": mt, "digest": d, "size": 1});
    let mut m = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": desc(config, "application/vnd.oci.image.config.v1+json"),
        "layers": layers.iter().map(|l| desc(l, "application/vnd.oci.image.layer.v1.tar")).collect::<Vec<_>>(),
    });
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    serde_json::to_vec(&m).unwrap()
}

async fn put_manifest(server: &Server, image: &str, reference: &str, body: &[u8], media: &str) -> Response {
    Client::new()
        .put(server.url(&format!("/v2/{image}/manifests/{reference}")))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", media)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn chunked_upload_with_resume_and_gap() {
    let server = registry().await;
    let client = Client::new();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let digest = digest_of(&data);
    let started = as_admin(client.post(server.url("/v2/reg/app/blobs/uploads/"))).await;
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let url = location(&started);
    assert!(started.headers().contains_key("docker-upload-uuid"));

    let patch = |from: usize, to: usize| {
        client
            .patch(&url)
            .bearer_auth(ADMIN_TOKEN)
            .header("content-range", format!("{from}-{}", to - 1))
            .header("content-type", "application/octet-stream")
            .body(data[from..to].to_vec())
            .send()
    };
    let first = patch(0, 100_000).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(first.headers()["range"], "0-99999");

    // A gap: 416 with the offset to resume from, nothing appended.
    let gap = patch(150_000, 200_000).await.unwrap();
    assert_eq!(gap.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(gap.headers()["range"], "0-99999");
    assert_eq!(code(gap).await, "BLOB_UPLOAD_INVALID");

    // Resume: the status says where we are.
    let status = client.get(&url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    assert_eq!(status.headers()["range"], "0-99999");
    assert_eq!(patch(100_000, 250_000).await.unwrap().status(), StatusCode::ACCEPTED);

    // A wrong digest at the end is refused and nothing is stored.
    let wrong = digest_of(b"something else");
    let bad = client
        .put(format!("{url}?digest={wrong}"))
        .bearer_auth(ADMIN_TOKEN)
        .body(data[250_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(bad).await, "DIGEST_INVALID");
    let head = client
        .head(server.url(&format!("/v2/reg/app/blobs/{wrong}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);

    // The last chunk arrived with the failed PUT; commit with the right digest.
    let done = as_admin(client.put(format!("{url}?digest={digest}"))).await;
    assert_eq!(done.status(), StatusCode::CREATED, "{}", done.text().await.unwrap());
    let got = client
        .get(server.url(&format!("/v2/reg/app/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(got.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(got.bytes().await.unwrap().as_ref(), data.as_slice());
    let ranged = client
        .get(server.url(&format!("/v2/reg/app/blobs/{digest}")))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &data[10..20]);

    // The session is gone; unknown ids are BLOB_UPLOAD_UNKNOWN.
    let gone = client.get(&url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert_eq!(code(gone).await, "BLOB_UPLOAD_UNKNOWN");
    let unknown = client
        .patch(server.url("/v2/reg/app/blobs/uploads/00000000-0000-0000-0000-000000000000"))
        .bearer_auth(ADMIN_TOKEN)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(code(unknown).await, "BLOB_UPLOAD_UNKNOWN");

    // Cancel.
    let started = as_admin(client.post(server.url("/v2/reg/app/blobs/uploads/"))).await;
    let url = location(&started);
    let cancelled = client.delete(&url).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(cancelled.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        client.get(&url).bearer_auth(ADMIN_TOKEN).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn manifests_are_validated_and_nothing_invalid_is_stored() {
    let server = registry().await;
    let client = Client::new();
    let config = push_blob(&server, "reg/app", b"{}").await;
    let missing = digest_of(b"never pushed");

    let dangling = manifest(&config, &[&missing], json!({}));
    let r = put_manifest(&server, "reg/app", "v1", &dangling, OCI_MANIFEST).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(r).await, "MANIFEST_BLOB_UNKNOWN");

    let huge = format!(r#"{{"schemaVersion":2,"pad":"{}"}}"#, "a".repeat(5 * 1024 * 1024));
    let r = put_manifest(&server, "reg/app", "v1", huge.as_bytes(), OCI_MANIFEST).await;
    assert_eq!(code(r).await, "MANIFEST_INVALID");
    let r = put_manifest(&server, "reg/app", "v1", b"{not json", OCI_MANIFEST).await;
    assert_eq!(code(r).await, "MANIFEST_INVALID");

    let good = manifest(&config, &[], json!({}));
    let r = put_manifest(&server, "reg/app", &digest_of(b"other"), &good, OCI_MANIFEST).await;
    assert_eq!(code(r).await, "DIGEST_INVALID");

    // Sent raw, because HTTP client libraries resolve `..` before sending.
    let raw = format!(
        "PUT /v2/reg/a/../b/manifests/v1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(support::server::raw_status(&server.addr, &raw).await, 400);
    for bad in ["reg/UPPER", "reg/a/__x", &format!("reg/{}", "a".repeat(256))] {
        let r = put_manifest(&server, bad, "v1", &good, OCI_MANIFEST).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(code(r).await, "NAME_INVALID", "{bad}");
    }
    let r = put_manifest(&server, "nosuchrepo/app", "v1", &good, OCI_MANIFEST).await;
    assert_eq!(code(r).await, "NAME_UNKNOWN");

    // Nothing was tagged by any of the failures.
    let r = client.get(server.url("/v2/reg/app/manifests/v1")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(code(r).await, "MANIFEST_UNKNOWN");
    let r = client.get(server.url("/v2/reg/app/tags/list")).send().await.unwrap();
    assert_eq!(code(r).await, "NAME_UNKNOWN");

    let r = put_manifest(&server, "reg/app", "v1", &good, OCI_MANIFEST).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let digest = digest_of(&good);
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    let got = client.get(server.url("/v2/reg/app/manifests/v1")).send().await.unwrap();
    assert_eq!(got.headers()["content-type"], OCI_MANIFEST);
    assert_eq!(got.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(got.headers()["docker-distribution-api-version"], "registry/2.0");
    assert_eq!(got.headers()["x-artifact-source"], "local");
    assert!(got.headers().get("x-artifact-member").is_none(), "not a virtual");
    assert_eq!(got.bytes().await.unwrap().as_ref(), good.as_slice());

    // An index needs its child manifests.
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": digest, "size": good.len()},
        {"mediaType": OCI_MANIFEST, "digest": missing, "size": 3},
    ]});
    let r = put_manifest(&server, "reg/app", "multi", index.to_string().as_bytes(), OCI_INDEX).await;
    assert_eq!(code(r).await, "MANIFEST_BLOB_UNKNOWN");
}

#[tokio::test]
async fn tags_catalog_referrers_and_deletes() {
    let server = registry().await;
    let client = Client::new();
    let config = push_blob(&server, "reg/app", b"{\"config\":1}").await;
    let image = manifest(&config, &[], json!({}));
    let image_digest = digest_of(&image);
    for tag in ["c", "a", "b", "d"] {
        let r = put_manifest(&server, "reg/app", tag, &image, OCI_MANIFEST).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let page = client
        .get(server.url("/v2/reg/app/tags/list?n=2"))
        .send()
        .await
        .unwrap();
    let link = page.headers()["link"].to_str().unwrap().to_string();
    assert_eq!(link, "</v2/reg/app/tags/list?n=2&last=b>; rel=\"next\"");
    assert_eq!(
        page.json::<Value>().await.unwrap(),
        json!({"name": "reg/app", "tags": ["a", "b"]})
    );
    let rest: Value = client
        .get(server.url("/v2/reg/app/tags/list?n=2&last=b"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["tags"], json!(["c", "d"]));

    // A helm chart pushed as an OCI artifact, and an SBOM-like artifact referring to it.
    let chart_config = push_blob(&server, "reg/charts/web", b"{\"name\":\"web\",\"version\":\"1.0.0\"}").await;
    let chart_layer = push_blob(&server, "reg/charts/web", b"chart tarball bytes").await;
    let chart = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": chart_config, "size": 32},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": chart_layer, "size": 19}]});
    let chart = serde_json::to_vec(&chart).unwrap();
    let chart_digest = digest_of(&chart);
    assert_eq!(
        put_manifest(&server, "reg/charts/web", "1.0.0", &chart, OCI_MANIFEST)
            .await
            .status(),
        StatusCode::CREATED
    );
    let empty = push_blob(&server, "reg/charts/web", b"{}").await;
    let sbom = manifest(
        &empty,
        &[],
        json!({
            "artifactType": "application/vnd.example.sbom.v1",
            "subject": {"mediaType": OCI_MANIFEST, "digest": chart_digest, "size": chart.len()},
            "annotations": {"org.example.kind": "sbom"},
        }),
    );
    let sbom_digest = digest_of(&sbom);
    let r = put_manifest(&server, "reg/charts/web", &sbom_digest, &sbom, OCI_MANIFEST).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["oci-subject"], chart_digest.as_str());

    let referrers = client
        .get(server.url(&format!("/v2/reg/charts/web/referrers/{chart_digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(referrers.headers()["content-type"], OCI_INDEX);
    let index: Value = referrers.json().await.unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(index["manifests"][0]["digest"], sbom_digest.as_str());
    assert_eq!(index["manifests"][0]["artifactType"], "application/vnd.example.sbom.v1");
    assert_eq!(index["manifests"][0]["annotations"]["org.example.kind"], "sbom");
    let filtered = client
        .get(server.url(&format!(
            "/v2/reg/charts/web/referrers/{chart_digest}?artifactType=application/other"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.headers()["oci-filters-applied"], "artifactType");
    assert_eq!(filtered.json::<Value>().await.unwrap()["manifests"], json!([]));

    let catalog: Value = client
        .get(server.url("/v2/_catalog"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(catalog["repositories"], json!(["reg/app", "reg/charts/web"]));

    // Mount from another repository, then delete.
    let mounted =
        as_admin(client.post(server.url(&format!("/v2/other/app/blobs/uploads/?mount={config}&from=reg/app")))).await;
    assert_eq!(mounted.status(), StatusCode::CREATED);
    assert_eq!(
        head_status(&client, server.url(&format!("/v2/other/app/blobs/{config}"))).await,
        StatusCode::OK
    );
    let not_there = client
        .post(server.url(&format!(
            "/v2/other/app/blobs/uploads/?mount={}&from=reg/app",
            digest_of(b"x")
        )))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(
        not_there.status(),
        StatusCode::ACCEPTED,
        "an unmountable blob starts a normal upload"
    );

    let anonymous_delete = client
        .delete(server.url("/v2/reg/app/manifests/a"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous_delete.status(), StatusCode::UNAUTHORIZED);
    let del_tag = as_admin(client.delete(server.url("/v2/reg/app/manifests/a"))).await;
    assert_eq!(del_tag.status(), StatusCode::ACCEPTED);
    let del = as_admin(client.delete(server.url(&format!("/v2/reg/app/manifests/{image_digest}")))).await;
    assert_eq!(del.status(), StatusCode::ACCEPTED);
    for reference in ["b", image_digest.as_str()] {
        let r = client
            .get(server.url(&format!("/v2/reg/app/manifests/{reference}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{reference}");
    }
    let del_blob = as_admin(client.delete(server.url(&format!("/v2/other/app/blobs/{config}")))).await;
    assert_eq!(del_blob.status(), StatusCode::ACCEPTED);
    assert_eq!(
        head_status(&client, server.url(&format!("/v2/other/app/blobs/{config}"))).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bearer_token_flow_and_permissions() {
    let server = registry().await;
    let client = Client::new();
    let ping = client.get(server.url("/v2/")).send().await.unwrap();
    assert_eq!(ping.status(), StatusCode::UNAUTHORIZED);
    let challenge = ping.headers()["www-authenticate"].to_str().unwrap().to_string();
    assert!(challenge.starts_with("Bearer realm=\"http://"), "{challenge}");
    assert!(challenge.contains("/v2/token\",service=\"artifactapi\""), "{challenge}");

    let push = client
        .post(server.url("/v2/reg/app/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(push.status(), StatusCode::UNAUTHORIZED);
    assert!(
        push.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("scope=\"repository:reg/app:pull,push\"")
    );

    // Basic with the API token as password gets a bearer token that can push.
    let token: Value = client
        .get(server.url("/v2/token?service=artifactapi&scope=repository:reg/app:pull,push"))
        .basic_auth("ci", Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = token["token"].as_str().unwrap().to_string();
    assert_eq!(token["access_token"], bearer.as_str());
    assert!(token["expires_in"].as_i64().unwrap() > 60);
    let started = client
        .post(server.url("/v2/reg/app/blobs/uploads/"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let bad = client
        .get(server.url("/v2/token"))
        .basic_auth("ci", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);

    // An anonymous token can pull (anonymous reads are on) but not push; a forged one is refused.
    let anon: Value = client
        .get(server.url("/v2/token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let anon = anon["token"].as_str().unwrap().to_string();
    assert_eq!(
        client
            .get(server.url("/v2/"))
            .bearer_auth(&anon)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let denied = client
        .post(server.url("/v2/reg/app/blobs/uploads/"))
        .bearer_auth(&anon)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    let forged = format!("{}x", &bearer[..bearer.len() - 1]);
    assert_eq!(
        client
            .get(server.url("/v2/"))
            .bearer_auth(&forged)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // A read-only token is DENIED on push.
    let reader = server.create_token(json!({"name": "reader", "scopes": ["read"]})).await;
    let r = client
        .post(server.url("/v2/reg/app/blobs/uploads/"))
        .basic_auth("reader", Some(&reader))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(r).await, "DENIED");
}
