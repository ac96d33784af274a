//! `/ui/health`: liveness and the readiness of each backend (database, blob store, cache).
use askama::Template;
use poem::http::StatusCode;
use poem::web::Data;
use poem::{Request, Response, handler};
use std::sync::Arc;

use super::{Layout, Viewer, render};
use crate::adapters::http::AppState;
use crate::app::health::BackendStatus;

#[derive(Template)]
#[template(path = "ui/health.html")]
struct HealthPage {
    layout: Layout,
    ready: bool,
    backends: Vec<BackendStatus>,
}

/// Readiness is public in the API too (load balancers probe it), so anyone may see this page.
#[handler]
pub(super) async fn index(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let viewer = match Viewer::of(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let backends = state.health.readiness().await;
    let page = HealthPage {
        layout: viewer.layout(state, "Health", "health"),
        ready: backends.iter().all(|b| b.ok),
        backends,
    };
    render(StatusCode::OK, &page)
}
