//! `artifactapi apply FILE`: config as code against a running server. The file's repositories
//! are validated first (nothing is sent when one is bad), compared with what the server has,
//! printed as a plan, then applied step by step through the management API.
use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::repository::{ManagedBy, Repository, RepositoryDraft};
use crate::domain::repository_plan::{Step, plan};
use crate::ports::RepositoryAdmin;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("repository '{name}' in the file: {reason}")]
    Invalid { name: String, reason: String },
    #[error("{0}")]
    Server(String),
    #[error("'{0}' is managed by the server's own config file; change it there")]
    ManagedByConfig(String),
}

pub struct ApplyService {
    admin: Arc<dyn RepositoryAdmin>,
}

/// One line of the plan, as printed.
pub fn describe(step: &Step) -> String {
    match step {
        Step::Create(n) => format!("+ create {n}"),
        Step::Update { name, fields } => format!("~ update {name} ({})", fields.join(", ")),
        Step::Delete(n) => format!("- delete {n}"),
        Step::Unchanged(n) => format!("= unchanged {n}"),
        Step::ManagedByConfig(n) => format!("! {n} is managed by the server's config file"),
    }
}

impl ApplyService {
    pub fn new(admin: Arc<dyn RepositoryAdmin>) -> Self {
        Self { admin }
    }

    /// Validates the file's repositories and computes the plan.
    pub async fn plan(&self, drafts: &[RepositoryDraft], prune: bool) -> Result<Vec<Step>, ApplyError> {
        let desired = validated(drafts)?;
        let current = self.admin.list().await.map_err(|e| ApplyError::Server(e.to_string()))?;
        Ok(plan(&desired, &current, prune))
    }

    /// Carries out `steps` (from `plan` over the same `drafts`), stopping at the first refusal.
    pub async fn execute(&self, drafts: &[RepositoryDraft], steps: &[Step]) -> Result<(), ApplyError> {
        let by_name: HashMap<&str, &RepositoryDraft> = drafts.iter().map(|d| (d.name.as_str(), d)).collect();
        let server = |e: crate::ports::PortError| ApplyError::Server(e.to_string());
        for step in steps {
            match step {
                Step::Create(name) | Step::Update { name, .. } => {
                    let Some(draft) = by_name.get(name.as_str()) else {
                        continue;
                    };
                    if matches!(step, Step::Create(_)) {
                        self.admin.create(draft).await.map_err(server)?;
                    } else {
                        self.admin.replace(draft).await.map_err(server)?;
                    }
                }
                Step::Delete(name) => self.admin.delete(name).await.map_err(server)?,
                Step::Unchanged(_) => {}
                Step::ManagedByConfig(name) => return Err(ApplyError::ManagedByConfig(name.clone())),
            }
        }
        Ok(())
    }
}

fn validated(drafts: &[RepositoryDraft]) -> Result<Vec<Repository>, ApplyError> {
    drafts
        .iter()
        .map(|d| {
            d.clone().validate(ManagedBy::Api).map_err(|e| ApplyError::Invalid {
                name: d.name.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::repository_plan::Deployed;
    use crate::ports::PortError;
    use crate::ports::repository_admin::MockRepositoryAdmin;

    fn draft(name: &str, overwrite: bool) -> RepositoryDraft {
        RepositoryDraft {
            name: name.into(),
            kind: "local".into(),
            package: "generic".into(),
            allow_overwrite: Some(overwrite),
            ..RepositoryDraft::default()
        }
    }

    #[tokio::test]
    async fn a_bad_file_sends_nothing() {
        let mut admin = MockRepositoryAdmin::new();
        admin.expect_list().never();
        let svc = ApplyService::new(Arc::new(admin));
        let bad = RepositoryDraft {
            kind: "sideways".into(),
            ..draft("x", false)
        };
        let got = svc.plan(&[draft("ok", false), bad], false).await;
        assert!(matches!(got, Err(ApplyError::Invalid { name, .. }) if name == "x"));
    }

    #[tokio::test]
    async fn plans_then_creates_updates_and_deletes_through_the_api() {
        let mut admin = MockRepositoryAdmin::new();
        admin.expect_list().returning(|| {
            Ok(vec![
                Deployed {
                    repository: draft("keep", false).validate(ManagedBy::Api).unwrap(),
                    has_password: false,
                },
                Deployed {
                    repository: draft("gone", false).validate(ManagedBy::Api).unwrap(),
                    has_password: false,
                },
            ])
        });
        admin
            .expect_create()
            .withf(|d| d.name == "new")
            .times(1)
            .returning(|_| Ok(()));
        admin
            .expect_replace()
            .withf(|d| d.name == "keep" && d.allow_overwrite == Some(true))
            .times(1)
            .returning(|_| Ok(()));
        admin
            .expect_delete()
            .withf(|n| n == "gone")
            .times(1)
            .returning(|_| Err(PortError::Backend("HTTP 409 REPOSITORY_IN_USE: x".into())));
        let svc = ApplyService::new(Arc::new(admin));
        let drafts = vec![draft("keep", true), draft("new", false)];
        let steps = svc.plan(&drafts, true).await.unwrap();
        let printed: Vec<String> = steps.iter().map(describe).collect();
        assert_eq!(
            printed,
            vec!["~ update keep (allow_overwrite)", "+ create new", "- delete gone"]
        );
        let got = svc.execute(&drafts, &steps).await;
        assert!(matches!(got, Err(ApplyError::Server(m)) if m.contains("REPOSITORY_IN_USE")));
    }
}
