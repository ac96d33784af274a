//! Listening before the backends are open. `serve` binds its socket first and answers through a
//! [`StartupGate`]: liveness (`/api/v2/health`) at once, readiness 503 `starting`, and every
//! other request waits (bounded) for the app to be ready. A process supervisor thus sees the
//! process alive within milliseconds of exec, while migrations, the blob store and the cache
//! are still being opened, and a load balancer keeps traffic away until readiness says so.
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;

use super::errors::HttpError;

pub const STARTUP_WAIT: Duration = Duration::from_secs(60);

/// Where `serve` puts the app once the backends are open.
pub struct AppSlot<E> {
    app: Arc<OnceLock<E>>,
    filled: watch::Sender<bool>,
}

impl<E> AppSlot<E> {
    pub fn fill(&self, app: E) {
        // Filled once: a second app is ignored.
        let _ = self.app.set(app);
        self.filled.send_replace(true);
    }
}

/// The endpoint the listener serves from the start: the app once it is there (a plain read of
/// a `OnceLock`, no lock and no boxing on the request path), liveness and "starting" readiness
/// before, and other early requests wait for the app.
pub struct StartupGate<E> {
    app: Arc<OnceLock<E>>,
    filled: watch::Receiver<bool>,
    wait: Duration,
}

pub fn gate<E>() -> (StartupGate<E>, AppSlot<E>) {
    gate_with_wait(STARTUP_WAIT)
}

fn gate_with_wait<E>(wait: Duration) -> (StartupGate<E>, AppSlot<E>) {
    let app = Arc::new(OnceLock::new());
    let (filled, seen) = watch::channel(false);
    (
        StartupGate {
            app: app.clone(),
            filled: seen,
            wait,
        },
        AppSlot { app, filled },
    )
}

impl<E> StartupGate<E> {
    async fn wait_for_app(&self) -> Option<&E> {
        let mut filled = self.filled.clone();
        let _ = tokio::time::timeout(self.wait, filled.wait_for(|filled| *filled)).await;
        self.app.get()
    }
}

impl<E: Endpoint<Output = Response>> Endpoint for StartupGate<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if let Some(app) = self.app.get() {
            return app.call(req).await;
        }
        match req.uri().path() {
            "/api/v2/health" => return Ok(liveness()),
            "/api/v2/health/ready" => return Ok(starting_readiness()),
            _ => {}
        }
        match self.wait_for_app().await {
            Some(app) => app.call(req).await,
            None => Ok(HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "STARTING",
                "the server is still opening its backends; try again shortly",
            )
            .into_response()),
        }
    }
}

fn liveness() -> Response {
    json(
        StatusCode::OK,
        serde_json::json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}),
    )
}

fn starting_readiness() -> Response {
    json(
        StatusCode::SERVICE_UNAVAILABLE,
        serde_json::json!({"status": "starting", "backends": []}),
    )
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::{EndpointExt, handler};

    #[handler]
    fn app_answer() -> &'static str {
        "app"
    }

    type App = poem::endpoint::BoxEndpoint<'static, Response>;

    fn app() -> App {
        app_answer.map_to_response().boxed()
    }

    async fn status_and_body(gate: &StartupGate<App>, path: &str) -> (StatusCode, String) {
        let req = Request::builder().uri(path.parse().unwrap()).finish();
        let resp = gate.call(req).await.unwrap();
        let status = resp.status();
        (status, resp.into_body().into_string().await.unwrap())
    }

    #[tokio::test]
    async fn before_the_app_liveness_answers_and_readiness_says_starting() {
        let (gate, _slot) = gate_with_wait::<App>(Duration::from_millis(10));
        let (status, body) = status_and_body(&gate, "/api/v2/health").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(r#""status":"ok""#), "{body}");
        let (status, body) = status_and_body(&gate, "/api/v2/health/ready").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains(r#""status":"starting""#), "{body}");
    }

    #[tokio::test]
    async fn other_requests_get_503_starting_when_the_app_never_comes() {
        let (gate, _slot) = gate_with_wait::<App>(Duration::from_millis(10));
        let (status, body) = status_and_body(&gate, "/api/v1/remote/x/y").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("STARTING"), "{body}");
    }

    #[tokio::test]
    async fn a_waiting_request_is_answered_by_the_app_once_it_is_filled() {
        let (gate, slot) = gate_with_wait::<App>(Duration::from_secs(30));
        let gate = Arc::new(gate);
        let waiting = {
            let gate = gate.clone();
            tokio::spawn(async move { status_and_body(&gate, "/api/v1/local/x/y").await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        slot.fill(app());
        let (status, body) = waiting.await.unwrap();
        assert_eq!((status, body.as_str()), (StatusCode::OK, "app"));
        let (_, body) = status_and_body(&gate, "/api/v2/health").await;
        assert_eq!(body, "app", "once filled, even liveness is the app's");
    }
}
