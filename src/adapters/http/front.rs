//! The front door every request passes once. Protocol requests (`/api/v1/...`, what package
//! clients send, cache hits above all) go straight to their handler; the rest go through the
//! router. Around both, inline rather than as stacked middlewares (each layer nests, and moves,
//! the whole request future once more): the disk check before writes, the request counter and
//! the optional access log.
use poem::http::Method;
use poem::{Endpoint, Request, Response};
use std::sync::Arc;

use super::{AppState, access_log, files, metrics};

/// The router's type, boxed: it is off the hot path, and boxing gives the front door (and so
/// the startup gate holding it) a type `serve` can name.
pub type Router = poem::endpoint::BoxEndpoint<'static, Response>;

pub struct FrontDoor {
    state: Arc<AppState>,
    router: Router,
}

impl FrontDoor {
    pub fn new(state: Arc<AppState>, router: Router) -> Self {
        Self { state, router }
    }
}

/// Whether a request may write: before one, a nearly full disk releases its reserve so the
/// write (a delete, say) finds the room SQLite needs. Uploads are refused by the content store.
fn writes(method: &Method) -> bool {
    matches!(*method, Method::PUT | Method::POST | Method::PATCH | Method::DELETE)
}

impl Endpoint for FrontDoor {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let state = &self.state;
        if writes(req.method()) {
            state.disk.check();
        }
        let log = state
            .access_log
            .as_ref()
            .map(|log| access_log::Pending::start(log, &req));
        let counted = metrics::Counted::start(&req);
        let response = if req.uri().path().starts_with("/api/v1/") {
            files::answer(req, state).await
        } else {
            match self.router.call(req).await {
                Ok(response) => response,
                Err(e) => e.into_response(),
            }
        };
        counted.finish(state, response.status()).await;
        if let Some(log) = log {
            log.finish(&response);
        }
        Ok(response)
    }
}
