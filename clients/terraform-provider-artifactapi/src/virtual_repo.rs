//! `artifactapi_virtual`: an ordered group of members of one package type behind one URL.
//! `name` and `package` force a new repository; `members` (order matters: the first member that
//! has a path wins) and `dependency_confusion_guard` change in place. Left out, they plan the
//! server's defaults (no members; the guard on), so a change outside Terraform is drift.
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tf_provider::schema::{AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueBool, ValueEmpty, ValueString};
use tf_provider::{AttributePath, Diagnostics, Resource, map};

use crate::api;
use crate::provider::{Api, PACKAGES};
use crate::values::{Strings, attribute, or_default, string, string_list, strings, text, texts};

pub struct VirtualRepository {
    api: Api,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct VirtualState<'a> {
    pub id: ValueString<'a>,
    pub name: ValueString<'a>,
    pub package: ValueString<'a>,
    pub members: Strings<'a>,
    pub dependency_confusion_guard: ValueBool,
}

fn name_of<'s>(state: &'s VirtualState<'_>) -> &'s str {
    text(&state.name).unwrap_or("")
}

impl VirtualRepository {
    pub fn new(api: Api) -> Self {
        Self { api }
    }

    /// The repository as the server has it; `Some(None)` when it does not exist.
    async fn fetch<'a>(&self, diags: &mut Diagnostics, name: &str) -> Option<Option<VirtualState<'a>>> {
        let client = api::client(&self.api, diags)?;
        let Some(view) = api::repository(client, diags, name).await? else {
            return Some(None);
        };
        api::expect_shape(diags, &view, "virtual", None)?;
        Some(Some(VirtualState {
            id: string(view.name.clone()),
            name: string(view.name),
            package: string(view.package),
            members: strings(view.members),
            dependency_confusion_guard: Value::Value(view.dependency_confusion_guard.unwrap_or(true)),
        }))
    }

    async fn read_back<'a>(&self, diags: &mut Diagnostics, name: &str) -> Option<VirtualState<'a>> {
        let found = self.fetch(diags, name).await?;
        if found.is_none() {
            diags.root_error_short(format!("repository '{name}' vanished while it was being written"));
        }
        found
    }

    fn plan<'a>(proposed: VirtualState<'a>, config: &VirtualState<'a>) -> VirtualState<'a> {
        let mut s = proposed;
        s.id = s.name.clone();
        s.members = or_default(&config.members, Vec::new());
        s.dependency_confusion_guard = or_default(&config.dependency_confusion_guard, true);
        s
    }

    fn body(s: &VirtualState<'_>) -> serde_json::Value {
        json!({
            "members": texts(&s.members).unwrap_or_default(),
            "dependency_confusion_guard": s.dependency_confusion_guard.as_ref_option(),
        })
    }
}

#[async_trait]
impl Resource for VirtualRepository {
    type State<'a> = VirtualState<'a>;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::{Computed, OptionalComputed, Required};
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::plain("A virtual repository: members of one package type behind one URL"),
                attributes: map! {
                    "id" => attribute(AttributeType::String, "The repository name", Computed),
                    "name" => attribute(AttributeType::String, "Repository name ([a-z0-9][a-z0-9._-]{0,63}); a change replaces the repository", Required),
                    "package" => attribute(AttributeType::String, "Package type of the members (generic, docker, helm, pypi, npm, rpm, alpine, puppet, terraform, goproxy); a change replaces the repository", Required),
                    "members" => attribute(string_list(), "Member repository names, in the order they are asked (the first that has a path wins)", OptionalComputed),
                    "dependency_confusion_guard" => attribute(AttributeType::Bool, "A package name a local member holds is never asked of a remote member (default true)", OptionalComputed),
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        if let Some(package) = text(&config.package)
            && !PACKAGES.contains(&package)
        {
            diags.error_short(
                format!(
                    "unknown package type '{package}' (expected one of: {})",
                    PACKAGES.join(", ")
                ),
                AttributePath::new("package"),
            );
        }
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
        Some((Self::plan(proposed, &config), ValueEmpty::default()))
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
        let mut replace = Vec::new();
        if proposed.name != prior.name {
            replace.push(AttributePath::new("name"));
        }
        if proposed.package != prior.package {
            replace.push(AttributePath::new("package"));
        }
        Some((Self::plan(proposed, &config), prior_private, replace))
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
        let mut body = Self::body(&planned);
        body["name"] = json!(name);
        body["kind"] = json!("virtual");
        body["package"] = json!(text(&planned.package));
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
        api::patch_repository(client, diags, &name, Self::body(&planned)).await?;
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
