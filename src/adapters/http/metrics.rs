//! Prometheus metrics: requests by repository, method and status; bytes sent and received by
//! repository and status. Bytes sent are counted as chunks actually leave, not from headers.
use futures::{Stream, StreamExt};
use poem::web::Data;
use poem::{Request, Response, handler};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;

use super::AppState;
use crate::ports::ByteStream;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    repository: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByteLabels {
    repository: String,
    direction: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RepoLabels {
    repository: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabels {
    repository: String,
    policy: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    bytes: Family<ByteLabels, Counter>,
    hits: Family<RepoLabels, Counter>,
    misses: Family<RepoLabels, Counter>,
    stale: Family<RepoLabels, Counter>,
    upstream_errors: Family<RepoLabels, Counter>,
    fetched: Family<RepoLabels, Counter>,
    latency: Family<RepoLabels, Histogram, fn() -> Histogram>,
    bypassed: Family<RepoLabels, Counter>,
    gc_runs: Counter,
    gc_blobs_deleted: Counter,
    gc_bytes_freed: Counter,
    retention_objects: Family<PolicyLabels, Counter>,
    retention_bytes: Family<PolicyLabels, Counter>,
}

impl crate::ports::RetentionTelemetry for Metrics {
    fn retention_removed(&self, repository: &str, policy: crate::domain::retention::Reason, objects: u64, bytes: u64) {
        let labels = PolicyLabels {
            repository: repository.to_string(),
            policy: policy.as_str(),
        };
        self.retention_objects.get_or_create(&labels).inc_by(objects);
        self.retention_bytes.get_or_create(&labels).inc_by(bytes);
    }
}

impl crate::ports::GcTelemetry for Metrics {
    fn gc_run(&self, blobs_deleted: u64, bytes_freed: u64) {
        self.gc_runs.inc();
        self.gc_blobs_deleted.inc_by(blobs_deleted);
        self.gc_bytes_freed.inc_by(bytes_freed);
    }
}

fn repo(repository: &str) -> RepoLabels {
    RepoLabels {
        repository: repository.to_string(),
    }
}

impl crate::ports::ProxyTelemetry for Metrics {
    fn hit(&self, repository: &str) {
        self.hits.get_or_create(&repo(repository)).inc();
    }

    fn miss(&self, repository: &str) {
        self.misses.get_or_create(&repo(repository)).inc();
    }

    fn stale_served(&self, repository: &str) {
        self.stale.get_or_create(&repo(repository)).inc();
    }

    fn upstream_error(&self, repository: &str) {
        self.upstream_errors.get_or_create(&repo(repository)).inc();
    }

    fn fetched_bytes(&self, repository: &str, bytes: u64) {
        self.fetched.get_or_create(&repo(repository)).inc_by(bytes);
    }

    fn counts(&self, repository: &str) -> crate::ports::ProxyCounts {
        let labels = repo(repository);
        let read = |family: &Family<RepoLabels, Counter>| family.get(&labels).map_or(0, |c| c.get());
        crate::ports::ProxyCounts {
            hits: read(&self.hits),
            misses: read(&self.misses),
            stale_served: read(&self.stale),
            upstream_errors: read(&self.upstream_errors),
            fetched_bytes: read(&self.fetched),
        }
    }

    fn lock_bypassed(&self, repository: &str) {
        self.bypassed.get_or_create(&repo(repository)).inc();
    }

    fn upstream_latency(&self, repository: &str, elapsed: std::time::Duration) {
        self.latency
            .get_or_create(&repo(repository))
            .observe(elapsed.as_secs_f64());
    }
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
        let hits = Family::<RepoLabels, Counter>::default();
        let misses = Family::<RepoLabels, Counter>::default();
        let stale = Family::<RepoLabels, Counter>::default();
        let upstream_errors = Family::<RepoLabels, Counter>::default();
        let fetched = Family::<RepoLabels, Counter>::default();
        let latency = Family::<RepoLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "cache_hits",
            "Remote requests served from a fresh cached copy",
            hits.clone(),
        );
        registry.register(
            "cache_misses",
            "Remote requests that needed the upstream",
            misses.clone(),
        );
        registry.register(
            "stale_serves",
            "Stale copies served because the upstream failed",
            stale.clone(),
        );
        registry.register(
            "upstream_errors",
            "Upstream failures (network, 5xx, unexpected status)",
            upstream_errors.clone(),
        );
        registry.register(
            "upstream_fetched_bytes",
            "Bytes fetched from upstreams and stored",
            fetched.clone(),
        );
        registry.register(
            "upstream_latency_seconds",
            "Time to the upstream's response head",
            latency.clone(),
        );
        let bypassed = Family::<RepoLabels, Counter>::default();
        registry.register(
            "single_flight_bypassed",
            "Misses fetched without the cross-replica lock because the TTL cache was down",
            bypassed.clone(),
        );
        let (gc_runs, gc_blobs_deleted, gc_bytes_freed) = (Counter::default(), Counter::default(), Counter::default());
        registry.register(
            "gc_runs",
            "Garbage collection runs completed (not dry runs)",
            gc_runs.clone(),
        );
        registry.register(
            "gc_blobs_deleted",
            "Blobs (and stray objects) garbage collection deleted",
            gc_blobs_deleted.clone(),
        );
        registry.register(
            "gc_bytes_freed",
            "Bytes garbage collection freed",
            gc_bytes_freed.clone(),
        );
        let (retention_objects, retention_bytes) = (Family::default(), Family::default());
        registry.register(
            "retention_removed_objects",
            "Cached copies, tags and manifests retention removed, by repository and policy",
            retention_objects.clone(),
        );
        registry.register(
            "retention_removed_bytes",
            "Bytes the rows retention removed named (freed once GC deletes contents nothing else uses)",
            retention_bytes.clone(),
        );
        Self {
            retention_objects,
            retention_bytes,
            gc_runs,
            gc_blobs_deleted,
            gc_bytes_freed,
            registry,
            requests,
            bytes,
            hits,
            misses,
            stale,
            upstream_errors,
            fetched,
            latency,
            bypassed,
        }
    }

    pub fn count_request(&self, repository: &str, method: &'static str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                repository: repository.to_string(),
                method,
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

/// The label of requests naming a repository that does not exist: one series for all of them,
/// so requests for made-up names cannot grow `/metrics` without bound. Not a valid repository
/// name, so it never collides with a real one.
pub const UNKNOWN_REPOSITORY: &str = "_unknown";

/// A request about to be counted: what the counter needs from it, taken before the handler
/// consumes it.
pub struct Counted {
    /// The repository a protocol path names ("" for other paths).
    named: String,
    method: &'static str,
}

impl Counted {
    pub fn start(req: &Request) -> Self {
        Self {
            named: repository_of(req.uri().path()).to_string(),
            method: method_label(req.method()),
        }
    }

    /// Counts the request once its status is known, labelled with the repository it names only
    /// when that repository exists: a success or redirect was answered by it; otherwise the hot
    /// catalog is asked (the handler just looked the name up, so it is in memory).
    pub async fn finish(self, state: &AppState, status: poem::http::StatusCode) {
        let answered_by_it = status.is_success() || status.is_redirection();
        let repository = if self.named.is_empty() || answered_by_it || state.repositories.get(&self.named).await.is_ok()
        {
            self.named.as_str()
        } else {
            UNKNOWN_REPOSITORY
        };
        state.metrics.count_request(repository, self.method, status.as_u16());
    }
}

/// The method label: the standard methods by name, anything else one `OTHER` series.
fn method_label(method: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
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

    #[test]
    fn method_labels_are_the_standard_methods_or_one_other_series() {
        use poem::http::Method;
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::DELETE), "DELETE");
        assert_eq!(method_label(&Method::from_bytes(b"MKCOL").unwrap()), "OTHER");
        assert_eq!(method_label(&Method::from_bytes(b"X-MADE-UP").unwrap()), "OTHER");
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
