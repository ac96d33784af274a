//! Listening before the backends are open. `serve` binds its socket first and answers through a
//! [`StartupGate`]: liveness (`/api/v2/health`) at once, readiness 503 `starting`, and every
//! other request waits (bounded) for the app to be ready. A process supervisor thus sees the
//! process alive within milliseconds of exec, while migrations, the blob store and the cache
//! are still being opened, and a load balancer keeps traffic away until readiness says so.
use poem::endpoint::BoxEndpoint;
use poem::http::StatusCode;
use poem::{Endpoint, EndpointExt, IntoResponse, Request, Response};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use super::errors::HttpError;

/// How long a request that arrived during start-up waits for the app before a 503.
pub const STARTUP_WAIT: Duration = Duration::from_secs(60);

type App = Arc<BoxEndpoint<'static, Response>>;

/// Where the app is put once the backends are open.
pub struct AppSlot(watch::Sender<Option<App>>);

impl AppSlot {
    /// Makes the app answer every request from now on, including those waiting.
    pub fn fill(&self, app: impl Endpoint + 'static) {
        let app: App = Arc::new(app.map_to_response().boxed());
        self.0.send_replace(Some(app));
    }
}

/// The endpoint `serve` listens with: the app once it is in the slot, the start-up answers before.
pub struct StartupGate {
    app: watch::Receiver<Option<App>>,
    wait: Duration,
}

/// A gate and the slot that opens it.
pub fn gate() -> (StartupGate, AppSlot) {
    gate_with_wait(STARTUP_WAIT)
}

fn gate_with_wait(wait: Duration) -> (StartupGate, AppSlot) {
    let (tx, rx) = watch::channel(None);
    (StartupGate { app: rx, wait }, AppSlot(tx))
}

impl StartupGate {
    fn current(&self) -> Option<App> {
        self.app.borrow().clone()
    }

    async fn wait_for_app(&self) -> Option<App> {
        let mut app = self.app.clone();
        let waited = tokio::time::timeout(self.wait, app.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(ready)) => ready.clone(),
            _ => None,
        }
    }
}

impl Endpoint for StartupGate {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        if let Some(app) = self.current() {
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

/// The same body the management API's liveness operation answers.
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
    use poem::handler;

    #[handler]
    fn app_answer() -> &'static str {
        "app"
    }

    async fn status_and_body(gate: &StartupGate, path: &str) -> (StatusCode, String) {
        let req = Request::builder().uri(path.parse().unwrap()).finish();
        let resp = gate.call(req).await.unwrap();
        let status = resp.status();
        (status, resp.into_body().into_string().await.unwrap())
    }

    #[tokio::test]
    async fn before_the_app_liveness_answers_and_readiness_says_starting() {
        let (gate, _slot) = gate_with_wait(Duration::from_millis(10));
        let (status, body) = status_and_body(&gate, "/api/v2/health").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains(r#""status":"ok""#), "{body}");
        let (status, body) = status_and_body(&gate, "/api/v2/health/ready").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains(r#""status":"starting""#), "{body}");
    }

    #[tokio::test]
    async fn other_requests_get_503_starting_when_the_app_never_comes() {
        let (gate, _slot) = gate_with_wait(Duration::from_millis(10));
        let (status, body) = status_and_body(&gate, "/api/v1/remote/x/y").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("STARTING"), "{body}");
    }

    #[tokio::test]
    async fn a_waiting_request_is_answered_by_the_app_once_it_is_filled() {
        let (gate, slot) = gate_with_wait(Duration::from_secs(30));
        let gate = Arc::new(gate);
        let waiting = {
            let gate = gate.clone();
            tokio::spawn(async move { status_and_body(&gate, "/api/v1/local/x/y").await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        slot.fill(app_answer);
        let (status, body) = waiting.await.unwrap();
        assert_eq!((status, body.as_str()), (StatusCode::OK, "app"));
        let (_, body) = status_and_body(&gate, "/api/v2/health").await;
        assert_eq!(body, "app", "once filled, even liveness is the app's");
    }
}
