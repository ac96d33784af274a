//! `RepositoryCatalog` contract, plus how the sea-orm adapter keeps passwords at rest.
use std::sync::Arc;

use artifactapi::adapters::meta::MetaStore;
use artifactapi::adapters::meta::entities::repository as row;
use artifactapi::domain::repository::{KindSettings, ManagedBy, Repository, RepositoryDraft, Secret};
use artifactapi::ports::{PortError, RepositoryCatalog};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};

fn draft(name: &str, kind: &str) -> RepositoryDraft {
    RepositoryDraft {
        name: name.into(),
        kind: kind.into(),
        package: "pypi".into(),
        ..Default::default()
    }
}

fn remote(name: &str, password: Option<&str>) -> Repository {
    RepositoryDraft {
        base_url: Some("http://127.0.0.1:9/simple".into()),
        username: Some("bot".into()),
        password: password.map(str::to_string),
        patterns: vec!["^numpy".into()],
        ..draft(name, "remote")
    }
    .validate(ManagedBy::Api)
    .unwrap()
}

fn local(name: &str) -> Repository {
    RepositoryDraft {
        allow_overwrite: Some(true),
        ..draft(name, "local")
    }
    .validate(ManagedBy::Config)
    .unwrap()
}

fn virtual_of(name: &str, members: &[&str]) -> Repository {
    RepositoryDraft {
        members: members.iter().map(|m| m.to_string()).collect(),
        ..draft(name, "virtual")
    }
    .validate(ManagedBy::Api)
    .unwrap()
}

fn password_of(repo: &Repository) -> Option<String> {
    match &repo.settings {
        KindSettings::Remote(s) => s.password.as_ref().map(|p| p.expose().to_string()),
        KindSettings::Local(_) | KindSettings::Virtual(_) => None,
    }
}

pub async fn repository_catalog_contract(store: Arc<dyn RepositoryCatalog>) {
    assert!(store.list().await.unwrap().is_empty());
    assert!(store.get("missing").await.unwrap().is_none());

    let pypi = remote("pypi", Some("hunter2"));
    let hosted = local("hosted");
    let group = virtual_of("group", &["hosted", "pypi"]);
    for repo in [&pypi, &hosted, &group] {
        store.create(repo).await.unwrap();
        assert_eq!(
            store.get(repo.name.as_str()).await.unwrap().as_ref(),
            Some(repo),
            "round trip"
        );
    }
    assert!(matches!(store.create(&local("pypi")).await, Err(PortError::Conflict)));
    assert_eq!(
        store.get("pypi").await.unwrap(),
        Some(pypi.clone()),
        "a failed create changes nothing"
    );

    // Ordered by name, byte-wise ("a-b" < "ab" whatever the database locale says).
    for name in ["b", "ab", "a-b", "a"] {
        store.create(&local(name)).await.unwrap();
    }
    let names: Vec<String> = store.list().await.unwrap().iter().map(|r| r.name.to_string()).collect();
    assert_eq!(names, ["a", "a-b", "ab", "b", "group", "hosted", "pypi"]);
    assert_eq!(
        password_of(&store.list().await.unwrap()[6]).as_deref(),
        Some("hunter2"),
        "list decrypts"
    );

    // Update without a password keeps the stored one; with one, replaces it.
    let mut changed = remote("pypi", None);
    if let KindSettings::Remote(s) = &mut changed.settings {
        s.offline = true;
    }
    store.update(&changed).await.unwrap();
    let got = store.get("pypi").await.unwrap().unwrap();
    assert_eq!(password_of(&got).as_deref(), Some("hunter2"));
    assert!(matches!(&got.settings, KindSettings::Remote(s) if s.offline));
    store.update(&remote("pypi", Some("correct horse"))).await.unwrap();
    assert_eq!(
        password_of(&store.get("pypi").await.unwrap().unwrap()).as_deref(),
        Some("correct horse")
    );
    store.update(&virtual_of("hosted", &["pypi"])).await.unwrap();
    assert_eq!(
        store.get("hosted").await.unwrap(),
        Some(virtual_of("hosted", &["pypi"])),
        "kind may change"
    );
    assert!(matches!(store.update(&local("nope")).await, Err(PortError::NotFound)));
    assert!(store.get("nope").await.unwrap().is_none(), "update never creates");

    assert!(store.delete("b").await.unwrap());
    assert!(!store.delete("b").await.unwrap());
    assert!(store.get("b").await.unwrap().is_none());

    // Concurrent creates of one name: the database decides, exactly one wins.
    let attempts = (0..10).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.create(&remote("race", Some(&format!("pw{i}")))).await })
    });
    let results: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(
        results.iter().all(|r| matches!(r, Ok(()) | Err(PortError::Conflict))),
        "{results:?}"
    );
}

/// The password never lands in the database in clear, and a ciphertext moved onto another row
/// does not decrypt there (the repository name is bound to it).
pub async fn password_is_encrypted_at_rest(store: MetaStore) {
    let plaintext = "pl4intext-Pa55word";
    store.create(&remote("one", Some(plaintext))).await.unwrap();
    store.create(&remote("two", Some(plaintext))).await.unwrap();
    store.create(&local("plain")).await.unwrap();

    let one = row::Entity::find_by_id("one".to_string())
        .one(store.connection())
        .await
        .unwrap()
        .unwrap();
    let two = row::Entity::find_by_id("two".to_string())
        .one(store.connection())
        .await
        .unwrap()
        .unwrap();
    let sealed = one.password_enc.clone().unwrap();
    assert!(
        !sealed.contains(plaintext) && !one.settings.contains(plaintext),
        "{one:?}"
    );
    assert_ne!(Some(sealed.clone()), two.password_enc, "a fresh nonce per value");
    assert!(
        one.settings.contains("\"base_url\""),
        "settings are JSON: {}",
        one.settings
    );
    let plain = row::Entity::find_by_id("plain".to_string())
        .one(store.connection())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plain.password_enc, None);

    let got = RepositoryCatalog::get(&store, "one").await.unwrap().unwrap();
    assert_eq!(password_of(&got).as_deref(), Some(plaintext));
    assert!(!format!("{got:?}").contains(plaintext));

    let mut moved = two.into_active_model();
    moved.password_enc = Set(Some(sealed));
    moved.update(store.connection()).await.unwrap();
    let err = RepositoryCatalog::get(&store, "two").await.unwrap_err();
    assert!(matches!(err, PortError::Backend(_)));
    assert!(!err.to_string().contains(plaintext), "{err}");

    let secret = Secret::new(plaintext.into());
    assert!(!format!("{secret:?}").contains(plaintext));
}
