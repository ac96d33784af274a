//! Repository management against mocked ports.
use super::*;
use crate::ports::artifact_index::MockArtifactIndex;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::repository_catalog::MockRepositoryCatalog;
use mockall::predicate::eq;

fn draft(name: &str, kind: &str, package: &str) -> RepositoryDraft {
    RepositoryDraft {
        name: name.into(),
        kind: kind.into(),
        package: package.into(),
        ..Default::default()
    }
}

fn service(catalog: MockRepositoryCatalog, files: MockHostedFiles, index: MockArtifactIndex) -> RepositoryService {
    let mut packages = crate::ports::hosted_packages::MockHostedPackages::new();
    packages.expect_delete_repo().returning(|_| Ok(0));
    RepositoryService::new(Arc::new(catalog), Arc::new(files), Arc::new(packages), Arc::new(index))
}

#[tokio::test]
async fn create_validates_then_stores() {
    let mut catalog = MockRepositoryCatalog::new();
    catalog
        .expect_create()
        .withf(|r| r.name.as_str() == "files")
        .times(1)
        .returning(|_| Ok(()));
    let repo = service(catalog, MockHostedFiles::new(), MockArtifactIndex::new())
        .create(draft("files", "local", "generic"))
        .await
        .unwrap();
    assert_eq!(repo.managed_by, ManagedBy::Api);
}

#[tokio::test]
async fn create_maps_conflict_and_invalid() {
    let mut catalog = MockRepositoryCatalog::new();
    catalog.expect_create().returning(|_| Err(PortError::Conflict));
    let svc = service(catalog, MockHostedFiles::new(), MockArtifactIndex::new());
    assert!(
        matches!(svc.create(draft("files", "local", "generic")).await, Err(RepositoryError::AlreadyExists(n)) if n == "files")
    );
    assert!(
        matches!(svc.create(draft("BAD", "local", "generic")).await, Err(RepositoryError::Invalid(f)) if f.field == "name")
    );
}

#[tokio::test]
async fn virtual_members_must_exist_and_match_package() {
    let mut catalog = MockRepositoryCatalog::new();
    catalog.expect_get().with(eq("missing")).returning(|_| Ok(None));
    let npm = draft("npm-local", "local", "npm").validate(ManagedBy::Api).unwrap();
    catalog
        .expect_get()
        .with(eq("npm-local"))
        .returning(move |_| Ok(Some(npm.clone())));
    catalog.expect_create().times(0);
    let svc = service(catalog, MockHostedFiles::new(), MockArtifactIndex::new());
    for members in [vec!["missing".to_string()], vec!["npm-local".to_string()]] {
        let v = RepositoryDraft {
            members,
            ..draft("v", "virtual", "pypi")
        };
        assert!(matches!(svc.create(v).await, Err(RepositoryError::Invalid(f)) if f.field == "members"));
    }
}

#[tokio::test]
async fn delete_drops_references_then_definition() {
    let mut catalog = MockRepositoryCatalog::new();
    let repo = draft("files", "local", "generic").validate(ManagedBy::Api).unwrap();
    catalog.expect_get().returning(move |_| Ok(Some(repo.clone())));
    catalog
        .expect_delete()
        .with(eq("files"))
        .times(1)
        .returning(|_| Ok(true));
    let mut files = MockHostedFiles::new();
    files
        .expect_delete_repo()
        .with(eq("files"))
        .times(1)
        .returning(|_| Ok(3));
    let mut index = MockArtifactIndex::new();
    index
        .expect_delete_repo()
        .with(eq("files"))
        .times(1)
        .returning(|_| Ok(0));
    catalog.expect_list().returning(|| Ok(vec![]));
    service(catalog, files, index).delete("files", false).await.unwrap();
}

#[tokio::test]
async fn a_virtual_member_is_kept_unless_forced() {
    let member = draft("files", "local", "generic").validate(ManagedBy::Api).unwrap();
    let group = RepositoryDraft {
        members: vec!["files".into()],
        ..draft("group", "virtual", "generic")
    }
    .validate(ManagedBy::Api)
    .unwrap();
    let mut catalog = MockRepositoryCatalog::new();
    let m = member.clone();
    catalog.expect_get().returning(move |_| Ok(Some(m.clone())));
    let all = vec![member, group];
    catalog.expect_list().returning(move || Ok(all.clone()));
    catalog.expect_delete().times(0);
    let err = service(catalog, MockHostedFiles::new(), MockArtifactIndex::new())
        .delete("files", false)
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::InUse { by, .. } if by == vec!["group".to_string()]));
}

