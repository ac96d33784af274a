//! `artifactapi_local_<package>`: a local repository. `name` forces a new repository when it
//! changes; `allow_overwrite` changes in place (left out, it plans the default, false).
//! Imported by name; read back on every refresh, so a change made outside Terraform shows as
//! drift, and a repository deleted outside Terraform leaves the state (the plan creates it).
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueBool, ValueEmpty, ValueString};
use tf_provider::{AttributePath, Diagnostics, Resource, map};

use crate::api;
use crate::provider::Api;
use crate::values::{or_default, string, text};

pub struct LocalRepository {
    package: &'static str,
    api: Api,
}

impl LocalRepository {
    pub fn new(package: &'static str, api: Api) -> Self {
        Self { package, api }
    }

    /// The repository as the server has it, as state; `Some(None)` when it does not exist.
    async fn fetch<'a>(&self, diags: &mut Diagnostics, name: &str) -> Option<Option<LocalState<'a>>> {
        let client = api::client(&self.api, diags)?;
        let Some(repo) = api::repository(client, diags, name).await? else {
            return Some(None);
        };
        api::expect_shape(diags, &repo, "local", Some(self.package))?;
        Some(Some(LocalState {
            id: string(repo.name.clone()),
            name: string(repo.name),
            allow_overwrite: Value::Value(repo.allow_overwrite.unwrap_or(false)),
        }))
    }

    /// Reads a repository that must exist (after a write).
    async fn read_back<'a>(&self, diags: &mut Diagnostics, name: &str) -> Option<LocalState<'a>> {
        let found = self.fetch(diags, name).await?;
        if found.is_none() {
            diags.root_error_short(format!("repository '{name}' vanished while it was being written"));
        }
        found
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct LocalState<'a> {
    pub id: ValueString<'a>,
    pub name: ValueString<'a>,
    pub allow_overwrite: ValueBool,
}

fn name_of<'a>(state: &'a LocalState<'_>) -> &'a str {
    text(&state.name).unwrap_or("")
}

#[async_trait]
impl Resource for LocalRepository {
    type State<'a> = LocalState<'a>;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::plain(format!("A local {} repository", self.package)),
                attributes: map! {
                    "id" => Attribute {
                        attr_type: AttributeType::String,
                        description: Description::plain("The repository name"),
                        constraint: AttributeConstraint::Computed,
                        ..Default::default()
                    },
                    "name" => Attribute {
                        attr_type: AttributeType::String,
                        description: Description::plain("Repository name ([a-z0-9][a-z0-9._-]{0,63})"),
                        constraint: AttributeConstraint::Required,
                        ..Default::default()
                    },
                    "allow_overwrite" => Attribute {
                        attr_type: AttributeType::Bool,
                        description: Description::plain("Whether an upload may replace an existing path (default false, also when left out)"),
                        constraint: AttributeConstraint::OptionalComputed,
                        ..Default::default()
                    },
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, _diags: &mut Diagnostics, _config: Self::State<'a>) -> Option<()> {
        Some(())
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        private_state: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        // Gone from the server: no state (and no error), so Terraform plans to create it again.
        let fresh = self.fetch(diags, name_of(&state)).await??;
        Some((fresh, private_state))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut state = proposed;
        state.id = state.name.clone();
        state.allow_overwrite = or_default(&config.allow_overwrite, false);
        Some((state, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior: Self::State<'a>,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        prior_private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let mut state = proposed;
        let mut replace = Vec::new();
        if state.name != prior.name {
            replace.push(AttributePath::new("name"));
        }
        state.id = state.name.clone();
        state.allow_overwrite = or_default(&config.allow_overwrite, false);
        Some((state, prior_private, replace))
    }

    async fn plan_destroy<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        prior_private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::PrivateState<'a>> {
        Some(prior_private)
    }

    async fn create<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let client = api::client(&self.api, diags)?;
        let name = name_of(&planned).to_string();
        let body = serde_json::json!({
            "name": name,
            "kind": "local",
            "package": self.package,
            "allow_overwrite": planned.allow_overwrite.as_ref_option(),
        });
        api::create_repository(client, diags, &name, body).await?;
        let state = self.read_back(diags, &name).await?;
        Some((state, private))
    }

    async fn update<'a>(
        &self,
        diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let client = api::client(&self.api, diags)?;
        let name = name_of(&planned).to_string();
        let body =
            serde_json::json!({"allow_overwrite": planned.allow_overwrite.as_ref_option().copied().unwrap_or(false)});
        api::patch_repository(client, diags, &name, body).await?;
        let state = self.read_back(diags, &name).await?;
        Some((state, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let client = api::client(&self.api, diags)?;
        api::delete_repository(client, diags, name_of(&state)).await
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let Some(state) = self.fetch(diags, &id).await? else {
            diags.root_error_short(format!("no repository named '{id}'"));
            return None;
        };
        Some((state, ValueEmpty::default()))
    }
}
