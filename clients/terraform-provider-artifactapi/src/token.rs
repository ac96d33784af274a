//! `artifactapi_token`: an API token. Tokens cannot be edited, so every configured field forces
//! a new token. The secret comes back only from the create call: it is a sensitive computed
//! attribute, null after an import. The API has no read by id, so a refresh lists the tokens
//! and finds its own; a token revoked outside Terraform leaves the state (the plan creates a
//! new one).
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty, ValueString};
use tf_provider::{AttributePath, Diagnostics, Resource, map};

use crate::api;
use crate::provider::Api;
use crate::values::{
    StringSet, attribute, optional_string, or_default, string, string_set, string_set_type, text, texts,
};
use artifactapi_client::types::{TokenInput, TokenView};

pub struct Token {
    api: Api,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct TokenState<'a> {
    pub id: ValueString<'a>,
    pub name: ValueString<'a>,
    pub scopes: StringSet<'a>,
    pub repositories: StringSet<'a>,
    pub expires_at: ValueString<'a>,
    pub created_at: ValueString<'a>,
    pub secret: ValueString<'a>,
}

fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// The state of a token the server lists; `prior` keeps the secret (never listed) and the
/// configured spelling of expires_at when it is the same instant.
fn from_view<'a>(view: TokenView, prior: &TokenState<'a>) -> TokenState<'a> {
    let expires_at = match (view.expires_at, text(&prior.expires_at)) {
        (Some(server), Some(configured)) if parse_time(configured) == Some(server) => prior.expires_at.clone(),
        (server, _) => optional_string(server.as_ref().map(timestamp)),
    };
    TokenState {
        id: string(view.id),
        name: string(view.name),
        scopes: string_set(view.scopes),
        repositories: string_set(view.repositories),
        expires_at,
        created_at: string(timestamp(&view.created_at)),
        secret: prior.secret.clone(),
    }
}

impl Token {
    pub fn new(api: Api) -> Self {
        Self { api }
    }

    /// The token whose id or name is `key`; `Some(None)` when there is none.
    async fn find(&self, diags: &mut Diagnostics, key: &str) -> Option<Option<TokenView>> {
        let client = api::client(&self.api, diags)?;
        match client.list_tokens().send().await {
            Ok(tokens) => Some(tokens.into_inner().into_iter().find(|t| t.id == key || t.name == key)),
            Err(e) => {
                api::report(diags, "cannot list tokens".into(), e);
                None
            }
        }
    }
}