#[tokio::test]
async fn forced_delete_removes_the_member_from_virtual_repositories() {
    let member = draft("files", "local", "generic").validate(ManagedBy::Api).unwrap();
    let group = RepositoryDraft {
        members: vec!["files".into()],
        ..draft("group", "virtual", "generic")
    }
    .validate(ManagedBy::Api)
    .unwrap();
    let mut catalog = MockRepositoryCatalog::new();
    let m = member.clone();
    catalog.expect_get().returning(move |_| Ok(Some(m.clone())));
    let all = vec![member, group];
    catalog.expect_list().returning(move || Ok(all.clone()));
    catalog
        .expect_update()
        .withf(|r| {
            r.name.as_str() == "group" && matches!(&r.settings, KindSettings::Virtual(v) if v.members.is_empty())
        })
        .times(1)
        .returning(|_| Ok(()));
    catalog.expect_delete().times(1).returning(|_| Ok(true));
    let mut files = MockHostedFiles::new();
    files.expect_delete_repo().returning(|_| Ok(0));
    let mut index = MockArtifactIndex::new();
    index.expect_delete_repo().returning(|_| Ok(0));
    service(catalog, files, index).delete("files", true).await.unwrap();
}

#[tokio::test]
async fn replace_refuses_cycles_and_config_managed_definitions() {
    let a = RepositoryDraft {
        members: vec!["b".into()],
        ..draft("a", "virtual", "generic")
    };
    let stored_a = a.clone().validate(ManagedBy::Api).unwrap();
    let b = RepositoryDraft {
        members: vec!["a".into()],
        ..draft("b", "virtual", "generic")
    };
    let stored_b = draft("b", "virtual", "generic").validate(ManagedBy::Api).unwrap();
    let mut catalog = MockRepositoryCatalog::new();
    catalog
        .expect_get()
        .with(eq("a"))
        .returning(move |_| Ok(Some(stored_a.clone())));
    catalog
        .expect_get()
        .with(eq("b"))
        .returning(move |_| Ok(Some(stored_b.clone())));
    catalog.expect_update().times(0);
    let svc = service(catalog, MockHostedFiles::new(), MockArtifactIndex::new());
    let err = svc.replace("b", b, false).await.unwrap_err();
    assert!(
        matches!(err, RepositoryError::Invalid(f) if f.field == "members"),
        "a -> b -> a"
    );
    let err = svc
        .replace("a", draft("other", "local", "generic"), false)
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Invalid(f) if f.field == "name"));

    let mut catalog = MockRepositoryCatalog::new();
    let managed = draft("c", "local", "generic").validate(ManagedBy::Config).unwrap();
    catalog.expect_get().returning(move |_| Ok(Some(managed.clone())));
    catalog.expect_update().times(1).returning(|_| Ok(()));
    let svc = service(catalog, MockHostedFiles::new(), MockArtifactIndex::new());
    let replacement = RepositoryDraft {
        allow_overwrite: Some(true),
        ..draft("c", "local", "generic")
    };
    assert!(matches!(
        svc.replace("c", replacement.clone(), false).await,
        Err(RepositoryError::ManagedByConfig(_))
    ));
    let taken = svc.replace("c", replacement, true).await.unwrap();
    assert_eq!(taken.managed_by, ManagedBy::Api);
}

#[tokio::test]
async fn config_managed_repositories_are_not_deleted_through_the_api() {
    let mut catalog = MockRepositoryCatalog::new();
    let repo = draft("files", "local", "generic").validate(ManagedBy::Config).unwrap();
    catalog.expect_get().returning(move |_| Ok(Some(repo.clone())));
    catalog.expect_delete().times(0);
    let err = service(catalog, MockHostedFiles::new(), MockArtifactIndex::new())
        .delete("files", false)
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::ManagedByConfig(_)));
}

#[tokio::test]
async fn apply_config_creates_updates_and_leaves_unchanged() {
    let same = draft("same", "local", "generic");
    let stored_same = same.clone().validate(ManagedBy::Config).unwrap();
    let old = draft("changed", "local", "generic")
        .validate(ManagedBy::Config)
        .unwrap();
    let changed = RepositoryDraft {
        allow_overwrite: Some(true),
        ..draft("changed", "local", "generic")
    };
    let mut catalog = MockRepositoryCatalog::new();
    catalog
        .expect_get()
        .with(eq("same"))
        .returning(move |_| Ok(Some(stored_same.clone())));
    catalog
        .expect_get()
        .with(eq("changed"))
        .returning(move |_| Ok(Some(old.clone())));
    catalog.expect_get().with(eq("new")).returning(|_| Ok(None));
    catalog
        .expect_create()
        .withf(|r| r.name.as_str() == "new")
        .times(1)
        .returning(|_| Ok(()));
    catalog
        .expect_update()
        .withf(|r| r.name.as_str() == "changed")
        .times(1)
        .returning(|_| Ok(()));
    let report = service(catalog, MockHostedFiles::new(), MockArtifactIndex::new())
        .apply_config(vec![same, changed, draft("new", "local", "generic")], false)
        .await
        .unwrap();
    assert_eq!(
        report,
        ApplyReport {
            created: vec!["new".into()],
            updated: vec!["changed".into()],
            unchanged: vec!["same".into()],
            deleted: vec![],
        }
    );
}

