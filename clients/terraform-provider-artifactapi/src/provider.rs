//! The provider block: where the server is and the token to call it with.
use artifactapi_client::Client;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType, Block, Description, Schema};
use tf_provider::value::{ValueEmpty, ValueString};
use tf_provider::{Diagnostics, DynamicDataSource, DynamicResource, Provider, map};

use crate::data_repositories::RepositoriesData;
use crate::data_repository::RepositoryData;
use crate::local::Local;
use crate::remote::Remote;
use crate::repository::RepositoryResource;
use crate::token::Token;
use crate::virtual_repo::Virtual;

/// Package types: one `artifactapi_local_<package>` and one `artifactapi_remote_<package>`
/// resource each (`artifactapi_virtual` takes the type as an attribute).
pub const PACKAGES: &[&str] = &[
    "generic",
    "docker",
    "helm",
    "pypi",
    "npm",
    "rpm",
    "alpine",
    "puppet",
    "terraform",
    "goproxy",
];

/// The management client, set once `configure` has run (resources are listed before).
pub type Api = Arc<OnceLock<Client>>;

#[derive(Default)]
pub struct ArtifactApi {
    api: Api,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Config<'a> {
    #[serde(borrow = "'a")]
    pub url: ValueString<'a>,
    #[serde(borrow = "'a")]
    pub token: ValueString<'a>,
}

fn attribute(description: &str, constraint: AttributeConstraint, sensitive: bool) -> Attribute {
    Attribute {
        attr_type: AttributeType::String,
        description: Description::plain(description.to_string()),
        constraint,
        sensitive,
        ..Default::default()
    }
}

#[async_trait]
impl Provider for ArtifactApi {
    type Config<'a> = Config<'a>;
    type MetaState<'a> = ValueEmpty;

    fn schema(&self, _diags: &mut Diagnostics) -> Option<Schema> {
        Some(Schema {
            version: 1,
            block: Block {
                description: Description::plain("ArtifactAPI"),
                attributes: map! {
                    "url" => attribute("Base URL of the server (default: ARTIFACTAPI_URL)", AttributeConstraint::Optional, false),
                    "token" => attribute("API token (default: ARTIFACTAPI_TOKEN)", AttributeConstraint::Optional, true),
                },
                ..Default::default()
            },
        })
    }

    async fn configure<'a>(&self, diags: &mut Diagnostics, _version: String, config: Config<'a>) -> Option<()> {
        let from_env = |name: &str| std::env::var(name).ok();
        let url = config
            .url
            .as_ref_option()
            .map(|s| s.to_string())
            .or_else(|| from_env("ARTIFACTAPI_URL"));
        let token = config
            .token
            .as_ref_option()
            .map(|s| s.to_string())
            .or_else(|| from_env("ARTIFACTAPI_TOKEN"));
        let Some(url) = url else {
            diags.root_error_short("set url in the provider block or ARTIFACTAPI_URL");
            return None;
        };
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = token {
            match format!("Bearer {token}").parse() {
                Ok(value) => {
                    headers.insert(reqwest::header::AUTHORIZATION, value);
                }
                Err(_) => {
                    diags.root_error_short("the token is not a valid header value");
                    return None;
                }
            }
        }
        let http = match reqwest::Client::builder().default_headers(headers).build() {
            Ok(http) => http,
            Err(e) => {
                diags.root_error("cannot build the HTTP client", e.to_string());
                return None;
            }
        };
        let _ = self.api.set(Client::new_with_client(url.trim_end_matches('/'), http));
        Some(())
    }

    fn get_resources(&self, _diags: &mut Diagnostics) -> Option<HashMap<String, Box<dyn DynamicResource>>> {
        let mut resources: HashMap<String, Box<dyn DynamicResource>> = HashMap::new();
        for package in PACKAGES {
            resources.insert(
                format!("local_{package}"),
                Box::new(RepositoryResource::new(Local::new(package), self.api.clone())),
            );
            resources.insert(
                format!("remote_{package}"),
                Box::new(RepositoryResource::new(Remote::new(package), self.api.clone())),
            );
        }
        resources.insert(
            "virtual".into(),
            Box::new(RepositoryResource::new(Virtual, self.api.clone())),
        );
        resources.insert("token".into(), Box::new(Token::new(self.api.clone())));
        Some(resources)
    }

    fn get_data_sources(&self, _diags: &mut Diagnostics) -> Option<HashMap<String, Box<dyn DynamicDataSource>>> {
        let mut sources: HashMap<String, Box<dyn DynamicDataSource>> = HashMap::new();
        sources.insert("repository".into(), Box::new(RepositoryData::new(self.api.clone())));
        sources.insert("repositories".into(), Box::new(RepositoriesData::new(self.api.clone())));
        Some(sources)
    }
}
