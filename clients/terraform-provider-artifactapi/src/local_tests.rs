use super::*;
use serde_json::json;

fn view(package: &str, fields: serde_json::Value) -> RepositoryView {
    let mut base = json!({"name": "r", "kind": "local", "package": package, "managed_by": "api",
        "has_password": false, "allow_overwrite": false});
    crate::values::tests::merge(&mut base, fields);
    serde_json::from_value(base).unwrap()
}

fn configured(name: &str) -> LocalState<'static> {
    LocalState {
        name: string(name),
        ..Default::default()
    }
}

#[test]
fn docker_fields_exist_only_on_docker_locals() {
    let docker = Local::new("docker").attributes();
    let npm = Local::new("npm").attributes();
    for field in ["keep_last_tags", "keep_tag_patterns", "untagged_manifest_days"] {
        assert!(docker.contains_key(field), "{field}");
        assert!(!npm.contains_key(field), "{field}");
    }
    assert!(docker.contains_key("quota_bytes") && npm.contains_key("quota_bytes"));
}

#[test]
fn left_out_fields_plan_none_and_clear_on_the_server() {
    for package in ["generic", "docker"] {
        let local = Local::new(package);
        let config = configured("r");
        let planned = local
            .plan(&mut Diagnostics::default(), config.clone(), &config, None)
            .unwrap();
        assert_eq!(planned.quota_bytes, Value::Null);
        let (body, ()) = local.body(&mut Diagnostics::default(), &planned).unwrap();
        assert_eq!(
            body["quota_bytes"],
            serde_json::Value::Null,
            "{package}: a merge patch null clears"
        );
        assert_eq!(body["allow_overwrite"], false);
        if package == "docker" {
            assert_eq!(planned.keep_last_tags, Some(Value::Null));
            assert_eq!(planned.keep_tag_patterns, Some(Value::Value(vec![])));
            assert_eq!(planned.untagged_manifest_days, Some(Value::Null));
            for field in ["keep_last_tags", "keep_tag_patterns", "untagged_manifest_days"] {
                assert_eq!(body[field], serde_json::Value::Null, "{field}");
            }
        } else {
            assert_eq!(planned.keep_last_tags, None);
            assert!(body.get("keep_last_tags").is_none());
        }
    }
}

#[test]
fn configured_fields_are_sent() {
    let local = Local::new("docker");
    let config = LocalState {
        quota_bytes: Value::Value(1 << 30),
        keep_last_tags: Some(Value::Value(3)),
        keep_tag_patterns: Some(strings(vec!["^stable$".into()])),
        untagged_manifest_days: Some(Value::Value(7)),
        ..configured("r")
    };
    let planned = local
        .plan(&mut Diagnostics::default(), config.clone(), &config, None)
        .unwrap();
    let (body, ()) = local.body(&mut Diagnostics::default(), &planned).unwrap();
    assert_eq!(
        body,
        json!({"allow_overwrite": false, "quota_bytes": 1u64 << 30, "keep_last_tags": 3,
            "keep_tag_patterns": ["^stable$"], "untagged_manifest_days": 7})
    );
}

#[test]
fn negative_numbers_are_refused() {
    let config = LocalState {
        quota_bytes: Value::Value(-1),
        keep_last_tags: Some(Value::Value(-2)),
        ..configured("r")
    };
    let mut diags = Diagnostics::default();
    Local::new("docker").validate(&mut diags, &config);
    assert_eq!(diags.errors.len(), 2);
}

#[test]
fn read_back_state_matches_the_server() {
    let docker = Local::new("docker").state_of(
        view(
            "docker",
            json!({"quota_bytes": 5, "keep_last_tags": 2, "keep_tag_patterns": ["^v"], "untagged_manifest_days": 9}),
        ),
        &LocalState::default(),
    );
    assert_eq!(docker.quota_bytes, Value::Value(5));
    assert_eq!(docker.keep_last_tags, Some(Value::Value(2)));
    assert_eq!(docker.keep_tag_patterns, Some(strings(vec!["^v".into()])));
    assert_eq!(docker.untagged_manifest_days, Some(Value::Value(9)));
    // Unset on the server: what a configuration leaving them out plans, so no drift.
    let bare = Local::new("docker").state_of(view("docker", json!({})), &LocalState::default());
    assert_eq!(
        (bare.quota_bytes, bare.keep_last_tags, bare.keep_tag_patterns),
        (Value::Null, Some(Value::Null), Some(Value::Value(vec![])))
    );
    let helm = Local::new("helm").state_of(view("helm", json!({"quota_bytes": 5})), &LocalState::default());
    assert_eq!(helm.keep_last_tags, None);
    let as_json = serde_json::to_value(&helm).unwrap();
    assert!(as_json.get("keep_tag_patterns").is_none(), "{as_json}");
}
