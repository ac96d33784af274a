//! In-process `TtlCache` for the embedded single-replica mode (DESIGN §1): freshness marks, locks
//! and counters in one `moka` cache (one keyspace, like Redis), pub/sub on tokio broadcast channels.
//! Nothing here is shared between processes, so it is only correct with a single replica.
use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};
use moka::Expiry;
use moka::future::Cache;
use moka::ops::compute::{CompResult, Op};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::ports::{Lease, PortError, TtlCache};

/// How many undelivered messages a slow subscriber may fall behind before it skips some.
const CHANNEL_CAPACITY: usize = 1024;

#[derive(Clone, Debug)]
enum Value {
    Fresh,
    Lock { owner: String },
    Counter(i64),
}

/// A value with the instant it stops existing. The deadline is kept in the value (not only in
/// moka's timer wheel) so that every read can check it exactly: moka evicts lazily.
#[derive(Clone, Debug)]
struct Slot {
    value: Value,
    deadline: Instant,
}

impl Slot {
    fn new(value: Value, ttl: Duration) -> Self {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
        let now = Instant::now();
        let deadline = now.checked_add(ttl.min(CENTURY)).unwrap_or(now);
        Slot { value, deadline }
    }

    fn live(&self) -> bool {
        Instant::now() < self.deadline
    }
}

/// Each entry expires at its own deadline; an update (counter increment) keeps the deadline of
/// the value it writes, so counters expire `ttl` after creation, not after the last increment.
struct DeadlineExpiry;

impl Expiry<String, Slot> for DeadlineExpiry {
    fn expire_after_create(&self, _key: &String, value: &Slot, created_at: Instant) -> Option<Duration> {
        Some(value.deadline.saturating_duration_since(created_at))
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &Slot,
        updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.deadline.saturating_duration_since(updated_at))
    }
}

/// `TtlCache` held in this process's memory.
pub struct MemoryCache {
    entries: Cache<String, Slot>,
    channels: Mutex<HashMap<String, broadcast::Sender<String>>>,
}

impl MemoryCache {
    pub fn new() -> Self {
        MemoryCache {
            entries: Cache::builder().expire_after(DeadlineExpiry).build(),
            channels: Mutex::new(HashMap::new()),
        }
    }

    async fn live(&self, key: &str) -> Option<Slot> {
        self.entries.get(key).await.filter(Slot::live)
    }

    /// A poisoned map is still a consistent map (no invariant spans a panic), so keep using it.
    fn channels(&self) -> MutexGuard<'_, HashMap<String, broadcast::Sender<String>>> {
        self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new()
    }
}

fn wrong_type(key: &str) -> PortError {
    PortError::Backend(format!("key {key} holds a value that is not a counter"))
}

#[async_trait]
impl TtlCache for MemoryCache {
    async fn mark_fresh(&self, key: &str, ttl: Duration) -> Result<(), PortError> {
        self.entries.insert(key.to_owned(), Slot::new(Value::Fresh, ttl)).await;
        Ok(())
    }

    async fn is_fresh(&self, key: &str) -> Result<bool, PortError> {
        Ok(self.live(key).await.is_some())
    }

    async fn forget(&self, key: &str) -> Result<(), PortError> {
        self.entries.invalidate(key).await;
        Ok(())
    }

    async fn try_lock(&self, key: &str, ttl: Duration) -> Result<Option<Lease>, PortError> {
        let owner = Uuid::new_v4().to_string();
        let candidate = Slot::new(Value::Lock { owner: owner.clone() }, ttl);
        // `and_compute_with` serialises calls on one key, which makes check-and-set atomic.
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| async move {
                match current {
                    Some(held) if held.value().live() => Op::Nop,
                    _ => Op::Put(candidate),
                }
            })
            .await;
        Ok(match result {
            CompResult::Inserted(_) | CompResult::ReplacedWith(_) => Some(Lease {
                key: key.to_owned(),
                owner,
            }),
            CompResult::StillNone(_) | CompResult::Unchanged(_) | CompResult::Removed(_) => None,
        })
    }

    async fn release(&self, lease: &Lease) -> Result<bool, PortError> {
        let owner = lease.owner.clone();
        let result = self
            .entries
            .entry(lease.key.clone())
            .and_compute_with(|current| async move {
                match current {
                    Some(held)
                        if held.value().live()
                            && matches!(&held.value().value, Value::Lock { owner: o } if *o == owner) =>
                    {
                        Op::Remove
                    }
                    _ => Op::Nop,
                }
            })
            .await;
        Ok(matches!(result, CompResult::Removed(_)))
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, PortError> {
        let fresh_counter = Slot::new(Value::Counter(1), ttl);
        let result = self
            .entries
            .entry(key.to_owned())
            .and_compute_with(|current| async move {
                match current.map(|e| e.into_value()).filter(Slot::live) {
                    None => Op::Put(fresh_counter),
                    Some(Slot {
                        value: Value::Counter(n),
                        deadline,
                    }) => Op::Put(Slot {
                        value: Value::Counter(n.saturating_add(1)),
                        deadline,
                    }),
                    Some(_) => Op::Nop,
                }
            })
            .await;
        match result.into_entry().map(|e| e.into_value()) {
            Some(Slot {
                value: Value::Counter(n),
                ..
            }) => Ok(n),
            _ => Err(wrong_type(key)),
        }
    }

    async fn counter(&self, key: &str) -> Result<i64, PortError> {
        match self.live(key).await {
            None => Ok(0),
            Some(Slot {
                value: Value::Counter(n),
                ..
            }) => Ok(n),
            Some(_) => Err(wrong_type(key)),
        }
    }

    async fn publish(&self, channel: &str, message: &str) -> Result<(), PortError> {
        let mut channels = self.channels();
        if let Some(sender) = channels.get(channel) {
            // `send` fails only when every subscriber is gone: drop the channel then.
            if sender.send(message.to_owned()).is_err() {
                channels.remove(channel);
            }
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, String>, PortError> {
        let receiver = {
            let mut channels = self.channels();
            channels.retain(|_, sender| sender.receiver_count() > 0);
            channels
                .entry(channel.to_owned())
                .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
                .subscribe()
        };
        let messages = stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(message) => return Some((message, receiver)),
                    // Events are advisory (SSE); a slow reader skips what it missed.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Ok(messages.boxed())
    }

    async fn check(&self) -> Result<(), PortError> {
        Ok(())
    }
}
