//! `/ui/events`: a live tail of activity (fetches, uploads, evictions...) on every replica.
//! Browsers' `EventSource` cannot send headers, so the stream at `/ui/events/stream` is
//! authorised by the session cookie. Admin scope, as `/api/v2/events`.
use askama::Template;
use futures::StreamExt;
use poem::http::StatusCode;
use poem::web::Data;
use poem::web::sse::{Event, SSE};
use poem::{IntoResponse, Request, Response, handler};
use std::sync::Arc;
use std::time::Duration;

use super::{Layout, Viewer, render};
use crate::adapters::http::AppState;
use crate::domain::token::Scope;

/// The kinds the filter offers (what `EventBus` publishers send).
const KINDS: &[&str] = &[
    "fetch",
    "upload",
    "push",
    "delete",
    "evict",
    "flush",
    "repository_created",
    "repository_replaced",
    "repository_deleted",
];

#[derive(Template)]
#[template(path = "ui/events.html")]
struct EventsPage {
    layout: Layout,
    kinds: &'static [&'static str],
}

async fn admin(req: &Request, state: &AppState) -> Result<Viewer, Response> {
    let viewer = Viewer::of(req, state).await?;
    viewer.need(state, req, Scope::Admin, None)?;
    Ok(viewer)
}

#[handler]
pub(super) async fn index(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let viewer = match admin(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let page = EventsPage {
        layout: viewer.layout(state, "Events", "events"),
        kinds: KINDS,
    };
    render(StatusCode::OK, &page)
}

#[handler]
pub(super) async fn stream(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let viewer = match Viewer::of(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !viewer.may(state, Scope::Admin, None) {
        return super::plain(StatusCode::UNAUTHORIZED, "log in with an admin token to watch events");
    }
    match state.events.subscribe().await {
        Ok(events) => {
            let frames = events.filter_map(|e| async move { serde_json::to_string(&e).ok().map(Event::message) });
            SSE::new(frames).keep_alive(Duration::from_secs(15)).into_response()
        }
        Err(e) => viewer.unavailable(state, &e.to_string()),
    }
}
