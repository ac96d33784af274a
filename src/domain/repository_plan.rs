//! The plan of `artifactapi apply`: what to create, update and delete on a running server so
//! that its API-managed repositories match a file. Pure: both sides arrive validated.
use super::repository::{KindSettings, ManagedBy, Repository};

/// A repository as the server reports it. Passwords are write-only, so only their presence is
/// known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployed {
    pub repository: Repository,
    pub has_password: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Create(String),
    /// The fields that differ.
    Update {
        name: String,
        fields: Vec<String>,
    },
    /// Present on the server, absent from the file, and `prune` asked for it.
    Delete(String),
    Unchanged(String),
    /// The server's own config file manages it; the API may not change it.
    ManagedByConfig(String),
}

/// The fields whose values differ (defaults applied on both sides). A password in the file
/// counts as a change only when the server has none: its value cannot be compared.
fn differences(desired: &Repository, current: &Deployed) -> Vec<String> {
    let want = serde_json::to_value(desired.to_draft()).unwrap_or_default();
    let have = serde_json::to_value(current.repository.to_draft()).unwrap_or_default();
    let mut fields: Vec<String> = match (want, have) {
        (serde_json::Value::Object(w), serde_json::Value::Object(h)) => w
            .iter()
            .filter(|(k, v)| h.get(k.as_str()) != Some(v))
            .map(|(k, _)| k.clone())
            .collect(),
        _ => vec!["*".into()],
    };
    let wants_password = matches!(&desired.settings, KindSettings::Remote(s) if s.password.is_some());
    if wants_password && !current.has_password {
        fields.push("password".into());
    }
    fields
}

fn is_virtual(r: &Repository) -> bool {
    matches!(r.settings, KindSettings::Virtual(_))
}

/// Steps in a safe order: creates and updates of members before the virtual repositories that
/// list them, deletes of virtual repositories before their members.
pub fn plan(desired: &[Repository], current: &[Deployed], prune: bool) -> Vec<Step> {
    let mut ordered: Vec<&Repository> = desired.iter().collect();
    ordered.sort_by_key(|r| is_virtual(r));
    let mut steps = Vec::new();
    for want in ordered {
        let name = want.name.to_string();
        steps.push(match current.iter().find(|c| c.repository.name == want.name) {
            None => Step::Create(name),
            Some(have) if have.repository.managed_by == ManagedBy::Config => Step::ManagedByConfig(name),
            Some(have) => match differences(want, have) {
                fields if fields.is_empty() => Step::Unchanged(name),
                fields => Step::Update { name, fields },
            },
        });
    }
    if prune {
        let mut stale: Vec<&Deployed> = current
            .iter()
            .filter(|c| c.repository.managed_by == ManagedBy::Api)
            .filter(|c| !desired.iter().any(|d| d.name == c.repository.name))
            .collect();
        stale.sort_by_key(|c| !is_virtual(&c.repository));
        steps.extend(stale.into_iter().map(|c| Step::Delete(c.repository.name.to_string())));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::repository::RepositoryDraft;

    fn repo(name: &str, kind: &str, extra: serde_json::Value) -> Repository {
        let mut v = serde_json::json!({"name": name, "kind": kind, "package": "generic"});
        if kind == "remote" {
            v["base_url"] = "http://127.0.0.1:1".into();
        }
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        serde_json::from_value::<RepositoryDraft>(v)
            .unwrap()
            .validate(ManagedBy::Api)
            .unwrap()
    }

    fn deployed(r: Repository, has_password: bool) -> Deployed {
        Deployed {
            repository: r,
            has_password,
        }
    }

    #[test]
    fn creates_updates_deletes_in_a_safe_order() {
        let desired = vec![
            repo("all", "virtual", serde_json::json!({"members": ["files", "mirror"]})),
            repo("files", "local", serde_json::json!({"allow_overwrite": true})),
            repo("mirror", "remote", serde_json::json!({})),
            repo("same", "local", serde_json::json!({})),
        ];
        let mut config_owned = repo("owned", "local", serde_json::json!({}));
        config_owned.managed_by = ManagedBy::Config;
        let current = vec![
            deployed(repo("files", "local", serde_json::json!({})), false),
            deployed(repo("same", "local", serde_json::json!({})), false),
            deployed(repo("old", "local", serde_json::json!({})), false),
            deployed(
                repo("old-group", "virtual", serde_json::json!({"members": ["old"]})),
                false,
            ),
            deployed(config_owned, false),
        ];
        let steps = plan(&desired, &current, true);
        assert_eq!(
            steps,
            vec![
                Step::Update {
                    name: "files".into(),
                    fields: vec!["allow_overwrite".into()]
                },
                Step::Create("mirror".into()),
                Step::Unchanged("same".into()),
                Step::Create("all".into()),
                Step::Delete("old-group".into()),
                Step::Delete("old".into()),
            ]
        );
        assert!(
            !plan(&desired, &current, false)
                .iter()
                .any(|s| matches!(s, Step::Delete(_)))
        );
        let mut owned = repo("owned", "local", serde_json::json!({}));
        owned.managed_by = ManagedBy::Api;
        assert_eq!(
            plan(&[owned], &current, false),
            vec![Step::ManagedByConfig("owned".into())]
        );
    }

    #[test]
    fn passwords_count_only_when_the_server_has_none() {
        let want = repo("m", "remote", serde_json::json!({"username": "u", "password": "p"}));
        let have = repo("m", "remote", serde_json::json!({"username": "u"}));
        assert_eq!(
            plan(std::slice::from_ref(&want), &[deployed(have.clone(), false)], false),
            vec![Step::Update {
                name: "m".into(),
                fields: vec!["password".into()]
            }]
        );
        assert_eq!(
            plan(&[want], &[deployed(have, true)], false),
            vec![Step::Unchanged("m".into())]
        );
    }
}
