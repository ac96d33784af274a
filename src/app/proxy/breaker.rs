//! Per-remote circuit breaker and negative cache, kept in the shared `TtlCache` so every
//! replica sees the same state. A cache outage only disables these optimisations.
use super::{Inner, Target};
use crate::domain::cache_policy::NEGATIVE_TTL;

const FAILURE_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

fn failures_key(repo: &str) -> String {
    format!("breaker:failures:{repo}")
}

fn open_key(repo: &str) -> String {
    format!("breaker:open:{repo}")
}

fn negative_key(target: &Target) -> String {
    format!("negative:{}:{}", target.repo, target.key)
}

impl Inner {
    pub(super) async fn breaker_open(&self, repo: &str) -> bool {
        self.cache.is_fresh(&open_key(repo)).await.unwrap_or(false)
    }

    /// A network failure (not an HTTP error status): after `breaker_threshold` in a row the
    /// breaker opens for `breaker_open_for`.
    pub(super) async fn record_network_failure(&self, repo: &str) {
        match self.cache.increment(&failures_key(repo), FAILURE_WINDOW).await {
            Ok(n) if n >= self.config.breaker_threshold => {
                tracing::warn!(repository = repo, failures = n, "upstream circuit breaker opened");
                let _ = self
                    .cache
                    .mark_fresh(&open_key(repo), self.config.breaker_open_for)
                    .await;
                let _ = self.cache.forget(&failures_key(repo)).await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "breaker counter unavailable"),
        }
    }

    pub(super) async fn record_success(&self, repo: &str) {
        let _ = self.cache.forget(&failures_key(repo)).await;
    }

    pub(super) async fn is_negative(&self, target: &Target) -> bool {
        self.cache.is_fresh(&negative_key(target)).await.unwrap_or(false)
    }

    pub(super) async fn remember_not_found(&self, target: &Target) {
        let _ = self.cache.mark_fresh(&negative_key(target), NEGATIVE_TTL).await;
    }
}
