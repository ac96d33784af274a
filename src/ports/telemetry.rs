use std::time::Duration;

/// This process's counters of one repository since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyCounts {
    pub hits: u64,
    pub misses: u64,
    pub stale_served: u64,
    pub upstream_errors: u64,
    pub fetched_bytes: u64,
}

/// What the pull-through cache reports for `/metrics`, by repository. Infallible and cheap:
/// implementations only bump in-memory counters (and read them back for `/api/v2/stats`).
#[cfg_attr(test, mockall::automock)]
pub trait ProxyTelemetry: Send + Sync {
    fn hit(&self, repo: &str);
    fn miss(&self, repo: &str);
    fn stale_served(&self, repo: &str);
    fn upstream_error(&self, repo: &str);
    fn fetched_bytes(&self, repo: &str, bytes: u64);
    fn upstream_latency(&self, repo: &str, elapsed: Duration);
    /// A miss fetched without the cross-replica single-flight lock (the TTL cache was down).
    fn lock_bypassed(&self, repo: &str);
    fn counts(&self, repo: &str) -> ProxyCounts;
}

/// What retention reports for `/metrics`: after each enforcement that removed something (not a
/// dry run), the objects and bytes one policy removed from one repository.
#[cfg_attr(test, mockall::automock)]
pub trait RetentionTelemetry: Send + Sync {
    fn retention_removed(&self, repository: &str, policy: crate::domain::retention::Reason, objects: u64, bytes: u64);
}

/// What garbage collection reports for `/metrics`: one call per completed (not dry) run.
#[cfg_attr(test, mockall::automock)]
pub trait GcTelemetry: Send + Sync {
    fn gc_run(&self, blobs_deleted: u64, bytes_freed: u64);
}
