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

/// Instance-wide listings show a repository-scoped token only what its globs reach, as
/// `/v2/_catalog` and `GET /repositories/{name}` do; `/events` needs an unrestricted admin.
#[tokio::test]
async fn listings_follow_the_token_scope() {
    let server = Server::start(&[("ARTIFACTAPI_ANONYMOUS_READ", "false".to_string())]).await;
    let upstream = "http://127.0.0.1:9/secret-upstream";
    server
        .create_repository(json!({"name": "other", "kind": "local", "package": "generic"}))
        .await;
    server
        .create_repository(
            json!({"name": "hidden", "kind": "remote", "package": "generic", "base_url": upstream, "username": "svc"}),
        )
        .await;
    for name in ["other-a", "other-b", "zz-hidden"] {
        server
            .create_repository(json!({"name": name, "kind": "local", "package": "generic"}))
            .await;
    }
    let client = reqwest::Client::new();
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect()
    };

    let token = server
        .create_token(json!({"name": "other-reader", "scopes": ["read"], "repositories": ["other*"]}))
        .await;
    let r = client
        .get(server.url("/api/v2/repositories"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let text = r.text().await.unwrap();
    assert!(!text.contains(upstream) && !text.contains("svc"), "{text}");
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(names(&listed), ["other", "other-a", "other-b"]);

    // Pages are counted among the visible repositories only.
    let first = client
        .get(server.url("/api/v2/repositories?limit=2"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let cursor = first.headers()["x-next-cursor"].to_str().unwrap().to_string();
    assert_eq!(names(&first.json().await.unwrap()), ["other", "other-a"]);
    let second: Value = client
        .get(server.url("/api/v2/repositories"))
        .query(&[("limit", "2"), ("cursor", cursor.as_str())])
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(names(&second), ["other-b"]);

    let stats: Value = client
        .get(server.url("/api/v2/stats"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let in_stats: Vec<&str> = stats["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(in_stats, ["other", "other-a", "other-b"]);

    let scoped_admin = server
        .create_token(json!({"name": "other-admin", "scopes": ["admin"], "repositories": ["other*"]}))
        .await;
    let events = client
        .get(server.url("/api/v2/events"))
        .bearer_auth(&scoped_admin)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::FORBIDDEN, "events are instance-wide");

    // An unrestricted reader still sees everything.
    let reader = server.create_token(json!({"name": "reader", "scopes": ["read"]})).await;
    let all: Value = client
        .get(server.url("/api/v2/repositories"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(names(&all).len(), 5);
}