#[tokio::test]
async fn prune_deletes_only_unlisted_config_managed_repositories() {
    let kept = draft("kept", "local", "generic");
    let stored_kept = kept.clone().validate(ManagedBy::Config).unwrap();
    let gone = draft("gone", "local", "generic").validate(ManagedBy::Config).unwrap();
    let api = draft("api-made", "local", "generic").validate(ManagedBy::Api).unwrap();
    let mut catalog = MockRepositoryCatalog::new();
    let (k, g) = (stored_kept.clone(), gone.clone());
    catalog
        .expect_get()
        .with(eq("kept"))
        .returning(move |_| Ok(Some(k.clone())));
    catalog
        .expect_get()
        .with(eq("gone"))
        .returning(move |_| Ok(Some(g.clone())));
    let all = vec![stored_kept, gone, api];
    catalog.expect_list().returning(move || Ok(all.clone()));
    catalog
        .expect_delete()
        .with(eq("gone"))
        .times(1)
        .returning(|_| Ok(true));
    let mut files = MockHostedFiles::new();
    files
        .expect_delete_repo()
        .with(eq("gone"))
        .times(1)
        .returning(|_| Ok(0));
    let mut index = MockArtifactIndex::new();
    index
        .expect_delete_repo()
        .with(eq("gone"))
        .times(1)
        .returning(|_| Ok(0));
    let report = service(catalog, files, index)
        .apply_config(vec![kept], true)
        .await
        .unwrap();
    assert_eq!(report.deleted, vec!["gone".to_string()]);
    assert_eq!(report.unchanged, vec!["kept".to_string()]);
}

#[tokio::test]
async fn apply_config_writes_nothing_when_any_table_is_invalid() {
    let mut catalog = MockRepositoryCatalog::new();
    catalog.expect_create().times(0);
    catalog.expect_get().times(0);
    let err = service(catalog, MockHostedFiles::new(), MockArtifactIndex::new())
        .apply_config(
            vec![draft("ok", "local", "generic"), draft("bad", "local", "maven")],
            false,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::Invalid(f) if f.field == "package"));
}

#[tokio::test]
async fn a_page_holds_only_visible_repositories() {
    let all: Vec<Repository> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| draft(n, "local", "generic").validate(ManagedBy::Api).unwrap())
        .collect();
    let mut catalog = MockRepositoryCatalog::new();
    catalog.expect_list().returning(move || Ok(all.clone()));
    let svc = service(catalog, MockHostedFiles::new(), MockArtifactIndex::new());
    let visible = |name: &str| name != "b";
    let filter = ListFilter {
        limit: 2,
        ..ListFilter::default()
    };
    let (page, next) = svc.list_page(&filter, &visible).await.unwrap();
    let names: Vec<&str> = page.iter().map(|r| r.name.as_str()).collect();
    assert_eq!((names, next.as_deref()), (vec!["a", "c"], Some("c")));
}

#[tokio::test]
async fn kind_and_package_change_only_while_empty() {
    let stored = draft("files", "local", "generic").validate(ManagedBy::Api).unwrap();
    let mut catalog = MockRepositoryCatalog::new();
    catalog.expect_get().returning(move |_| Ok(Some(stored.clone())));
    catalog.expect_update().times(2).returning(|_| Ok(()));
    let mut files = MockHostedFiles::new();
    let mut held = vec![0u64, 3];
    files.expect_usage().times(2).returning(move |_| {
        Ok(crate::ports::Usage {
            objects: held.pop().unwrap_or(0),
            bytes: 1,
        })
    });
    let svc = service(catalog, files, MockArtifactIndex::new());
    let err = svc
        .replace("files", draft("files", "local", "npm"), false)
        .await
        .unwrap_err();
    assert!(matches!(err, RepositoryError::NotEmpty { objects: 3, .. }), "{err:?}");
    let same_shape = RepositoryDraft {
        allow_overwrite: Some(true),
        ..draft("files", "local", "generic")
    };
    svc.replace("files", same_shape, false).await.unwrap();
    svc.replace("files", draft("files", "local", "npm"), false)
        .await
        .unwrap();
}
