//! The Terraform side of every repository resource, written once: refresh reads the server
//! (a repository deleted outside Terraform leaves the state, so the plan creates it again),
//! create posts the definition, update sends a merge patch, both read the result back, destroy
//! deletes, import reads by name. What differs between remotes, locals and virtuals (their
//! attributes, defaults and request bodies) is a [`RepositoryKind`].
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tf_provider::schema::{Block, Description, Schema};
use tf_provider::value::ValueEmpty;
use tf_provider::{AttributePath, Diagnostics, Resource};

use crate::api;
use crate::provider::Api;
use artifactapi_client::types::RepositoryView;

/// One kind of repository resource.
pub trait RepositoryKind: Send + Sync {
    type State<'a>: Serialize + Deserialize<'a> + Send + Sync + Default;
    /// Something sent with a write that the server never returns (a remote's password), for
    /// [`RepositoryKind::after_write`].
    type Sent: Send;

    /// `remote`, `local` or `virtual`.
    fn kind(&self) -> &'static str;
    /// The package type the resource type is for; `None` when it is an attribute (virtual).
    fn package(&self) -> Option<&'static str>;
    /// The package type of a planned repository.
    fn package_of(&self, planned: &Self::State<'_>) -> Option<String>;
    fn description(&self) -> String;
    fn attributes(&self) -> std::collections::HashMap<String, tf_provider::schema::Attribute>;
    fn validate(&self, _diags: &mut Diagnostics, _config: &Self::State<'_>) {}
    fn name<'s>(&self, state: &'s Self::State<'_>) -> &'s str;
    /// The attributes whose change replaces the repository.
    fn replaced_by<'a>(&self, prior: &Self::State<'a>, proposed: &Self::State<'a>) -> Vec<AttributePath>;
    /// The state of a repository the server returned; `prior` holds what it cannot say.
    fn state_of<'a>(&self, view: RepositoryView, prior: &Self::State<'a>) -> Self::State<'a>;
    /// The planned state (`prior` is `None` for a create).
    fn plan<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: &Self::State<'a>,
        prior: Option<&Self::State<'a>>,
    ) -> Option<Self::State<'a>>;
    /// The fields to write (a merge patch: `null` clears), and what of them the server keeps to
    /// itself.
    fn body(&self, diags: &mut Diagnostics, planned: &Self::State<'_>) -> Option<(serde_json::Value, Self::Sent)>;
    /// The state after a write, from the state read back.
    fn after_write<'a>(
        &self,
        _diags: &mut Diagnostics,
        state: Self::State<'a>,
        _planned: &Self::State<'a>,
        _sent: Self::Sent,
    ) -> Option<Self::State<'a>> {
        Some(state)
    }
}

pub struct RepositoryResource<K> {
    kind: K,
    api: Api,
}

impl<K: RepositoryKind> RepositoryResource<K> {
    pub fn new(kind: K, api: Api) -> Self {
        Self { kind, api }
    }

    /// The repository as state; `Some(None)` when it does not exist.
    async fn fetch<'a>(
        &self,
        diags: &mut Diagnostics,
        name: &str,
        prior: &K::State<'a>,
    ) -> Option<Option<K::State<'a>>> {
        let client = api::client(&self.api, diags)?;
        let Some(view) = api::repository(client, diags, name).await? else {
            return Some(None);
        };
        api::expect_shape(diags, &view, self.kind.kind(), self.kind.package())?;
        Some(Some(self.kind.state_of(view, prior)))
    }

    /// The state after a write: the repository read back (it must exist), then the kind's
    /// additions.
    async fn written<'a>(
        &self,
        diags: &mut Diagnostics,
        planned: &K::State<'a>,
        sent: K::Sent,
    ) -> Option<K::State<'a>> {
        let name = self.kind.name(planned);
        let Some(state) = self.fetch(diags, name, planned).await? else {
            diags.root_error_short(format!("repository '{name}' vanished while it was being written"));
            return None;
        };
        self.kind.after_write(diags, state, planned, sent)
    }
}

#[async_trait]
impl<K: RepositoryKind> Resource for RepositoryResource<K> {
    type State<'a> = K::State<'a>;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::plain(self.kind.description()),
                attributes: self.kind.attributes(),
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        self.kind.validate(diags, &config);
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
        let fresh = self.fetch(diags, self.kind.name(&state), &state).await??;
        Some((fresh, private_state))
    }

    async fn plan_create<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let state = self.kind.plan(diags, proposed, &config, None)?;
        Some((state, ValueEmpty::default()))
    }

    async fn plan_update<'a>(
        &self,
        diags: &mut Diagnostics,
        prior: Self::State<'a>,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        prior_private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>, Vec<AttributePath>)> {
        let replace = self.kind.replaced_by(&prior, &proposed);
        let state = self.kind.plan(diags, proposed, &config, Some(&prior))?;
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
        let name = self.kind.name(&planned).to_string();
        let (mut body, sent) = self.kind.body(diags, &planned)?;
        body["name"] = json!(name);
        body["kind"] = json!(self.kind.kind());
        body["package"] = json!(self.kind.package_of(&planned));
        api::create_repository(client, diags, &name, body).await?;
        let state = self.written(diags, &planned, sent).await?;
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
        let name = self.kind.name(&planned).to_string();
        let (body, sent) = self.kind.body(diags, &planned)?;
        api::patch_repository(client, diags, &name, body).await?;
        let state = self.written(diags, &planned, sent).await?;
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
        api::delete_repository(client, diags, self.kind.name(&state)).await
    }

    /// By name; what the server cannot say (a remote's password variable) stays null.
    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let Some(state) = self.fetch(diags, &id, &K::State::default()).await? else {
            diags.root_error_short(format!("no repository named '{id}'"));
            return None;
        };
        Some((state, ValueEmpty::default()))
    }
}
