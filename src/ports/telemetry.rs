use std::time::Duration;

/// What the pull-through cache reports for `/metrics`, by repository. Infallible and cheap:
/// implementations only bump in-memory counters.
#[cfg_attr(test, mockall::automock)]
pub trait ProxyTelemetry: Send + Sync {
    fn hit(&self, repo: &str);
    fn miss(&self, repo: &str);
    fn stale_served(&self, repo: &str);
    fn upstream_error(&self, repo: &str);
    fn fetched_bytes(&self, repo: &str, bytes: u64);
    fn upstream_latency(&self, repo: &str, elapsed: Duration);
}
