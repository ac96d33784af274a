//! Data source `artifactapi_repository`: one repository by name, every field the API returns
//! (fields of other kinds are null; the password only as `has_password`).
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueBool, ValueEmpty, ValueNumber, ValueString};
use tf_provider::{DataSource, Diagnostics};

use crate::api;
use crate::provider::Api;
use crate::values::{Strings, attribute, number, optional_string, string, string_list, strings, text};
use artifactapi_client::types::RepositoryView;

pub struct RepositoryData {
    api: Api,
}

impl RepositoryData {
    pub fn new(api: Api) -> Self {
        Self { api }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RepositoryDataState<'a> {
    pub name: ValueString<'a>,
    pub id: ValueString<'a>,
    pub kind: ValueString<'a>,
    pub package: ValueString<'a>,
    pub managed_by: ValueString<'a>,
    pub base_url: ValueString<'a>,
    pub username: ValueString<'a>,
    pub has_password: ValueBool,
    pub mutable_ttl: ValueNumber,
    pub immutable_ttl: ValueNumber,
    pub patterns: Strings<'a>,
    pub blocklist: Strings<'a>,
    pub mutable_patterns: Strings<'a>,
    pub immutable_patterns: Strings<'a>,
    pub ban_tags: Strings<'a>,
    pub offline: ValueBool,
    pub ca_file: ValueString<'a>,
    pub tls_insecure_skip_verify: ValueBool,
    pub client_cert_file: ValueString<'a>,
    pub client_key_file: ValueString<'a>,
    pub members: Strings<'a>,
    pub allow_overwrite: ValueBool,
    pub dependency_confusion_guard: ValueBool,
    pub quota_bytes: ValueNumber,
    pub max_bytes: ValueNumber,
    pub unused_days: ValueNumber,
    pub keep_last_tags: ValueNumber,
    pub keep_tag_patterns: Strings<'a>,
    pub untagged_manifest_days: ValueNumber,
}

/// A list field: null on repositories of kinds that do not have it.
fn list_of<'a>(applies: bool, items: Vec<String>) -> Strings<'a> {
    if applies { strings(items) } else { Value::Null }
}

impl<'a> RepositoryDataState<'a> {
    fn from_view(view: RepositoryView) -> Self {
        let remote = view.kind == "remote";
        let docker_remote = remote && view.package == "docker";
        let docker_local = view.kind == "local" && view.package == "docker";
        let days = |d: Option<u32>| d.map_or(Value::Null, |d| number(u64::from(d)));
        RepositoryDataState {
            id: string(view.name.clone()),
            name: string(view.name),
            kind: string(view.kind.clone()),
            package: string(view.package),
            managed_by: string(view.managed_by),
            base_url: optional_string(view.base_url),
            username: optional_string(view.username),
            has_password: Value::Value(view.has_password),
            mutable_ttl: view.mutable_ttl.map_or(Value::Null, number),
            immutable_ttl: view.immutable_ttl.map_or(Value::Null, number),
            patterns: list_of(remote, view.patterns),
            blocklist: list_of(remote, view.blocklist),
            mutable_patterns: list_of(remote, view.mutable_patterns),
            immutable_patterns: list_of(remote, view.immutable_patterns),
            ban_tags: list_of(docker_remote, view.ban_tags),
            offline: view.offline.into(),
            ca_file: optional_string(view.ca_file),
            tls_insecure_skip_verify: view.tls_insecure_skip_verify.into(),
            client_cert_file: optional_string(view.client_cert_file),
            client_key_file: optional_string(view.client_key_file),
            members: list_of(view.kind == "virtual", view.members),
            allow_overwrite: view.allow_overwrite.into(),
            dependency_confusion_guard: view.dependency_confusion_guard.into(),
            quota_bytes: view.quota_bytes.map_or(Value::Null, number),
            max_bytes: view.max_bytes.map_or(Value::Null, number),
            unused_days: days(view.unused_days),
            keep_last_tags: days(view.keep_last_tags),
            keep_tag_patterns: list_of(docker_local, view.keep_tag_patterns),
            untagged_manifest_days: days(view.untagged_manifest_days),
        }
    }
}

fn attributes() -> HashMap<String, Attribute> {
    use AttributeType::{Bool, Number, String};
    let computed = |t: AttributeType, d: &str| attribute(t, d, AttributeConstraint::Computed);
    [
        (
            "name",
            attribute(String, "The repository's name", AttributeConstraint::Required),
        ),
        ("id", computed(String, "The repository's name")),
        ("kind", computed(String, "remote, local or virtual")),
        ("package", computed(String, "The package type")),
        (
            "managed_by",
            computed(String, "api, or config when the server's config file defines it"),
        ),
        ("base_url", computed(String, "Remote: the upstream URL")),
        ("username", computed(String, "Remote: upstream user name")),
        (
            "has_password",
            computed(
                Bool,
                "Remote: whether an upstream password is set (it is never returned)",
            ),
        ),
        (
            "mutable_ttl",
            computed(Number, "Remote: seconds a mutable index stays fresh"),
        ),
        (
            "immutable_ttl",
            computed(Number, "Remote: seconds an immutable file stays fresh (0 = forever)"),
        ),
        ("patterns", computed(string_list(), "Remote: allowlist regexes")),
        ("blocklist", computed(string_list(), "Remote: blocklist regexes")),
        (
            "mutable_patterns",
            computed(string_list(), "Remote: regexes of paths treated as mutable"),
        ),
        (
            "immutable_patterns",
            computed(string_list(), "Remote: regexes of paths treated as immutable"),
        ),
        (
            "ban_tags",
            computed(string_list(), "Remote docker: tag regexes refused"),
        ),
        ("offline", computed(Bool, "Remote: serves the cache only")),
        ("ca_file", computed(String, "Remote: CA bundle path on the server")),
        (
            "tls_insecure_skip_verify",
            computed(Bool, "Remote: accepts any upstream certificate"),
        ),
        (
            "client_cert_file",
            computed(String, "Remote: client certificate path on the server"),
        ),
        (
            "client_key_file",
            computed(String, "Remote: client key path on the server"),
        ),
        ("members", computed(string_list(), "Virtual: member names, in order")),
        (
            "allow_overwrite",
            computed(Bool, "Local: whether uploads may replace a path"),
        ),
        (
            "dependency_confusion_guard",
            computed(Bool, "Virtual: the dependency-confusion guard"),
        ),
        ("quota_bytes", computed(Number, "Local: bytes the repository may hold")),
        ("max_bytes", computed(Number, "Remote: bytes the cache may hold")),
        (
            "unused_days",
            computed(Number, "Remote: days unused before a cached copy is evicted"),
        ),
        ("keep_last_tags", computed(Number, "Local docker: tags kept per image")),
        (
            "keep_tag_patterns",
            computed(string_list(), "Local docker: tags keep_last_tags never deletes"),
        ),
        (
            "untagged_manifest_days",
            computed(Number, "Local docker: days before an untagged manifest is deleted"),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[async_trait]
impl DataSource for RepositoryData {
    type State<'a> = RepositoryDataState<'a>;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::plain("One repository, by name"),
                attributes: attributes(),
                ..Default::default()
            },
        })
    }

    async fn read<'a>(
        &self,
        diags: &mut Diagnostics,
        config: Self::State<'a>,
        _meta: Self::ProviderMetaState<'a>,
    ) -> Option<Self::State<'a>> {
        let client = api::client(&self.api, diags)?;
        let name = text(&config.name).unwrap_or("").to_string();
        let Some(view) = api::repository(client, diags, &name).await? else {
            diags.root_error_short(format!("no repository named '{name}'"));
            return None;
        };
        Some(RepositoryDataState::from_view(view))
    }
}
