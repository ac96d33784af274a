//! `/api/v2/repositories/{name}/objects` (browse, evict) and `/cache` (flush a remote).
use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::sync::Arc;

use super::AppState;
use super::admin::{ApiError, ApiTags, Denied, api_error, require, unavailable};
use crate::app::objects::{FlushScope, ObjectInfo};
use crate::domain::cursor;
use crate::domain::error::ObjectsError;
use crate::domain::token::Scope;
use crate::ports::PageRequest;

/// A hosted file or a cached copy.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct ObjectView {
    pub path: String,
    pub size: u64,
    /// `sha256:<hex>`
    pub digest: String,
    /// `mutable` or `immutable` (cached copies only).
    pub class: Option<String>,
    /// Upload time (hosted) or fetch time (cached).
    pub stored_at: DateTime<Utc>,
    /// Cached copies only (recorded at most once a minute).
    pub last_accessed: Option<DateTime<Utc>>,
}

impl From<ObjectInfo> for ObjectView {
    fn from(o: ObjectInfo) -> Self {
        ObjectView {
            path: o.path,
            size: o.size,
            digest: o.digest.to_string(),
            class: o.class.map(|c| c.as_str().to_string()),
            stored_at: o.stored_at,
            last_accessed: o.last_accessed,
        }
    }
}

/// How many cached copies a flush removed.
#[derive(Object, Debug)]
pub struct FlushView {
    pub removed: u64,
}