#[async_trait]
impl Resource for Token {
    type State<'a> = TokenState<'a>;
    type PrivateState<'a> = ValueEmpty;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::{Computed, Optional, OptionalComputed, Required};
        let s = AttributeType::String;
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::plain("An API token; any change makes a new one"),
                attributes: map! {
                    "id" => attribute(s.clone(), "The token's id", Computed),
                    "name" => attribute(s.clone(), "Unique name ([A-Za-z0-9._-]{1,64}; 'admin' is reserved)", Required),
                    "scopes" => attribute(string_set_type(), "Any of read, write, admin (each implies the ones before it)", Required),
                    "repositories" => attribute(string_set_type(), "Repository name globs ('*' wildcard) the token is limited to; empty or left out = all", OptionalComputed),
                    "expires_at" => attribute(s.clone(), "When the token stops working (RFC 3339); left out = never", Optional),
                    "created_at" => attribute(s.clone(), "When the token was made", Computed),
                    "secret" => Attribute {
                        sensitive: true,
                        ..attribute(s, "The secret, to send as 'Authorization: Bearer <secret>'; known only to the Terraform run that made the token", Computed)
                    },
                },
                ..Default::default()
            },
        })
    }

    async fn validate<'a>(&self, diags: &mut Diagnostics, config: Self::State<'a>) -> Option<()> {
        if let Some(expires) = text(&config.expires_at)
            && parse_time(expires).is_none()
        {
            diags.error_short(
                format!("expires_at '{expires}' is not an RFC 3339 time (e.g. 2030-01-31T00:00:00Z)"),
                AttributePath::new("expires_at"),
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
        let id = text(&state.id).unwrap_or("").to_string();
        // Revoked outside Terraform: no state (and no error), so the plan makes a new token.
        let view = self.find(diags, &id).await??;
        if view.id != id {
            // Found by name only: a different token that took the name; ours is gone.
            return None;
        }
        Some((from_view(view, &state), private_state))
    }

    async fn plan_create<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let mut s = proposed;
        s.id = Value::Unknown;
        s.created_at = Value::Unknown;
        s.secret = Value::Unknown;
        s.repositories = or_default(&config.repositories, Default::default());
        Some((s, ValueEmpty::default()))
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
        let mut s = proposed;
        s.repositories = or_default(&config.repositories, Default::default());
        let mut replace = Vec::new();
        for (field, changed) in [
            ("name", s.name != prior.name),
            ("scopes", s.scopes != prior.scopes),
            ("repositories", s.repositories != prior.repositories),
            ("expires_at", s.expires_at != prior.expires_at),
        ] {
            if changed {
                replace.push(AttributePath::new(field));
            }
        }
        if replace.is_empty() {
            s.id = prior.id;
            s.created_at = prior.created_at;
            s.secret = prior.secret;
        } else {
            s.id = Value::Unknown;
            s.created_at = Value::Unknown;
            s.secret = Value::Unknown;
        }
        Some((s, prior_private, replace))
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
        let name = text(&planned.name).unwrap_or("").to_string();
        let input = TokenInput {
            name: name.clone(),
            scopes: texts(&planned.scopes).unwrap_or_default(),
            repositories: texts(&planned.repositories).unwrap_or_default(),
            expires_at: text(&planned.expires_at).and_then(parse_time),
        };
        let issued = match client.create_token().body(input).send().await {
            Ok(issued) => issued.into_inner(),
            Err(e) => {
                api::report(diags, format!("cannot create token '{name}'"), e);
                return None;
            }
        };
        let prior = TokenState {
            secret: string(issued.secret),
            ..planned
        };
        Some((from_view(issued.token, &prior), private))
    }

    /// Only reached when nothing changed: every configured field replaces the token.
    async fn update<'a>(
        &self,
        _diags: &mut Diagnostics,
        _prior: Self::State<'a>,
        planned: Self::State<'a>,
        _config: Self::State<'a>,
        private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        Some((planned, private))
    }

    async fn destroy<'a>(
        &self,
        diags: &mut Diagnostics,
        state: Self::State<'a>,
        _private: Self::PrivateState<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<()> {
        let client = api::client(&self.api, diags)?;
        let id = text(&state.id).unwrap_or("").to_string();
        match client.revoke_token().id(&id).send().await {
            Ok(_) => Some(()),
            Err(e) if api::not_found(&e) => Some(()),
            Err(e) => {
                api::report(diags, format!("cannot revoke token '{id}'"), e);
                None
            }
        }
    }

    /// By id or by name. The secret cannot be recovered: it stays null.
    async fn import<'a>(
        &self,
        diags: &mut Diagnostics,
        id: String,
    ) -> Option<(Self::State<'a>, Self::PrivateState<'a>)> {
        let Some(view) = self.find(diags, &id).await? else {
            diags.root_error_short(format!("no token with the id or name '{id}'"));
            return None;
        };
        Some((from_view(view, &TokenState::default()), ValueEmpty::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view(expires_at: Option<&str>) -> TokenView {
        serde_json::from_value(json!({"id": "t1", "name": "ci", "scopes": ["read", "write"],
            "repositories": [], "expires_at": expires_at, "created_at": "2026-01-02T03:04:05Z"}))
        .unwrap()
    }

    #[test]
    fn a_listed_token_keeps_its_secret_and_the_configured_time() {
        let prior = TokenState {
            expires_at: string("2035-01-31T01:00:00+01:00"),
            secret: string("s3cret"),
            ..Default::default()
        };
        let same = from_view(view(Some("2035-01-31T00:00:00Z")), &prior);
        assert_eq!(same.expires_at, string("2035-01-31T01:00:00+01:00"), "the same instant");
        assert_eq!(same.secret, string("s3cret"));
        assert_eq!(same.scopes, string_set(vec!["write".into(), "read".into()]));
        assert_eq!(same.repositories, Value::Value(Default::default()));
        assert_eq!(same.created_at, string("2026-01-02T03:04:05Z"));
        let other = from_view(view(Some("2036-01-01T00:00:00Z")), &prior);
        assert_eq!(
            other.expires_at,
            string("2036-01-01T00:00:00Z"),
            "drift shows the server's"
        );
        assert_eq!(from_view(view(None), &prior).expires_at, Value::Null);
        assert_eq!(
            from_view(view(None), &TokenState::default()).secret,
            Value::Null,
            "imported"
        );
    }
}
