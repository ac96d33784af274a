//! End to end: one push split across two server processes sharing PostgreSQL, Redis and S3 (the
//! upload starts on A, chunks go to B and A, the commit and manifest go to B), then pulled from
//! A with a bearer token B issued.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::oci::{OCI_MANIFEST, digest_of};
use support::server::{ADMIN_TOKEN, Server};

#[tokio::test]
async fn a_push_split_across_replicas_succeeds() {
    let Some(database_url) = support::backend_or_skip("PostgreSQL", support::postgres::fresh_postgres_url().await)
    else {
        return;
    };
    let s3 = support::s3::TestS3::start().await;
    let env = support::shared_backends_env(database_url, &s3, "registry");
    let a = Server::start(&env).await;
    let b = Server::start(&env).await;
    a.create_repository(json!({"name": "shared", "kind": "local", "package": "docker"}))
        .await;
    let client = Client::new();
    let layer: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let layer_digest = digest_of(&layer);

    let started = client
        .post(a.url("/v2/shared/app/blobs/uploads/"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let location = started.headers()["location"].to_str().unwrap().to_string();
    let path = location.split_once("/v2/").map(|(_, p)| format!("/v2/{p}")).unwrap();
    let chunk = |server: &Server, from: usize, to: usize| {
        client
            .patch(server.url(&path))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-range", format!("{from}-{}", to - 1))
            .body(layer[from..to].to_vec())
            .send()
    };
    assert_eq!(chunk(&b, 0, 1_000_000).await.unwrap().status(), StatusCode::ACCEPTED);
    let second = chunk(&a, 1_000_000, 2_000_000).await.unwrap();
    assert_eq!(second.headers()["range"], "0-1999999");
    let status = client.get(b.url(&path)).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(status.headers()["range"], "0-1999999");
    let done = client
        .put(b.url(&format!("{path}?digest={layer_digest}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(layer[2_000_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::CREATED, "{}", done.text().await.unwrap());

    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let config_digest = digest_of(config);
    let r = client
        .post(a.url(&format!("/v2/shared/app/blobs/uploads/?digest={config_digest}")))
        .bearer_auth(ADMIN_TOKEN)
        .body(config.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
    }))
    .unwrap();
    let r = client
        .put(b.url("/v2/shared/app/manifests/v1"))
        .bearer_auth(ADMIN_TOKEN)
        .header("content-type", OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());

    // A bearer token from B works on A: the signing key is shared through the database.
    let token: Value = client
        .get(b.url("/v2/token"))
        .basic_auth("ci", Some(ADMIN_TOKEN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = token["token"].as_str().unwrap();
    let got = client
        .get(a.url("/v2/shared/app/manifests/v1"))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap().as_ref(), manifest.as_slice());
    let blob = client
        .get(a.url(&format!("/v2/shared/app/blobs/{layer_digest}")))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(blob.status(), StatusCode::OK);
    assert_eq!(digest_of(&blob.bytes().await.unwrap()), layer_digest);
}