macro_rules! object_response {
    ($(#[$doc:meta])* $name:ident, $ok_doc:literal, $ok_status:literal, $ok:ty) => {
        #[derive(ApiResponse)]
        #[oai(bad_request_handler = "Self::bad_request")]
        $(#[$doc])*
        enum $name {
            #[doc = $ok_doc]
            #[oai(status = $ok_status)]
            Ok($ok, #[oai(header = "X-Next-Cursor")] Option<String>),
            /// A bad parameter (`field` names it) or an operation the repository kind lacks.
            #[oai(status = 400)]
            BadRequest(Json<ApiError>),
            /// No token, or an invalid one.
            #[oai(status = 401)]
            Unauthorized(Json<ApiError>),
            /// The token lacks the needed scope for this repository.
            #[oai(status = 403)]
            Forbidden(Json<ApiError>),
            /// No such repository or object.
            #[oai(status = 404)]
            NotFound(Json<ApiError>),
            /// A backend is unavailable.
            #[oai(status = 503)]
            Unavailable(Json<ApiError>),
        }

        impl $name {
            /// A query parameter that does not parse, as JSON like every other error.
            fn bad_request(err: poem::Error) -> Self {
                $name::BadRequest(api_error("INVALID_PARAMETER", err.to_string(), None))
            }

            fn denied(d: Denied) -> Self {
                match d {
                    Denied::Unauthorized(e) => $name::Unauthorized(e),
                    Denied::Forbidden(e) => $name::Forbidden(e),
                    Denied::Unavailable(e) => $name::Unavailable(e),
                }
            }

            fn failed(e: ObjectsError) -> Self {
                let message = e.to_string();
                match e {
                    ObjectsError::RepositoryNotFound(_) => $name::NotFound(api_error("REPOSITORY_NOT_FOUND", message, None)),
                    ObjectsError::NotFound(_) => $name::NotFound(api_error("NOT_FOUND", message, None)),
                    ObjectsError::Unsupported(_) => $name::BadRequest(api_error("UNSUPPORTED", message, None)),
                    ObjectsError::Invalid(f) => $name::BadRequest(api_error("INVALID_FIELD", f.to_string(), Some(f.field))),
                    ObjectsError::Unavailable(cause) => $name::Unavailable(unavailable(&cause)),
                }
            }
        }
    };
}

object_response!(
    BrowseResponse,
    "A page of objects ordered by path; `X-Next-Cursor` when more follow.",
    200,
    Json<Vec<ObjectView>>
);
object_response!(
    EvictResponse,
    "Removed (a cached copy is fetched again on the next request).",
    200,
    Json<FlushView>
);
object_response!(FlushResponse, "Cached copies removed.", 200, Json<FlushView>);

pub struct ObjectsApi;

#[OpenApi(prefix_path = "/api/v2")]
impl ObjectsApi {
    /// Browse a repository's objects
    #[oai(
        path = "/repositories/:name/objects",
        method = "get",
        operation_id = "listObjects",
        tag = "ApiTags::Repositories"
    )]
    async fn list_objects(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        name: Path<String>,
        /// Only paths starting with this.
        prefix: Query<Option<String>>,
        /// The `X-Next-Cursor` of the previous page, as it was (any other value is a 400).
        cursor: Query<Option<String>>,
        /// Page size (default 100, at most 1000).
        limit: Query<Option<u64>>,
    ) -> BrowseResponse {
        if let Err(d) = require(state, req, Scope::Read, Some(&name.0)).await {
            return BrowseResponse::denied(d);
        }
        let prefix = prefix.0.unwrap_or_default();
        let listing = cursor::objects_listing(&name.0, &prefix);
        let after = match cursor.0.as_deref().map(|c| cursor::decode(&listing, c)).transpose() {
            Ok(after) => after,
            Err(e) => {
                return BrowseResponse::BadRequest(api_error("INVALID_PARAMETER", e.to_string(), Some("cursor")));
            }
        };
        let page = PageRequest {
            prefix,
            after,
            limit: limit.0.unwrap_or(100),
        };
        match state.objects.browse(&name.0, page).await {
            Ok((objects, next)) => BrowseResponse::Ok(
                Json(objects.into_iter().map(ObjectView::from).collect()),
                next.map(|last| cursor::encode(&listing, &last)),
            ),
            Err(e) => BrowseResponse::failed(e),
        }
    }

    /// Evict one object
    #[oai(
        path = "/repositories/:name/objects",
        method = "delete",
        operation_id = "evictObject",
        tag = "ApiTags::Repositories"
    )]
    async fn evict_object(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        name: Path<String>,
        /// The object's path, as listed.
        path: Query<String>,
    ) -> EvictResponse {
        if let Err(d) = require(state, req, Scope::Write, Some(&name.0)).await {
            return EvictResponse::denied(d);
        }
        match state.objects.evict(&name.0, &path.0).await {
            Ok(()) => {
                tracing::info!(repository = %name.0, path = %path.0, "object evicted");
                state.events.publish("evict", &name.0, Some(&path.0)).await;
                EvictResponse::Ok(Json(FlushView { removed: 1 }), None)
            }
            Err(e) => EvictResponse::failed(e),
        }
    }

    /// Flush a remote's cache
    #[oai(
        path = "/repositories/:name/cache",
        method = "delete",
        operation_id = "flushCache",
        tag = "ApiTags::Repositories"
    )]
    async fn flush_cache(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        name: Path<String>,
        /// `mutable` (indexes only, the default) or `all`.
        scope: Query<Option<String>>,
    ) -> FlushResponse {
        if let Err(d) = require(state, req, Scope::Write, Some(&name.0)).await {
            return FlushResponse::denied(d);
        }
        let scope = match scope.0.as_deref() {
            None | Some("mutable") => FlushScope::Mutable,
            Some("all") => FlushScope::All,
            Some(_) => {
                return FlushResponse::BadRequest(api_error("INVALID_FIELD", "scope is mutable or all", Some("scope")));
            }
        };
        match state.objects.flush(&name.0, scope).await {
            Ok(removed) => {
                tracing::info!(repository = %name.0, removed, "cache flushed");
                state.events.publish("flush", &name.0, None).await;
                FlushResponse::Ok(Json(FlushView { removed }), None)
            }
            Err(e) => FlushResponse::failed(e),
        }
    }
}
