//! `RepositoryAdmin` over HTTP: a running server's `/api/v2/repositories`, for
//! `artifactapi apply`.
use async_trait::async_trait;
use serde_json::Value;
use std::path::Path;

use crate::adapters::tls::client::{TrustRoots, client_config, tls_failure};
use crate::domain::upstream_tls::UpstreamTls;

use crate::domain::repository::{ManagedBy, RepositoryDraft};
use crate::domain::repository_plan::Deployed;
use crate::ports::{PortError, RepositoryAdmin};

const PAGE: u32 = 500;

pub struct ManagementClient {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl ManagementClient {
    /// `base` is the server's root URL (`http://host:8000` or `https://...`); `token` needs the
    /// admin scope. HTTPS trusts the platform store plus `ca_file`; proxies come from
    /// `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`.
    pub fn new(base: &str, token: String, ca_file: Option<&Path>) -> Result<Self, PortError> {
        let roots = TrustRoots::load(ca_file).map_err(|e| PortError::Tls(format!("ca_file {e}")))?;
        let tls = client_config(&roots, &UpstreamTls::default()).map_err(PortError::Tls)?;
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .user_agent(concat!("artifactapi-apply/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PortError::Backend(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_string(),
            token,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v2/repositories{path}", self.base)
    }

    /// Success, or the server's status, code and message.
    async fn check(response: reqwest::Response) -> Result<reqwest::Response, PortError> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let code = body["code"].as_str().unwrap_or("ERROR");
        let message = body["message"].as_str().unwrap_or("");
        Err(PortError::Backend(format!(
            "HTTP {} {code}: {message}",
            status.as_u16()
        )))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, PortError> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| match tls_failure(&e) {
                Some(reason) => PortError::Tls(format!("{}: {reason}", self.base)),
                None => PortError::Backend(format!("cannot reach {}: {}", self.base, e.without_url())),
            })?;
        Self::check(response).await
    }
}

/// A repository view as the API returns it, back into a validated definition.
fn deployed(mut view: Value) -> Result<Deployed, PortError> {
    let invalid = |m: String| PortError::Backend(format!("unexpected repository from the server: {m}"));
    let object = view.as_object_mut().ok_or_else(|| invalid("not an object".into()))?;
    let managed_by = match object.remove("managed_by").as_ref().and_then(Value::as_str) {
        Some("config") => ManagedBy::Config,
        _ => ManagedBy::Api,
    };
    let has_password = object.remove("has_password").and_then(|v| v.as_bool()).unwrap_or(false);
    object.retain(|_, v| !v.is_null());
    let draft: RepositoryDraft = serde_json::from_value(view).map_err(|e| invalid(e.to_string()))?;
    let repository = draft.validate(managed_by).map_err(|e| invalid(e.to_string()))?;
    Ok(Deployed {
        repository,
        has_password,
    })
}

#[async_trait]
impl RepositoryAdmin for ManagementClient {
    async fn list(&self) -> Result<Vec<Deployed>, PortError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut request = self.client.get(self.url("")).query(&[("limit", PAGE.to_string())]);
            if let Some(c) = &cursor {
                request = request.query(&[("cursor", c)]);
            }
            let response = self.send(request).await?;
            cursor = response
                .headers()
                .get("x-next-cursor")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let page: Vec<Value> = response
                .json()
                .await
                .map_err(|e| PortError::Backend(format!("repository list: {e}")))?;
            for view in page {
                all.push(deployed(view)?);
            }
            if cursor.is_none() {
                return Ok(all);
            }
        }
    }

    async fn create(&self, draft: &RepositoryDraft) -> Result<(), PortError> {
        self.send(self.client.post(self.url("")).json(draft)).await.map(|_| ())
    }

    async fn replace(&self, draft: &RepositoryDraft) -> Result<(), PortError> {
        let path = format!("/{}", draft.name);
        self.send(self.client.put(self.url(&path)).json(draft))
            .await
            .map(|_| ())
    }

    async fn delete(&self, name: &str) -> Result<(), PortError> {
        self.send(self.client.delete(self.url(&format!("/{name}"))))
            .await
            .map(|_| ())
    }
}
