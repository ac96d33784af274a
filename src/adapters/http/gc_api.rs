//! `POST /api/v2/gc`: one garbage collection run now (admin), or a dry run of it.
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::sync::Arc;

use super::AppState;
use super::admin::{ApiError, ApiTags, Denied, api_error, denied, require, unavailable};
use crate::app::gc::{GcError, GcReport};
use crate::domain::token::Scope;

/// What a run deleted (a dry run: would delete).
#[derive(Object, Debug)]
#[oai(example)]
pub struct GcReportView {
    pub dry_run: bool,
    /// `_blobs` links of local docker images that no manifest of the image names any more.
    pub links_deleted: u64,
    /// Blobs (metadata row and stored object) that nothing referenced after the grace period.
    pub blobs_deleted: u64,
    /// Stored objects without a metadata row (left by a killed run or write).
    pub stray_objects_deleted: u64,
    /// Bytes of both.
    pub bytes_freed: u64,
    /// Candidates a concurrent write held; the next run looks at them again.
    pub busy: u64,
}

impl From<GcReport> for GcReportView {
    fn from(r: GcReport) -> Self {
        GcReportView {
            dry_run: r.dry_run,
            links_deleted: r.links_deleted,
            blobs_deleted: r.blobs_deleted,
            stray_objects_deleted: r.stray_objects_deleted,
            bytes_freed: r.bytes_freed,
            busy: r.busy,
        }
    }
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "gc_bad_request")]
enum GcResponse {
    /// The run finished.
    #[oai(status = 200)]
    Ok(Json<GcReportView>),
    /// A query parameter that does not parse (`dry_run` takes `true` or `false`).
    #[oai(status = 400)]
    BadRequest(Json<ApiError>),
    /// No token, or an invalid one.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The token lacks the admin scope.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// A run is in progress on this or another replica (`GC_RUNNING`).
    #[oai(status = 409)]
    Conflict(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

fn gc_bad_request(err: poem::Error) -> GcResponse {
    GcResponse::BadRequest(api_error("INVALID_PARAMETER", err.to_string(), None))
}

pub struct GcApi;

#[OpenApi(prefix_path = "/api/v2")]
impl GcApi {
    /// Run garbage collection now
    ///
    /// Deletes blobs nothing references once the grace period (`gc_grace_period`) has passed
    /// since they were last stored or deduplicated onto. With `dry_run=true` nothing is deleted
    /// and the answer says what would be.
    #[oai(path = "/gc", method = "post", operation_id = "runGc", tag = "ApiTags::Repositories")]
    async fn run(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        #[oai(default)] dry_run: Query<bool>,
    ) -> GcResponse {
        use GcResponse as R;
        if let Err(d) = require(state, req, Scope::Admin, None).await {
            return denied!(R, d);
        }
        match state.gc.run(dry_run.0).await {
            Ok(report) => R::Ok(Json(report.into())),
            Err(e @ GcError::AlreadyRunning) => R::Conflict(api_error("GC_RUNNING", e.to_string(), None)),
            Err(GcError::Unavailable(cause)) => R::Unavailable(unavailable(&cause)),
        }
    }
}
