use chrono::{DateTime, Utc};

/// The time source, a port so that TTL and expiry logic is testable without sleeping.
#[cfg_attr(test, mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}
