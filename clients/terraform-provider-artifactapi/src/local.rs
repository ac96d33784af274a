//! `artifactapi_local_<package>`: a local repository. `name` forces a new repository when it
//! changes; `allow_overwrite` changes in place. Imported by name; read back on every refresh, so
//! a change made outside Terraform shows as drift.
use artifactapi_client::types;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueBool, ValueEmpty, ValueString};
use tf_provider::{AttributePath, Diagnostics, Resource, map};

use crate::provider::Api;

pub struct LocalRepository {
    package: &'static str,
    api: Api,
}

impl LocalRepository {
    pub fn new(package: &'static str, api: Api) -> Self {
        Self { package, api }
    }

    fn client(&self, diags: &mut Diagnostics) -> Option<&artifactapi_client::Client> {
        let client = self.api.get();
        if client.is_none() {
            diags.root_error_short("the artifactapi provider is not configured");
        }
        client
    }

    /// The repository as the server has it, as state.
    async fn fetch<'a>(&self, diags: &mut Diagnostics, name: &str) -> Option<LocalState<'a>> {
        let client = self.client(diags)?;
        match client.get_repository().name(name).send().await {
            Ok(found) => {
                let repo = found.into_inner();
                if repo.kind != "local" || repo.package != self.package {
                    diags.root_error(
                        "repository of another kind",
                        format!(
                            "'{name}' is a {} {} repository, not local {}",
                            repo.kind, repo.package, self.package
                        ),
                    );
                    return None;
                }
                Some(LocalState {
                    id: Value::Value(Cow::Owned(repo.name.clone())),
                    name: Value::Value(Cow::Owned(repo.name)),
                    allow_overwrite: Value::Value(repo.allow_overwrite.unwrap_or(false)),
                })
            }
            Err(e) => {
                diags.root_error(format!("cannot read repository '{name}'"), e.to_string());
                None
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct LocalState<'a> {
    #[serde(borrow = "'a")]
    pub id: ValueString<'a>,
    #[serde(borrow = "'a")]
    pub name: ValueString<'a>,
    pub allow_overwrite: ValueBool,
}

fn name_of<'a>(state: &'a LocalState<'_>) -> &'a str {
    state.name.as_ref_option().map_or("", |s| s.as_ref())
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
                        description: Description::plain("Whether an upload may replace an existing path (default false)"),
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
        let fresh = self.fetch(diags, name_of(&state)).await?;
        Some((fresh, private_state))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        _config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut state = proposed;
        state.id = state.name.clone();
        if state.allow_overwrite.is_null() {
            state.allow_overwrite = Value::Value(false);
        }
        Some((state, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        _diags: &mut Diagnostics,
        prior: Self::State<'a>,
        proposed: Self::State<'a>,
        _config: Self::State<'a>,
        prior_private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let mut state = proposed;
        let mut replace = Vec::new();
        if state.name != prior.name {
            replace.push(AttributePath::new("name"));
        }
        state.id = state.name.clone();
        if state.allow_overwrite.is_null() {
            state.allow_overwrite = Value::Value(false);
        }
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
        let client = self.client(diags)?;
        let name = name_of(&planned).to_string();
        let body = types::RepositoryInput::builder()
            .name(name.clone())
            .kind("local")
            .package(self.package)
            .allow_overwrite(planned.allow_overwrite.as_ref_option().copied());
        if let Err(e) = client.create_repository().body(body).send().await {
            diags.root_error(format!("cannot create repository '{name}'"), e.to_string());
            return None;
        }
        let state = self.fetch(diags, &name).await?;
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
        let client = self.client(diags)?;
        let name = name_of(&planned).to_string();
        let body =
            serde_json::json!({"allow_overwrite": planned.allow_overwrite.as_ref_option().copied().unwrap_or(false)});
        if let Err(e) = client.patch_repository().name(&name).body(body).send().await {
            diags.root_error(format!("cannot update repository '{name}'"), e.to_string());
            return None;
        }
        let state = self.fetch(diags, &name).await?;
        Some((state, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let client = self.client(diags)?;
        let name = name_of(&state).to_string();
        if let Err(e) = client.delete_repository().name(&name).send().await {
            diags.root_error(format!("cannot delete repository '{name}'"), e.to_string());
            return None;
        }
        Some(())
    }

    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let state = self.fetch(diags, &id).await?;
        Some((state, ValueEmpty::default()))
    }
}
