//! The OCI distribution API at `/v2` (DESIGN §7): what docker, podman, skopeo, buildah, crane,
//! oras and helm speak. Routes are parsed by `domain::registry::path`; each handler checks the
//! caller's permission on the repository and calls `app::registry`. Every response carries
//! `Docker-Distribution-Api-Version: registry/2.0`.
mod errors;
mod reads;
mod token;
mod uploads;
mod writes;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::web::Data;
use poem::{Body, IntoResponse, Request, Response, handler};
use std::collections::HashMap;
use std::sync::Arc;

use super::AppState;
use super::auth::presented_secret;
use crate::app::auth::Principal;
use crate::app::registry::WriteTarget;
use crate::domain::error::AuthError;
use crate::domain::registry::error::RegistryError;
use crate::domain::registry::path::{ImageName, PathError, RegistryRoute};
use crate::domain::registry::token::is_registry_token;
use crate::domain::token::Scope;
use errors::OciError;

#[handler]
pub async fn endpoint(req: &Request, body: Body, Data(state): Data<&Arc<AppState>>) -> Response {
    let mut response = match serve(req, body, state).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

/// One request: who is calling, from where, with which query.
pub(super) struct Call<'a> {
    pub req: &'a Request,
    pub state: &'a AppState,
    /// `scheme://host` as the client addressed us, for `Location` and the token realm.
    pub base: String,
    pub principal: Principal,
    pub query: HashMap<String, String>,
}

impl Call<'_> {
    pub fn authorize(&self, need: Scope, name: &ImageName) -> Result<(), OciError> {
        let actions = if need == Scope::Read { "pull" } else { "pull,push" };
        self.state
            .auth
            .authorize(&self.principal, need, Some(name.repo.as_str()))
            .map_err(|e| OciError::from_auth(e, &self.base, Some(format!("repository:{}:{actions}", name.full()))))
    }

    /// Checks the write scope on the repository the client named, then on the one the write
    /// lands in (a virtual's member; see `RegistryService::write_target`).
    pub async fn write_target(&self, name: &ImageName) -> Result<WriteTarget, OciError> {
        self.authorize(Scope::Write, name)?;
        let (auth, principal) = (&self.state.auth, &self.principal);
        let may_write = |repo: &str| auth.authorize(principal, Scope::Write, Some(repo)).is_ok();
        Ok(self.state.registry.write_target(name, &may_write).await?)
    }

    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.req.headers().get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query(&self, key: &str) -> Option<&str> {
        self.query.get(key).map(String::as_str)
    }

    /// `n` for paginated listings; a malformed value is a client error.
    pub fn page_size(&self) -> Result<Option<u64>, OciError> {
        self.query("n")
            .map(|n| {
                n.parse::<u64>().map_err(|_| {
                    OciError::new(
                        StatusCode::BAD_REQUEST,
                        "PAGINATION_NUMBER_INVALID",
                        "n must be a number",
                    )
                })
            })
            .transpose()
    }

    pub fn who(&self) -> &str {
        match &self.principal {
            Principal::Anonymous => "anonymous",
            Principal::Token { name, .. } => name.as_str(),
        }
    }
}

/// Where the client reached us; a missing or odd `Host` falls back to localhost.
fn base_url(req: &Request) -> String {
    super::client_origin(req).unwrap_or_else(|| "http://localhost".to_string())
}

/// API tokens (Basic password or Bearer), or a registry bearer token from `/v2/token`.
async fn principal(req: &Request, state: &AppState) -> Result<Principal, AuthError> {
    match presented_secret(req)? {
        Some(secret) if is_registry_token(&secret) => match state.registry_tokens.verify(&secret).await? {
            Some(hash) => state.auth.authenticate_hash(&hash).await,
            None => Ok(Principal::Anonymous),
        },
        other => state.auth.authenticate(other.as_deref()).await,
    }
}

async fn serve(req: &Request, body: Body, state: &AppState) -> Result<Response, OciError> {
    let path = req.uri().path();
    let rest = path.strip_prefix("/v2").unwrap_or(path);
    let base = base_url(req);
    if rest == "/token" {
        return token::issue(req, state).await;
    }
    let principal = principal(req, state)
        .await
        .map_err(|e| OciError::from_auth(e, &base, None))?;
    let query = req
        .uri()
        .query()
        .map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let call = Call {
        req,
        state,
        base,
        principal,
        query,
    };
    let route = RegistryRoute::parse(rest).map_err(|e| match e {
        PathError::Unsupported => OciError::new(StatusCode::NOT_FOUND, "UNSUPPORTED", "not a registry endpoint"),
        other => OciError::from(RegistryError::from(other)),
    })?;
    let method = req.method().clone();
    let head = method == Method::HEAD;
    let read = method == Method::GET || head;
    match route {
        RegistryRoute::Base if read => ping(&call),
        RegistryRoute::Catalog if method == Method::GET => reads::catalog(&call).await,
        RegistryRoute::Manifest(name, reference) if read => reads::manifest(&call, &name, &reference, head).await,
        RegistryRoute::Manifest(name, reference) if method == Method::PUT => {
            writes::put_manifest(&call, &name, &reference, body).await
        }
        RegistryRoute::Manifest(name, reference) if method == Method::DELETE => {
            writes::delete_manifest(&call, &name, &reference).await
        }
        RegistryRoute::Blob(name, digest) if read => reads::blob(&call, &name, &digest, head).await,
        RegistryRoute::Blob(name, digest) if method == Method::DELETE => {
            writes::delete_blob(&call, &name, &digest).await
        }
        RegistryRoute::UploadStart(name) if method == Method::POST => uploads::start(&call, &name, body).await,
        RegistryRoute::Upload(name, id) if read => uploads::status(&call, &name, &id).await,
        RegistryRoute::Upload(name, id) if method == Method::PATCH => uploads::patch(&call, &name, &id, body).await,
        RegistryRoute::Upload(name, id) if method == Method::PUT => uploads::finish(&call, &name, &id, body).await,
        RegistryRoute::Upload(name, id) if method == Method::DELETE => uploads::cancel(&call, &name, &id).await,
        RegistryRoute::TagsList(name) if method == Method::GET => reads::tags(&call, &name).await,
        RegistryRoute::Referrers(name, digest) if method == Method::GET => {
            reads::referrers(&call, &name, &digest).await
        }
        _ => Err(OciError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            format!("{method} is not supported here"),
        )),
    }
}

/// `GET /v2/`: 200 for any valid credentials. Without credentials it is always a 401 challenge,
/// even when anonymous reads are on, because `docker login` only sends (and so checks) the
/// credentials after a challenge.
fn ping(call: &Call<'_>) -> Result<Response, OciError> {
    if call.header(header::AUTHORIZATION).is_none() {
        return Err(OciError::unauthorized(&call.base, None));
    }
    Ok(Response::builder().content_type("application/json").body("{}"))
}

/// A `/v2` path that is not UTF-8 once percent-decoded (the router refuses it before any
/// handler runs), as an OCI error.
pub(super) fn invalid_path() -> Response {
    let mut response = OciError::new(
        StatusCode::BAD_REQUEST,
        "NAME_INVALID",
        "the path is not valid UTF-8 once percent-decoded",
    )
    .into_response();
    response.headers_mut().insert(
        "docker-distribution-api-version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

/// Logs a registry write with the token name (never the secret).
pub(super) fn log_write(call: &Call<'_>, action: &str, name: &ImageName, what: &str) {
    tracing::info!(token = call.who(), action, repository = %name.repo, image = %name.image, what, "write");
}
