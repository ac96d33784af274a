//! `Credentials` and `SigningKeys` contracts.
use std::sync::Arc;

use artifactapi::domain::token::{Scope, hash_secret};
use artifactapi::ports::{Credentials, PortError, SigningKey, SigningKeys, TokenRecord};
use chrono::Duration;

use super::now;

fn token(id: &str, name: &str, secret: &str) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        name: name.into(),
        secret_hash: hash_secret(secret),
        scopes: vec![Scope::Read, Scope::Write],
        repositories: vec!["team-*".into()],
        expires_at: Some(now() + Duration::days(30)),
        created_at: now(),
    }
}

pub async fn credentials_contract(tokens: Arc<dyn Credentials>) {
    assert!(tokens.list().await.unwrap().is_empty());
    let ci = token("t1", "ci", "s1");
    tokens.create(&ci).await.unwrap();
    assert_eq!(tokens.find_by_hash(&hash_secret("s1")).await.unwrap(), Some(ci.clone()));
    assert_eq!(tokens.find_by_name("ci").await.unwrap(), Some(ci.clone()));
    assert_eq!(tokens.find_by_hash(&hash_secret("wrong")).await.unwrap(), None);

    for dup in [
        token("t1", "other", "s2"),
        token("t2", "ci", "s3"),
        token("t3", "third", "s1"),
    ] {
        assert!(matches!(tokens.create(&dup).await, Err(PortError::Conflict)), "{dup:?}");
    }
    let no_expiry = TokenRecord {
        expires_at: None,
        scopes: vec![Scope::Admin],
        repositories: vec![],
        created_at: now() + Duration::seconds(1),
        ..token("t2", "admin", "s2")
    };
    tokens.create(&no_expiry).await.unwrap();
    let names: Vec<String> = tokens.list().await.unwrap().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["ci", "admin"], "ordered by creation");

    // replace_named swaps the token of that name: the old secret stops working at once.
    let rotated = TokenRecord {
        created_at: now() + Duration::seconds(2),
        ..token("t9", "admin", "rotated")
    };
    tokens.replace_named(&rotated).await.unwrap();
    assert_eq!(tokens.find_by_name("admin").await.unwrap(), Some(rotated.clone()));
    assert_eq!(tokens.find_by_hash(&hash_secret("s2")).await.unwrap(), None);
    assert_eq!(tokens.list().await.unwrap().len(), 2);
    let fresh = token("t10", "bootstrap", "b");
    tokens.replace_named(&fresh).await.unwrap();
    assert_eq!(
        tokens.find_by_name("bootstrap").await.unwrap(),
        Some(fresh),
        "replace_named of a new name creates"
    );
    assert!(
        matches!(
            tokens.replace_named(&token("t11", "bootstrap", "s1")).await,
            Err(PortError::Conflict)
        ),
        "a secret hash owned by another token is a conflict"
    );
    assert_eq!(
        tokens.find_by_hash(&hash_secret("b")).await.unwrap().map(|t| t.id),
        Some("t10".into())
    );

    let swaps = (0..10).map(|i| {
        let tokens = tokens.clone();
        tokio::spawn(async move {
            tokens
                .replace_named(&token(&format!("r{i}"), "admin", &format!("r{i}")))
                .await
        })
    });
    for r in futures::future::join_all(swaps).await {
        r.unwrap().unwrap();
    }
    let admins: Vec<_> = tokens
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.name == "admin")
        .collect();
    assert_eq!(admins.len(), 1, "concurrent replacements leave one token");

    assert!(tokens.revoke("t1").await.unwrap());
    assert!(!tokens.revoke("t1").await.unwrap());
    assert_eq!(tokens.find_by_hash(&hash_secret("s1")).await.unwrap(), None);

    let attempts = (0..10).map(|i| {
        let tokens = tokens.clone();
        tokio::spawn(async move {
            tokens
                .create(&token(&format!("c{i}"), "contended", &format!("c{i}")))
                .await
        })
    });
    let results: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
}

fn key(material: &str) -> SigningKey {
    SigningKey {
        name: "registry".into(),
        algorithm: "ed25519".into(),
        material: material.into(),
        created_at: now(),
    }
}

pub async fn signing_keys_contract(keys: Arc<dyn SigningKeys>) {
    assert_eq!(keys.get("registry").await.unwrap(), None);
    let first = key("m0");
    assert_eq!(keys.get_or_create(&first).await.unwrap(), first);
    assert_eq!(
        keys.get_or_create(&key("other")).await.unwrap(),
        first,
        "the stored key wins"
    );
    assert_eq!(keys.get("registry").await.unwrap(), Some(first));

    let racers = (0..10).map(|i| {
        let keys = keys.clone();
        tokio::spawn(async move {
            keys.get_or_create(&SigningKey {
                name: "race".into(),
                ..key(&format!("m{i}"))
            })
            .await
        })
    });
    let got: Vec<SigningKey> = futures::future::join_all(racers)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert!(
        got.iter().all(|k| *k == got[0]),
        "every caller gets the same stored key"
    );
    assert_eq!(keys.get("race").await.unwrap().as_ref(), Some(&got[0]));
}
