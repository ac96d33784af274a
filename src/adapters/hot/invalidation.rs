//! Cross-replica invalidation of the hot caches over the `TtlCache` pub/sub channel.
//!
//! A write through any replica publishes what it changed; every replica's subscriber drops that
//! entry. Entries may then live for [`super::SHARED_TTL`] instead of a second or two, because
//! they are only trusted while the subscription is up: while it is down (Redis restarting, a
//! connection lost) lookups bypass the hot caches and go to the database, and when it comes
//! back everything is cleared, since messages may have been missed meanwhile.
//!
//! A reader that loaded a row from the database just before a write's invalidation arrived
//! must not put the old row back afterwards. Each key hashes to one of [`STRIPES`] epoch
//! counters; an invalidation bumps its stripe, and a reader inserts only if the stripe's epoch
//! is the one it saw before reading.
use futures::StreamExt;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ports::TtlCache;

/// The pub/sub channel the replicas share.
pub const CHANNEL: &str = "hot-invalidations";
const STRIPES: usize = 64;

/// What a write changed, as published: `<cache>\t<key>` with `*` for "everything".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalidation {
    pub cache: String,
    pub key: String,
}

impl Invalidation {
    fn encode(&self) -> String {
        format!("{}\t{}", self.cache, self.key)
    }

    fn decode(message: &str) -> Option<Self> {
        let (cache, key) = message.split_once('\t')?;
        Some(Self {
            cache: cache.to_string(),
            key: key.to_string(),
        })
    }
}

/// A hot cache that can drop entries when told.
pub trait Invalidate: Send + Sync {
    /// The name this cache's invalidations carry.
    fn name(&self) -> &'static str;
    /// Drops the entry for `key` (`*`: every entry).
    fn invalidate(&self, key: &str);
}

/// A moka cache keyed by strings, as the hot caches register it.
pub struct Entries<V> {
    name: &'static str,
    cache: moka::sync::Cache<String, V>,
}

impl<V> Entries<V> {
    pub fn new(name: &'static str, cache: moka::sync::Cache<String, V>) -> Self {
        Self { name, cache }
    }
}

impl<V: Clone + Send + Sync + 'static> Invalidate for Entries<V> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn invalidate(&self, key: &str) {
        match key {
            "*" => self.cache.invalidate_all(),
            one => self.cache.invalidate(one),
        }
    }
}

/// Shared by the hot caches of one process.
pub struct Invalidations {
    cache: Option<Arc<dyn TtlCache>>,
    subscribed: AtomicBool,
    epochs: [AtomicU64; STRIPES],
    caches: Mutex<Vec<Arc<dyn Invalidate>>>,
}

fn stripe(key: &str) -> usize {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() as usize) % STRIPES
}

impl Invalidations {
    /// Invalidations through `cache`'s pub/sub; call [`Invalidations::spawn_subscriber`].
    pub fn shared(cache: Arc<dyn TtlCache>) -> Arc<Self> {
        Arc::new(Self::new(Some(cache)))
    }

    /// No channel: only this process's own writes invalidate, so entries must stay short-lived.
    pub fn local() -> Arc<Self> {
        Arc::new(Self::new(None))
    }

    fn new(cache: Option<Arc<dyn TtlCache>>) -> Self {
        Self {
            cache,
            subscribed: AtomicBool::new(false),
            epochs: std::array::from_fn(|_| AtomicU64::new(0)),
            caches: Mutex::new(Vec::new()),
        }
    }

    /// Whether other replicas' writes reach this process (entries may live `SHARED_TTL`).
    pub fn is_shared(&self) -> bool {
        self.cache.is_some()
    }

    /// Whether cached entries may be used now: always for a local-only process, else only
    /// while subscribed.
    pub fn usable(&self) -> bool {
        self.cache.is_none() || self.subscribed.load(Ordering::Acquire)
    }

    pub fn register(&self, cache: Arc<dyn Invalidate>) {
        if let Ok(mut caches) = self.caches.lock() {
            caches.push(cache);
        }
    }

    /// The epoch of `key`'s stripe, read before loading it from the database.
    pub fn epoch(&self, key: &str) -> u64 {
        self.epochs[stripe(key)].load(Ordering::Acquire)
    }

