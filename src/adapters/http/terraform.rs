//! The Terraform provider registry protocol: service discovery at `/.well-known/terraform.json`
//! and `providers.v1` under `/terraform/providers/v1/{namespace}/{type}/...`, where the namespace
//! is a local or virtual terraform repository. Archives download through the file protocol
//! (`/api/v1/local/...`); `SHA256SUMS` and its signature are served here.
use poem::http::{Method, StatusCode};
use poem::web::Data;
use poem::{IntoResponse, Request, Response, handler};
use std::sync::Arc;

use super::AppState;
use super::auth::presented_secret;
use super::errors::HttpError;
use crate::app::terraform::ProviderName;
use crate::domain::token::Scope;

/// Where the registry's services are (Terraform's remote service discovery).
pub const PROVIDERS_V1: &str = "/terraform/providers/v1/";

#[handler]
pub fn discovery() -> Response {
    Response::builder()
        .content_type("application/json")
        .body(serde_json::json!({ "providers.v1": PROVIDERS_V1 }).to_string())
}

#[handler]
pub async fn providers(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    serve(req, state).await.unwrap_or_else(IntoResponse::into_response)
}

/// What a providers.v1 path asks for.
enum Call<'a> {
    Versions,
    Download {
        version: &'a str,
        os: &'a str,
        arch: &'a str,
    },
    Shasums {
        version: &'a str,
    },
    Signature {
        version: &'a str,
    },
}

fn parse(rest: &str) -> Option<(ProviderName<'_>, Call<'_>)> {
    let parts: Vec<&str> = rest.split('/').collect();
    let (name, call) = match parts.as_slice() {
        [namespace, provider, "versions"] => ((namespace, provider), Call::Versions),
        [namespace, provider, version, "download", os, arch] => {
            ((namespace, provider), Call::Download { version, os, arch })
        }
        [namespace, provider, version, "SHA256SUMS"] => ((namespace, provider), Call::Shasums { version }),
        [namespace, provider, version, "SHA256SUMS.sig"] => ((namespace, provider), Call::Signature { version }),
        _ => return None,
    };
    let (namespace, provider) = name;
    Some((ProviderName { namespace, provider }, call))
}

async fn serve(req: &Request, state: &AppState) -> Result<Response, HttpError> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Err(HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "use GET",
        ));
    }
    let rest = req.uri().path().strip_prefix(PROVIDERS_V1).unwrap_or_default();
    let (name, call) = parse(rest).ok_or_else(|| {
        HttpError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "expected {namespace}/{type}/versions, .../{version}/download/{os}/{arch} or .../{version}/SHA256SUMS[.sig]",
        )
    })?;
    let principal = state.auth.authenticate(presented_secret(req)?.as_deref()).await?;
    state.auth.authorize(&principal, Scope::Read, Some(name.namespace))?;
    let registry = &state.providers;
    Ok(match call {
        Call::Versions => json(registry.versions(name).await?),
        Call::Download { version, os, arch } => {
            let origin = super::client_origin(req).unwrap_or_default();
            json(registry.download(name, version, os, arch, &origin).await?)
        }
        Call::Shasums { version } => Response::builder()
            .content_type("text/plain; charset=utf-8")
            .body(registry.shasums(name, version).await?),
        Call::Signature { version } => Response::builder()
            .content_type("application/octet-stream")
            .body(registry.shasums_signature(name, version).await?),
    })
}

fn json(value: serde_json::Value) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(value.to_string())
}
