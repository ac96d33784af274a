//! `POST /api/v2/probe`: one request to a remote's upstream, nothing cached.
use poem::Request;
use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::AppState;
use super::admin::{ApiError, ApiTags, Denied, api_error, denied, require, unavailable};
use crate::domain::error::ProxyError;
use crate::domain::path::ArtifactPath;
use crate::domain::token::Scope;

/// What to probe.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
#[oai(example)]
pub struct ProbeInput {
    /// A remote repository.
    pub repository: String,
    /// A path as clients request it under `/api/v1/remote/{repository}/`.
    pub path: String,
}

/// What the upstream answered.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct ProbeView {
    pub url: String,
    /// Absent when no HTTP response came back (see `error`).
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// Selected response headers (content type and length, validators, caching, redirects).
    pub headers: BTreeMap<String, String>,
    pub error: Option<String>,
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "probe_bad_request")]
enum ProbeResponse {
    /// The upstream's answer (or the network error).
    #[oai(status = 200)]
    Ok(Json<ProbeView>),
    /// Invalid body, path or package type.
    #[oai(status = 400)]
    BadRequest(Json<ApiError>),
    /// No token, or an invalid one.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The caller lacks the admin scope, or the remote's rules deny the path.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// No such remote repository.
    #[oai(status = 404)]
    NotFound(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

fn probe_bad_request(err: poem::Error) -> ProbeResponse {
    ProbeResponse::BadRequest(api_error("INVALID_BODY", err.to_string(), None))
}

pub struct ProbeApi;

#[OpenApi(prefix_path = "/api/v2")]
impl ProbeApi {
    /// Probe a remote's upstream
    #[oai(
        path = "/probe",
        method = "post",
        operation_id = "probeUpstream",
        tag = "ApiTags::Repositories"
    )]
    async fn probe(&self, req: &Request, Data(state): Data<&Arc<AppState>>, body: Json<ProbeInput>) -> ProbeResponse {
        use ProbeResponse as R;
        match require(state, req, Scope::Admin, None).await {
            Ok(_) => {}
            Err(d) => return denied!(R, d),
        }
        let path = match ArtifactPath::parse(&body.0.path) {
            Ok(p) => p,
            Err(e) => return R::BadRequest(api_error("INVALID_PATH", e.to_string(), Some("path"))),
        };
        match state.remote.probe(&body.0.repository, &path).await {
            Ok(result) => R::Ok(Json(ProbeView {
                url: result.url,
                status: result.status,
                latency_ms: result.latency_ms,
                headers: result.headers.into_iter().collect(),
                error: result.error,
            })),
            Err(e) => {
                let message = e.to_string();
                match e {
                    ProxyError::RepositoryNotFound(_) | ProxyError::WrongKind { .. } => {
                        R::NotFound(api_error("REPOSITORY_NOT_FOUND", message, Some("repository")))
                    }
                    ProxyError::Forbidden(_) => R::Forbidden(api_error("ACCESS_DENIED", message, None)),
                    ProxyError::UnsupportedPackage(_) => R::BadRequest(api_error("NOT_IMPLEMENTED", message, None)),
                    ProxyError::Unavailable(cause) => R::Unavailable(unavailable(&cause)),
                    ProxyError::NotFound(_)
                    | ProxyError::NotCachedOffline(_)
                    | ProxyError::UpstreamFailed(_)
                    | ProxyError::UpstreamTls(_)
                    | ProxyError::InsufficientStorage(_)
                    | ProxyError::RangeNotSatisfiable { .. } => R::Unavailable(unavailable(&message)),
                }
            }
        }
    }
}
