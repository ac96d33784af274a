//! `PUT /api/v2/repositories/{name}`: replace a repository definition.
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use std::sync::Arc;

use super::AppState;
use super::admin::{
    ApiError, ApiTags, Denied, RepositoryInput, RepositoryView, api_error, denied, require, unavailable,
};
use crate::domain::error::RepositoryError;
use crate::domain::repository::Repository;
use crate::domain::token::Scope;

// Built once per request and moved straight into the response: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(ApiResponse)]
#[oai(bad_request_handler = "replace_bad_request")]
enum ReplaceRepositoryResponse {
    /// Replaced.
    #[oai(status = 200)]
    Ok(Json<RepositoryView>),
    /// Invalid body or field (`field` names it), or a name that differs from the URL.
    #[oai(status = 400)]
    BadRequest(Json<ApiError>),
    /// No token, or an invalid one.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The caller lacks the admin scope.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// No such repository.
    #[oai(status = 404)]
    NotFound(Json<ApiError>),
    /// Defined in the config file (pass `take_over=true` to manage it through the API).
    #[oai(status = 409)]
    Conflict(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

fn replace_bad_request(err: poem::Error) -> ReplaceRepositoryResponse {
    ReplaceRepositoryResponse::BadRequest(api_error("INVALID_BODY", err.to_string(), None))
}

async fn replaced(result: Result<Repository, RepositoryError>, state: &AppState) -> ReplaceRepositoryResponse {
    use ReplaceRepositoryResponse as R;
    match result {
        Ok(repo) => {
            tracing::info!(repository = %repo.name, "repository replaced");
            state
                .events
                .publish("repository_replaced", repo.name.as_str(), None)
                .await;
            R::Ok(Json(repo.into()))
        }
        Err(e) => {
            let message = e.to_string();
            match e {
                RepositoryError::Invalid(f) => R::BadRequest(api_error("INVALID_FIELD", f.to_string(), Some(f.field))),
                RepositoryError::NotFound(_) => R::NotFound(api_error("REPOSITORY_NOT_FOUND", message, None)),
                RepositoryError::ManagedByConfig(_) => R::Conflict(api_error("MANAGED_BY_CONFIG", message, None)),
                RepositoryError::AlreadyExists(_) | RepositoryError::InUse { .. } => {
                    R::Conflict(api_error("CONFLICT", message, None))
                }
                RepositoryError::Unavailable(cause) => R::Unavailable(unavailable(&cause)),
            }
        }
    }
}

pub struct RepositoriesApi;

#[OpenApi(prefix_path = "/api/v2")]
impl RepositoriesApi {
    /// Replace a repository
    #[oai(
        path = "/repositories/:name",
        method = "put",
        operation_id = "replaceRepository",
        tag = "ApiTags::Repositories"
    )]
    async fn replace_repository(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        name: Path<String>,
        /// Take over a repository defined in the config file (it becomes managed by the API).
        take_over: Query<Option<bool>>,
        body: Json<RepositoryInput>,
    ) -> ReplaceRepositoryResponse {
        use ReplaceRepositoryResponse as R;
        match require(state, req, Scope::Admin, None).await {
            Ok(_) => {}
            Err(d) => return denied!(R, d),
        }
        replaced(
            state
                .repositories
                .replace(&name.0, body.0.into(), take_over.0.unwrap_or(false))
                .await,
            state,
        )
        .await
    }

    /// Update part of a repository
    #[oai(
        path = "/repositories/:name",
        method = "patch",
        operation_id = "patchRepository",
        tag = "ApiTags::Repositories"
    )]
    async fn patch_repository(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        name: Path<String>,
        /// Take over a repository defined in the config file (it becomes managed by the API).
        take_over: Query<Option<bool>>,
        /// A JSON merge patch (RFC 7386) over the repository's fields; `password` is write-only.
        body: Json<serde_json::Value>,
    ) -> ReplaceRepositoryResponse {
        use ReplaceRepositoryResponse as R;
        match require(state, req, Scope::Admin, None).await {
            Ok(_) => {}
            Err(d) => return denied!(R, d),
        }
        replaced(
            state
                .repositories
                .patch(&name.0, &body.0, take_over.0.unwrap_or(false))
                .await,
            state,
        )
        .await
    }
}
