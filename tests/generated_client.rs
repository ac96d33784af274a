//! Automation can be generated from the spec: a client made by progenitor at build time from
//! `openapi/openapi.json` (crate `clients/rust`) creates, reads, updates and deletes
//! repositories and tokens against the running server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use artifactapi_client::{Client, types};
use support::server::{ADMIN_TOKEN, Server};

fn client(server: &Server, token: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    let http = reqwest::Client::builder().default_headers(headers).build().unwrap();
    Client::new_with_client(&server.base, http)
}

#[tokio::test]
async fn a_generated_client_manages_repositories_and_tokens() {
    let server = Server::start(&[]).await;
    let api = client(&server, ADMIN_TOKEN);

    let created = api
        .create_repository()
        .body(
            types::RepositoryInput::builder()
                .name("files")
                .kind("local")
                .package("generic"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.into_inner().name, "files");

    let got = api.get_repository().name("files").send().await.unwrap().into_inner();
    assert_eq!(got.allow_overwrite, Some(false));

    let patched = api
        .patch_repository()
        .name("files")
        .body(serde_json::json!({"allow_overwrite": true}))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(patched.allow_overwrite, Some(true));

    let listed = api.list_repositories().send().await.unwrap().into_inner();
    assert_eq!(
        listed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        vec!["files"]
    );

    // Errors come back typed, with the server's code.
    match api.get_repository().name("missing").send().await {
        Err(artifactapi_client::Error::ErrorResponse(e)) => {
            assert_eq!(e.status(), 404);
            assert_eq!(e.into_inner().code, "REPOSITORY_NOT_FOUND");
        }
        other => panic!("expected a 404, got {other:?}"),
    }

    let token = api
        .create_token()
        .body(types::TokenInput::builder().name("ci").scopes(vec!["read".to_string()]))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(!token.secret.is_empty());
    let tokens = api.list_tokens().send().await.unwrap().into_inner();
    assert!(tokens.iter().any(|t| t.name == "ci"));
    let reader = client(&server, &token.secret);
    assert_eq!(
        reader.get_repository().name("files").send().await.unwrap().status(),
        200
    );
    api.revoke_token().id(&token.token.id).send().await.unwrap();
    assert!(reader.get_repository().name("files").send().await.is_err(), "revoked");

    api.delete_repository().name("files").send().await.unwrap();
    assert!(api.list_repositories().send().await.unwrap().into_inner().is_empty());
}
