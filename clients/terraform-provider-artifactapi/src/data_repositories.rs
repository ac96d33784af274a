//! Data source `artifactapi_repositories`: every repository the token may read, optionally of
//! one kind and/or package type, ordered by name (all pages of the listing).
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use tf_provider::schema::{AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::{Value, ValueEmpty, ValueList, ValueString};
use tf_provider::{DataSource, Diagnostics, map};

use crate::api;
use crate::provider::Api;
use crate::values::{Strings, attribute, string, string_list, text};

pub struct RepositoriesData {
    api: Api,
}

impl RepositoriesData {
    pub fn new(api: Api) -> Self {
        Self { api }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Summary<'a> {
    pub name: ValueString<'a>,
    pub kind: ValueString<'a>,
    pub package: ValueString<'a>,
    pub managed_by: ValueString<'a>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RepositoriesState<'a> {
    pub kind: ValueString<'a>,
    pub package: ValueString<'a>,
    pub names: Strings<'a>,
    pub repositories: ValueList<Summary<'a>>,
}

/// The repositories the API lists for these filters, following `X-Next-Cursor`.
async fn list_all(
    client: &artifactapi_client::Client,
    diags: &mut Diagnostics,
    kind: Option<&str>,
    package: Option<&str>,
) -> Option<Vec<artifactapi_client::types::RepositoryView>> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut call = client.list_repositories().limit(1000);
        if let Some(kind) = kind {
            call = call.kind(kind);
        }
        if let Some(package) = package {
            call = call.package(package);
        }
        if let Some(cursor) = &cursor {
            call = call.cursor(cursor.as_str());
        }
        let page = match call.send().await {
            Ok(page) => page,
            Err(e) => {
                api::report(diags, "cannot list repositories".into(), e);
                return None;
            }
        };
        let next = page
            .headers()
            .get("x-next-cursor")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        all.extend(page.into_inner());
        match next {
            Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
            _ => return Some(all),
        }
    }
}

#[async_trait]
impl DataSource for RepositoriesData {
    type State<'a> = RepositoriesState<'a>;
    type ProviderMetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        use AttributeConstraint::{Computed, Optional};
        let summary: HashMap<String, AttributeType> = ["name", "kind", "package", "managed_by"]
            .into_iter()
            .map(|k| (k.to_string(), AttributeType::String))
            .collect();
        Some(Schema {
            version: 1,
            block: Block {
                version: 1,
                description: Description::plain("The repositories, ordered by name"),
                attributes: map! {
                    "kind" => attribute(AttributeType::String, "Only this kind (remote, local or virtual)", Optional),
                    "package" => attribute(AttributeType::String, "Only this package type", Optional),
                    "names" => attribute(string_list(), "Their names", Computed),
                    "repositories" => attribute(
                        AttributeType::List(Box::new(AttributeType::Object(summary))),
                        "name, kind, package and managed_by of each (the data source artifactapi_repository has every field)",
                        Computed,
                    ),
                },
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
        let found = list_all(client, diags, text(&config.kind), text(&config.package)).await?;
        let names = found.iter().map(|r| string(r.name.clone())).collect();
        let repositories = found
            .into_iter()
            .map(|r| Summary {
                name: Value::Value(Cow::Owned(r.name)),
                kind: string(r.kind),
                package: string(r.package),
                managed_by: string(r.managed_by),
            })
            .collect();
        Some(RepositoriesState {
            kind: config.kind,
            package: config.package,
            names: Value::Value(names),
            repositories: Value::Value(repositories),
        })
    }
}
