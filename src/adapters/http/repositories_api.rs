//! `/api/v2/repositories/{name}`: get, replace, patch and delete one repository definition.
//! All methods of one path live in one `OpenApi` impl, so the spec has the path once.
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};
use std::sync::Arc;

use super::AppState;
use super::admin::{
    ApiError, ApiTags, Denied, RepositoryInput, RepositoryView, api_error, denied, principal_name, require, unavailable,
};
use crate::domain::error::RepositoryError;
use crate::domain::repository::Repository;
use crate::domain::token::Scope;

// Built once per request and moved straight into the response: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(ApiResponse)]
enum GetRepositoryResponse {
    /// The repository.
    #[oai(status = 200)]
    Ok(Json<RepositoryView>),
    /// Reads need a token on this instance.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The token lacks the read scope for this repository.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// No such repository.
    #[oai(status = 404)]
    NotFound(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "delete_bad_request")]
enum DeleteRepositoryResponse {
    /// Deleted; its files become unreferenced and GC reclaims them.
    #[oai(status = 204)]
    Deleted,
    /// A query parameter that does not parse (`force` takes `true` or `false`).
    #[oai(status = 400)]
    BadRequest(Json<ApiError>),
    /// No token, or an invalid one.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The token lacks the admin scope.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// No such repository.
    #[oai(status = 404)]
    NotFound(Json<ApiError>),
    /// The repository is defined in the config file.
    #[oai(status = 409)]
    Conflict(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

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
    /// Defined in the config file (pass `take_over=true` to manage it through the API), or
    /// `REPOSITORY_NOT_EMPTY`: kind or package changed while the repository holds data.
    #[oai(status = 409)]
    Conflict(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

fn delete_bad_request(err: poem::Error) -> DeleteRepositoryResponse {
    DeleteRepositoryResponse::BadRequest(api_error("INVALID_PARAMETER", err.to_string(), None))
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
                RepositoryError::NotEmpty { .. } => R::Conflict(api_error("REPOSITORY_NOT_EMPTY", message, None)),
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
    /// Get a repository
    #[oai(
        path = "/repositories/:name",
        method = "get",
        operation_id = "getRepository",
        tag = "ApiTags::Repositories"
    )]
    async fn get_repository(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        name: Path<String>,
    ) -> GetRepositoryResponse {
        use GetRepositoryResponse as R;
        match require(state, req, Scope::Read, Some(&name.0)).await {
            Ok(_) => {}
            Err(d) => return denied!(R, d),
        }
        match state.repositories.get(&name.0).await {
            Ok(repo) => R::Ok(Json(repo.into())),
            Err(e) => {
                let message = e.to_string();
                match e {
                    RepositoryError::NotFound(_) | RepositoryError::Invalid(_) => {
                        R::NotFound(api_error("REPOSITORY_NOT_FOUND", message, None))
                    }
                    RepositoryError::Unavailable(cause) => R::Unavailable(unavailable(&cause)),
                    RepositoryError::AlreadyExists(_)
                    | RepositoryError::ManagedByConfig(_)
                    | RepositoryError::InUse { .. }
                    | RepositoryError::NotEmpty { .. } => R::Unavailable(unavailable(&message)),
                }
            }
        }
    }

    /// Delete a repository
    #[oai(
        path = "/repositories/:name",
        method = "delete",
        operation_id = "deleteRepository",
        tag = "ApiTags::Repositories"
    )]
    async fn delete_repository(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        name: Path<String>,
        /// Also remove it from the virtual repositories it is a member of.
        force: Query<Option<bool>>,
    ) -> DeleteRepositoryResponse {
        use DeleteRepositoryResponse as R;
        let principal = match require(state, req, Scope::Admin, None).await {
            Ok(p) => p,
            Err(d) => return denied!(R, d),
        };
        match state.repositories.delete(&name.0, force.0.unwrap_or(false)).await {
            Ok(()) => {
                tracing::info!(repository = %name.0, by = ?principal_name(&principal), "repository deleted");
                state.events.publish("repository_deleted", &name.0, None).await;
                R::Deleted
            }
            Err(e) => {
                let message = e.to_string();
                match e {
                    RepositoryError::NotFound(_) | RepositoryError::Invalid(_) => {
                        R::NotFound(api_error("REPOSITORY_NOT_FOUND", message, None))
                    }
                    RepositoryError::ManagedByConfig(_) => R::Conflict(api_error("MANAGED_BY_CONFIG", message, None)),
                    RepositoryError::InUse { .. } => R::Conflict(api_error("REPOSITORY_IN_USE", message, None)),
                    RepositoryError::NotEmpty { .. } => R::Conflict(api_error("REPOSITORY_NOT_EMPTY", message, None)),
                    RepositoryError::AlreadyExists(_) => R::Conflict(api_error("CONFLICT", message, None)),
                    RepositoryError::Unavailable(cause) => R::Unavailable(unavailable(&cause)),
                }
            }
        }
    }

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