    /// Whether a value loaded after [`Self::epoch`] returned `seen` may be cached.
    pub fn unchanged_since(&self, key: &str, seen: u64) -> bool {
        self.usable() && self.epoch(key) == seen
    }

    /// Drops the entry here and tells the other replicas. Best effort: if the message cannot
    /// be published, the backstop TTL bounds how long they keep the old entry.
    pub async fn announce(&self, cache: &'static str, key: &str) {
        let change = Invalidation {
            cache: cache.to_string(),
            key: key.to_string(),
        };
        self.apply(&change);
        if let Some(shared) = &self.cache
            && let Err(e) = shared.publish(CHANNEL, &change.encode()).await
        {
            tracing::warn!(error = %e, "hot cache invalidation not published");
        }
    }

    fn apply(&self, change: &Invalidation) {
        if change.key == "*" {
            self.bump_all();
        } else {
            self.epochs[stripe(&change.key)].fetch_add(1, Ordering::AcqRel);
        }
        let caches = match self.caches.lock() {
            Ok(caches) => caches.clone(),
            Err(_) => return,
        };
        for cache in caches.iter().filter(|c| c.name() == change.cache) {
            cache.invalidate(&change.key);
        }
    }

    fn bump_all(&self) {
        for epoch in &self.epochs {
            epoch.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn clear_everything(&self) {
        self.bump_all();
        let caches = match self.caches.lock() {
            Ok(caches) => caches.clone(),
            Err(_) => return,
        };
        for cache in caches {
            cache.invalidate("*");
        }
    }

    /// Keeps a subscription up for the life of the process, resubscribing after a failure.
    pub fn spawn_subscriber(self: &Arc<Self>) {
        let Some(shared) = self.cache.clone() else { return };
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                match shared.subscribe(CHANNEL).await {
                    Ok(mut messages) => {
                        // Whatever was published while we were not listening is unknown.
                        this.clear_everything();
                        this.subscribed.store(true, Ordering::Release);
                        while let Some(message) = messages.next().await {
                            if let Some(change) = Invalidation::decode(&message) {
                                this.apply(&change);
                            }
                        }
                        this.subscribed.store(false, Ordering::Release);
                        this.clear_everything();
                        tracing::warn!("hot cache invalidation channel closed; resubscribing");
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot subscribe to hot cache invalidations"),
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::cache::memory::MemoryCache;

    struct Recorder(Mutex<Vec<String>>);
    impl Invalidate for Recorder {
        fn name(&self) -> &'static str {
            "rec"
        }
        fn invalidate(&self, key: &str) {
            self.0.lock().unwrap().push(key.to_string());
        }
    }

    #[test]
    fn messages_round_trip() {
        let change = Invalidation {
            cache: "index".into(),
            key: "repo\u{1f}a/b".into(),
        };
        assert_eq!(Invalidation::decode(&change.encode()), Some(change));
        assert_eq!(Invalidation::decode("no tab"), None);
    }

    #[test]
    fn an_invalidation_between_epoch_and_insert_forbids_the_insert() {
        let inv = Invalidations::local();
        let seen = inv.epoch("k");
        assert!(inv.unchanged_since("k", seen));
        inv.apply(&Invalidation {
            cache: "rec".into(),
            key: "k".into(),
        });
        assert!(!inv.unchanged_since("k", seen));
        assert!(inv.unchanged_since("k", inv.epoch("k")));
    }

    #[tokio::test]
    async fn another_processs_announcement_reaches_the_registered_cache() {
        let channel: Arc<dyn TtlCache> = Arc::new(MemoryCache::new());
        let a = Invalidations::shared(channel.clone());
        let b = Invalidations::shared(channel);
        let recorder = Arc::new(Recorder(Mutex::new(vec![])));
        b.register(recorder.clone());
        assert!(!b.usable(), "not usable before subscribing");
        b.spawn_subscriber();
        for _ in 0..200 {
            if b.usable() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(b.usable());
        let seen = b.epoch("x");
        a.announce("rec", "x").await;
        for _ in 0..200 {
            if recorder.0.lock().unwrap().contains(&"x".to_string()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(recorder.0.lock().unwrap().contains(&"x".to_string()));
        assert!(!b.unchanged_since("x", seen));
    }
}
