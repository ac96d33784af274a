//! `GET /api/v2/stats` and `GET /api/v2/repositories/{name}/stats`.
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::sync::Arc;

use super::AppState;
use super::admin::{ApiError, ApiTags, Denied, api_error, denied, reader, require, unavailable};
use crate::app::stats::RepositoryStats;
use crate::domain::error::RepositoryError;
use crate::domain::token::Scope;

/// What a repository holds (same on every replica) and how its cache has been used (this
/// replica, since it started).
#[derive(Object, Debug)]
#[oai(example)]
pub struct StatsView {
    /// Cached objects of a remote, files of a local repository; 0 for virtual ones.
    pub objects: u64,
    /// Bytes those objects name (a blob shared by two paths counts twice).
    pub bytes: u64,
    /// Bytes actually stored: each distinct content once (per repository however many of its
    /// paths name it; in the total, however many repositories hold it).
    pub stored_bytes: u64,
    pub hits: u64,
    pub misses: u64,
    pub stale_served: u64,
    pub upstream_errors: u64,
    /// Bytes fetched from upstreams.
    pub fetched_bytes: u64,
}

impl From<&RepositoryStats> for StatsView {
    fn from(s: &RepositoryStats) -> Self {
        StatsView {
            objects: s.usage.objects,
            bytes: s.usage.bytes,
            stored_bytes: s.stored_bytes,
            hits: s.counts.hits,
            misses: s.counts.misses,
            stale_served: s.counts.stale_served,
            upstream_errors: s.counts.upstream_errors,
            fetched_bytes: s.counts.fetched_bytes,
        }
    }
}

#[derive(Object, Debug)]
pub struct NamedStatsView {
    pub name: String,
    pub stats: StatsView,
}

#[derive(Object, Debug)]
pub struct StatsSummaryView {
    /// The sum over the repositories listed; its `stored_bytes` counts a content held by
    /// several of them once.
    pub total: StatsView,
    /// Every repository the caller may read, by name.
    pub repositories: Vec<NamedStatsView>,
    /// Where the hit/miss counters come from: `replica` (this process since it started).
    pub counters_scope: String,
}

#[derive(ApiResponse)]
enum SummaryResponse {
    #[oai(status = 200)]
    Ok(Json<StatsSummaryView>),
    /// No token, or an invalid one, where anonymous reads are off.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

#[derive(ApiResponse)]
enum RepositoryStatsResponse {
    #[oai(status = 200)]
    Ok(Json<StatsView>),
    /// No token, or an invalid one, where anonymous reads are off.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The token may not read this repository.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// No such repository.
    #[oai(status = 404)]
    NotFound(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

pub struct StatsApi;

#[OpenApi(prefix_path = "/api/v2")]
impl StatsApi {
    /// Statistics of every readable repository, and their total
    #[oai(
        path = "/stats",
        method = "get",
        operation_id = "getStats",
        tag = "ApiTags::Repositories"
    )]
    async fn summary(&self, req: &Request, Data(state): Data<&Arc<AppState>>) -> SummaryResponse {
        use SummaryResponse as R;
        let principal = match reader(state, req).await {
            Ok(p) => p,
            Err(d) => return denied!(R, d),
        };
        let auth = &state.auth;
        let visible = |name: &str| auth.authorize(&principal, Scope::Read, Some(name)).is_ok();
        match state.stats.all(&visible).await {
            Ok((total, each)) => R::Ok(Json(StatsSummaryView {
                total: (&total).into(),
                repositories: each
                    .iter()
                    .map(|(name, s)| NamedStatsView {
                        name: name.clone(),
                        stats: s.into(),
                    })
                    .collect(),
                counters_scope: "replica".into(),
            })),
            Err(e) => R::Unavailable(unavailable(&e.to_string())),
        }
    }

    /// Statistics of one repository
    #[oai(
        path = "/repositories/:name/stats",
        method = "get",
        operation_id = "getRepositoryStats",
        tag = "ApiTags::Repositories"
    )]
    async fn repository(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        name: Path<String>,
    ) -> RepositoryStatsResponse {
        use RepositoryStatsResponse as R;
        if let Err(d) = require(state, req, Scope::Read, Some(&name.0)).await {
            return denied!(R, d);
        }
        match state.stats.repository(&name.0).await {
            Ok(stats) => R::Ok(Json((&stats).into())),
            Err(RepositoryError::NotFound(n)) => R::NotFound(api_error(
                "REPOSITORY_NOT_FOUND",
                format!("repository '{n}' not found"),
                None,
            )),
            Err(e) => R::Unavailable(unavailable(&e.to_string())),
        }
    }
}
