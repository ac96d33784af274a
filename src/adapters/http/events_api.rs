//! `GET /api/v2/events`: Server-Sent Events of activity on every replica.
use futures::StreamExt;
use futures::stream::BoxStream;
use poem::Request;
use poem::web::Data;
use poem_openapi::payload::{EventStream, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::sync::Arc;
use std::time::Duration;

use super::AppState;
use super::admin::{ApiError, ApiTags, Denied, denied, require, unavailable};
use crate::app::events::Event;
use crate::domain::token::Scope;

/// One event.
#[derive(Object, Debug, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct EventView {
    /// `upload`, `delete`, `fetch`, `evict`, `flush`, `repository_created`, `repository_deleted`,
    /// `repository_replaced`; `gc` / `gc_dry_run` after each garbage collection run (repository
    /// empty: a run covers the instance).
    pub kind: String,
    pub repository: String,
    pub path: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
    /// `gc`: blobs deleted (a dry run: that would be).
    pub blobs_deleted: Option<u64>,
    /// `gc`: bytes freed (a dry run: that would be).
    pub bytes_freed: Option<u64>,
}

impl From<Event> for EventView {
    fn from(e: Event) -> Self {
        EventView {
            kind: e.kind,
            repository: e.repository,
            path: e.path,
            at: e.at,
            blobs_deleted: e.blobs_deleted,
            bytes_freed: e.bytes_freed,
        }
    }
}

#[derive(ApiResponse)]
enum EventsResponse {
    /// A stream of events (`text/event-stream`), each `data:` line one JSON event.
    #[oai(status = 200)]
    Stream(EventStream<BoxStream<'static, EventView>>),
    /// Reads need a token on this instance.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The token lacks the admin scope.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// The event channel is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

pub struct EventsApi;

#[OpenApi(prefix_path = "/api/v2")]
impl EventsApi {
    /// Stream activity events
    #[oai(
        path = "/events",
        method = "get",
        operation_id = "streamEvents",
        tag = "ApiTags::Health"
    )]
    async fn stream_events(&self, req: &Request, Data(state): Data<&Arc<AppState>>) -> EventsResponse {
        match require(state, req, Scope::Admin, None).await {
            Ok(_) => {}
            Err(d) => return denied!(EventsResponse, d),
        }
        match state.events.subscribe().await {
            Ok(events) => {
                let views = events.map(EventView::from).boxed();
                EventsResponse::Stream(EventStream::new(views).keep_alive(Duration::from_secs(15)))
            }
            Err(e) => EventsResponse::Unavailable(unavailable(&e.to_string())),
        }
    }
}
