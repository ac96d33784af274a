//! Prometheus metrics: requests by repository, method and status; bytes sent and received by
//! repository and status. Bytes sent are counted as chunks actually leave, not from headers.
use futures::{Stream, StreamExt};
use poem::web::Data;
use poem::{Endpoint, IntoResponse, Request, Response, handler};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use std::sync::Arc;

use super::AppState;
use crate::ports::ByteStream;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    repository: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByteLabels {
    repository: String,
    direction: &'static str,
    status: u16,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    bytes: Family<ByteLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("artifactapi");
        let requests = Family::<RequestLabels, Counter>::default();
        let bytes = Family::<ByteLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by repository, method and status",
            requests.clone(),
        );
        registry.register(
            "http_bytes",
            "Artifact bytes sent and received by repository and status",
            bytes.clone(),
        );
        Self {
            registry,
            requests,
            bytes,
        }
    }

    pub fn count_request(&self, repository: &str, method: &str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                repository: repository.to_string(),
                method: method.to_string(),
                status,
            })
            .inc();
    }

    pub fn count_received(&self, repository: &str, status: u16, bytes: u64) {
        self.bytes
            .get_or_create(&ByteLabels {
                repository: repository.to_string(),
                direction: "received",
                status,
            })
            .inc_by(bytes);
    }

    /// Wraps a response body so each chunk is counted as it is sent.
    pub fn count_sent(
        &self,
        repository: &str,
        status: u16,
        body: ByteStream,
    ) -> impl Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
        let counter = self
            .bytes
            .get_or_create(&ByteLabels {
                repository: repository.to_string(),
                direction: "sent",
                status,
            })
            .clone();
        body.inspect(move |chunk| {
            if let Ok(chunk) = chunk {
                counter.inc_by(chunk.len() as u64);
            }
        })
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            tracing::error!("metrics encoding failed");
        }
        out
    }
}

/// The repository named by a protocol path (`/api/v1/{kind}/{name}/...`), else "".
fn repository_of(path: &str) -> &str {
    path.strip_prefix("/api/v1/")
        .and_then(|rest| rest.split('/').nth(1))
        .filter(|name| crate::domain::repository::RepoName::new(name).is_ok())
        .unwrap_or("")
}

/// Middleware: counts every request once its status is known.
pub async fn count_requests<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
    let repository = repository_of(req.uri().path()).to_string();
    let method = req.method().as_str().to_string();
    let state = req.data::<Arc<AppState>>().cloned();
    let response = match next.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    if let Some(state) = state {
        state
            .metrics
            .count_request(&repository, &method, response.status().as_u16());
    }
    Ok(response)
}

#[handler]
pub fn render(Data(state): Data<&Arc<AppState>>) -> Response {
    Response::builder()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_label_comes_only_from_protocol_paths() {
        assert_eq!(repository_of("/api/v1/local/files/a/b"), "files");
        assert_eq!(repository_of("/api/v2/repositories"), "");
        assert_eq!(repository_of("/api/v1/local/BAD/x"), "");
    }

    #[tokio::test]
    async fn counts_requests_and_streamed_bytes() {
        let m = Metrics::new();
        m.count_request("files", "GET", 200);
        m.count_received("files", 201, 10);
        let body: ByteStream = Box::pin(futures::stream::iter(vec![
            Ok(bytes::Bytes::from_static(b"abc")),
            Ok(bytes::Bytes::from_static(b"de")),
        ]));
        let sent: Vec<_> = m.count_sent("files", 200, body).collect().await;
        assert_eq!(sent.len(), 2);
        let text = m.render();
        assert!(
            text.contains(r#"artifactapi_http_requests_total{repository="files",method="GET",status="200"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"artifactapi_http_bytes_total{repository="files",direction="sent",status="200"} 5"#),
            "{text}"
        );
        assert!(
            text.contains(r#"artifactapi_http_bytes_total{repository="files",direction="received",status="201"} 10"#),
            "{text}"
        );
    }
}
