use async_trait::async_trait;
use futures::stream::BoxStream;
use std::time::Duration;

use super::PortError;

/// A held lock. Only the holder of `owner` can release it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub key: String,
    pub owner: String,
}

/// Short-lived shared keys: freshness marks, locks, counters and pub/sub (DESIGN §4).
///
/// Contract:
/// - `mark_fresh(k, ttl)` makes `is_fresh(k)` true until `ttl` passes or `forget(k)`.
/// - `try_lock(k, ttl)` returns a lease when nobody holds `k` (or the holder's ttl passed), else
///   `None`; `release` frees it only if the lease's owner still holds it and says whether it did.
/// - `increment(k, ttl)` adds one and returns the new value; the counter expires `ttl` after it
///   was created; `counter` reads it (0 when absent); `forget` also resets counters.
/// - `publish(channel, msg)` reaches every current `subscribe(channel)` stream on every replica
///   sharing the backend; messages published before subscribing are not replayed.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait TtlCache: Send + Sync {
    async fn mark_fresh(&self, key: &str, ttl: Duration) -> Result<(), PortError>;
    async fn is_fresh(&self, key: &str) -> Result<bool, PortError>;
    async fn forget(&self, key: &str) -> Result<(), PortError>;
    async fn try_lock(&self, key: &str, ttl: Duration) -> Result<Option<Lease>, PortError>;
    async fn release(&self, lease: &Lease) -> Result<bool, PortError>;
    async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, PortError>;
    async fn counter(&self, key: &str) -> Result<i64, PortError>;
    async fn publish(&self, channel: &str, message: &str) -> Result<(), PortError>;
    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, String>, PortError>;
    /// Readiness: the backend answers.
    async fn check(&self) -> Result<(), PortError>;
}
