//! Retention policies: `POST /api/v2/retention` runs every repository's policies now (admin; a
//! dry run says what they would remove); `GET /api/v2/repositories/{name}/retention` previews
//! one repository's (read scope), `POST` on it enforces them now (admin).
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::sync::Arc;

use super::AppState;
use super::admin::{ApiError, ApiTags, Denied, api_error, denied, require, unavailable};
use crate::app::retention::{Removal, RepositoryRetention, RetentionError, RetentionReport};
use crate::domain::token::Scope;

/// One thing a policy removed (or, in a dry run, would remove).
#[derive(Object, Debug)]
pub struct RemovalView {
    pub path: String,
    /// Bytes the path names (its content may be shared with other paths).
    pub size: u64,
    /// The policy: `max_bytes` or `unused_days`.
    pub reason: String,
    #[oai(skip_serializing_if_is_none)]
    pub last_accessed: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Removal> for RemovalView {
    fn from(r: Removal) -> Self {
        RemovalView {
            path: r.path,
            size: r.size,
            reason: r.reason.as_str().to_string(),
            last_accessed: r.last_accessed,
        }
    }
}

/// What retention did to one repository (a dry run: would do).
#[derive(Object, Debug)]
#[oai(example)]
pub struct RepositoryRetentionView {
    pub name: String,
    pub dry_run: bool,
    /// Removals in the order they were decided (the first 1,000; `objects` counts them all).
    pub removed: Vec<RemovalView>,
    pub objects: u64,
    /// Bytes the removed paths named.
    pub bytes: u64,
    /// The repository's stored bytes (distinct contents) afterwards; estimated in a dry run.
    pub stored_bytes: u64,
    /// Another replica was enforcing this repository at that moment; nothing was done here.
    pub busy: bool,
    /// In a run over every repository: this one failed (the server log says why) and the run
    /// went on with the others.
    pub failed: bool,
}

impl RepositoryRetentionView {
    fn of(r: RepositoryRetention, dry_run: bool) -> Self {
        RepositoryRetentionView {
            name: r.name,
            dry_run,
            removed: r.removed.into_iter().map(Into::into).collect(),
            objects: r.objects,
            bytes: r.bytes,
            stored_bytes: r.stored_bytes,
            busy: r.busy,
            failed: r.failed,
        }
    }
}

/// A run over every repository with a retention policy.
#[derive(Object, Debug)]
pub struct RetentionReportView {
    pub dry_run: bool,
    pub repositories: Vec<RepositoryRetentionView>,
    pub objects: u64,
    pub bytes: u64,
}

impl From<RetentionReport> for RetentionReportView {
    fn from(r: RetentionReport) -> Self {
        RetentionReportView {
            dry_run: r.dry_run,
            repositories: r
                .repositories
                .into_iter()
                .map(|repo| RepositoryRetentionView::of(repo, r.dry_run))
                .collect(),
            objects: r.objects,
            bytes: r.bytes,
        }
    }
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "run_bad_request")]
enum RunResponse {
    /// The run finished.
    #[oai(status = 200)]
    Ok(Json<RetentionReportView>),
    /// A query parameter that does not parse (`dry_run` takes `true` or `false`).
    #[oai(status = 400)]
    BadRequest(Json<ApiError>),
    /// No token, or an invalid one.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The token lacks the admin scope.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// A run is in progress on this or another replica (`RETENTION_RUNNING`).
    #[oai(status = 409)]
    Conflict(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

fn run_bad_request(err: poem::Error) -> RunResponse {
    RunResponse::BadRequest(api_error("INVALID_PARAMETER", err.to_string(), None))
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "repository_bad_request")]
enum RepositoryResponse {
    /// What the repository's policies removed (a preview: would remove).
    #[oai(status = 200)]
    Ok(Json<RepositoryRetentionView>),
    /// A query parameter that does not parse.
    #[oai(status = 400)]
    BadRequest(Json<ApiError>),
    /// No token, or an invalid one.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The token lacks the scope (read to preview, admin to enforce).
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// No such repository.
    #[oai(status = 404)]
    NotFound(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

fn repository_bad_request(err: poem::Error) -> RepositoryResponse {
    RepositoryResponse::BadRequest(api_error("INVALID_PARAMETER", err.to_string(), None))
}

fn repository_answer(result: Result<RepositoryRetention, RetentionError>, dry_run: bool) -> RepositoryResponse {
    use RepositoryResponse as R;
    match result {
        Ok(done) => R::Ok(Json(RepositoryRetentionView::of(done, dry_run))),
        Err(e @ RetentionError::NotFound(_)) => R::NotFound(api_error("REPOSITORY_NOT_FOUND", e.to_string(), None)),
        // Only whole runs take the instance lease.
        Err(e @ RetentionError::AlreadyRunning) => R::Unavailable(unavailable(&e.to_string())),
        Err(RetentionError::Unavailable(cause)) => R::Unavailable(unavailable(&cause)),
    }
}

pub struct RetentionApi;

#[OpenApi(prefix_path = "/api/v2")]
impl RetentionApi {
    /// Run every repository's retention policies now
    ///
    /// Remotes: `unused_days` and `max_bytes` evict cached copies (least recently used first);
    /// the bytes are freed by the next garbage collection. With `dry_run=true` nothing changes
    /// and the answer says what would go.
    #[oai(
        path = "/retention",
        method = "post",
        operation_id = "runRetention",
        tag = "ApiTags::Repositories"
    )]
    async fn run(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        #[oai(default)] dry_run: Query<bool>,
    ) -> RunResponse {
        use RunResponse as R;
        if let Err(d) = require(state, req, Scope::Admin, None).await {
            return denied!(R, d);
        }
        match state.retention.run(dry_run.0).await {
            Ok(report) => R::Ok(Json(report.into())),
            Err(e @ RetentionError::AlreadyRunning) => R::Conflict(api_error("RETENTION_RUNNING", e.to_string(), None)),
            // A run covers every repository; none can be missing.
            Err(e @ RetentionError::NotFound(_)) => R::Unavailable(unavailable(&e.to_string())),
            Err(RetentionError::Unavailable(cause)) => R::Unavailable(unavailable(&cause)),
        }
    }

    /// Preview what a repository's retention policies would remove
    ///
    /// A dry run: nothing changes. Lists the first 1,000 removals, and counts them all.
    #[oai(
        path = "/repositories/:name/retention",
        method = "get",
        operation_id = "previewRepositoryRetention",
        tag = "ApiTags::Repositories"
    )]
    async fn preview(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        name: Path<String>,
    ) -> RepositoryResponse {
        use RepositoryResponse as R;
        if let Err(d) = require(state, req, Scope::Read, Some(&name.0)).await {
            return denied!(R, d);
        }
        repository_answer(state.retention.repository(&name.0, true).await, true)
    }

    /// Enforce a repository's retention policies now
    ///
    /// With `dry_run=true` this is the preview.
    #[oai(
        path = "/repositories/:name/retention",
        method = "post",
        operation_id = "runRepositoryRetention",
        tag = "ApiTags::Repositories"
    )]
    async fn enforce(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        name: Path<String>,
        #[oai(default)] dry_run: Query<bool>,
    ) -> RepositoryResponse {
        use RepositoryResponse as R;
        if let Err(d) = require(state, req, Scope::Admin, Some(&name.0)).await {
            return denied!(R, d);
        }
        repository_answer(state.retention.repository(&name.0, dry_run.0).await, dry_run.0)
    }
}
