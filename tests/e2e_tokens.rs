//! End to end: token management through `/api/v2/tokens` and what each token may then do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::{ADMIN_TOKEN, Server};

#[tokio::test]
async fn tokens_are_issued_once_scoped_listed_and_revoked() {
    let server = Server::start(&[]).await;
    let client = reqwest::Client::new();
    for name in ["team-files", "other-files"] {
        let r = client
            .post(server.url("/api/v2/repositories"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"name": name, "kind": "local", "package": "generic"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let create = |body: Value, token: &str| {
        client
            .post(server.url("/api/v2/tokens"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };

    let issued = create(
        json!({"name": "ci", "scopes": ["write"], "repositories": ["team-*"]}),
        ADMIN_TOKEN,
    )
    .await
    .unwrap();
    assert_eq!(issued.status(), StatusCode::CREATED);
    let issued: Value = issued.json().await.unwrap();
    let secret = issued["secret"].as_str().unwrap().to_string();
    let id = issued["token"]["id"].as_str().unwrap().to_string();
    let reader: Value = create(json!({"name": "reader", "scopes": ["read"]}), ADMIN_TOKEN)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reader_secret = reader["secret"].as_str().unwrap().to_string();

    let put = |repo: &str, token: &str| {
        client
            .put(server.url(&format!("/api/v1/local/{repo}/a.txt")))
            .bearer_auth(token)
            .body("x")
            .send()
    };
    assert_eq!(put("team-files", &secret).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(
        put("other-files", &secret).await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "outside its globs"
    );
    assert_eq!(
        put("other-files", &reader_secret).await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "read-only"
    );
    assert_eq!(
        create(json!({"name": "x", "scopes": ["read"]}), &secret)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );

    let listed = client
        .get(server.url("/api/v2/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let text = listed.text().await.unwrap();
    assert!(text.contains("\"ci\"") && text.contains("\"reader\""), "{text}");
    assert!(
        !text.contains(&secret) && !text.contains("secret"),
        "no secrets or hashes listed: {text}"
    );
    assert_eq!(
        client.get(server.url("/api/v2/tokens")).send().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );

    for (body, field) in [
        (json!({"name": "ci", "scopes": ["read"]}), None),
        (json!({"name": "admin", "scopes": ["read"]}), Some("name")),
        (json!({"name": "y", "scopes": ["root"]}), Some("scopes")),
        (
            json!({"name": "y", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}),
            Some("expires_at"),
        ),
    ] {
        let r = create(body.clone(), ADMIN_TOKEN).await.unwrap();
        let expected = if field.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::CONFLICT
        };
        assert_eq!(r.status(), expected, "{body}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["field"].as_str(), field, "{body}");
    }

    let revoked = client
        .delete(server.url(&format!("/api/v2/tokens/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        put("team-files", &secret).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "revoked"
    );
    let again = client
        .delete(server.url(&format!("/api/v2/tokens/{id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    let all: Value = client
        .get(server.url("/api/v2/tokens"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin_id = all.as_array().unwrap().iter().find(|t| t["name"] == "admin").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let protected = client
        .delete(server.url(&format!("/api/v2/tokens/{admin_id}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(protected.status(), StatusCode::CONFLICT);
    assert!(!server.log().contains(&secret), "secrets never logged");
}
