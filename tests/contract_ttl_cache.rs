//! One contract suite for `TtlCache`, run against every adapter (DESIGN §9).
//! Expiry is measured by the backend itself (moka's clock, Redis's clock), so these tests sleep
//! briefly past short ttls; the ttls are kept small to bound the run time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns
mod support;

use artifactapi::adapters::cache::memory::MemoryCache;
use artifactapi::adapters::cache::redis::RedisCache;
use artifactapi::ports::{Lease, TtlCache};
use futures::StreamExt;
use futures::stream::BoxStream;
use std::sync::Arc;
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(150);
const LONG: Duration = Duration::from_secs(30);
/// How long a subscriber may take to see a published message before the test fails.
const DELIVERY: Duration = Duration::from_secs(5);

/// A key no other test (or parallel run against the same Redis) uses.
fn unique(what: &str) -> String {
    format!("test:{what}:{}", uuid::Uuid::new_v4())
}

async fn past_short_ttl() {
    tokio::time::sleep(SHORT + Duration::from_millis(100)).await;
}

async fn next_message(stream: &mut BoxStream<'static, String>) -> String {
    tokio::time::timeout(DELIVERY, stream.next())
        .await
        .expect("message delivered in time")
        .expect("stream still open")
}

/// Nothing else arrives within a short grace period.
async fn assert_quiet(stream: &mut BoxStream<'static, String>) {
    let extra = tokio::time::timeout(Duration::from_millis(200), stream.next()).await;
    assert!(extra.is_err(), "unexpected message: {extra:?}");
}

async fn freshness(cache: &dyn TtlCache) {
    let key = unique("fresh");
    assert!(!cache.is_fresh(&key).await.unwrap());
    cache.mark_fresh(&key, SHORT).await.unwrap();
    assert!(cache.is_fresh(&key).await.unwrap());
    past_short_ttl().await;
    assert!(!cache.is_fresh(&key).await.unwrap(), "freshness expires after its ttl");

    let key = unique("forget");
    cache.mark_fresh(&key, LONG).await.unwrap();
    cache.forget(&key).await.unwrap();
    assert!(!cache.is_fresh(&key).await.unwrap(), "forget clears freshness");
    cache.forget(&unique("never-set")).await.unwrap();

    let key = unique("refresh");
    cache.mark_fresh(&key, SHORT).await.unwrap();
    cache.mark_fresh(&key, LONG).await.unwrap();
    past_short_ttl().await;
    assert!(cache.is_fresh(&key).await.unwrap(), "marking again replaces the ttl");
}

async fn locks(cache: Arc<dyn TtlCache>) {
    let key = unique("lock");
    let attempts = (0..20).map(|_| {
        let cache = cache.clone();
        let key = key.clone();
        tokio::spawn(async move { cache.try_lock(&key, LONG).await.unwrap() })
    });
    let leases: Vec<Lease> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .collect();
    assert_eq!(leases.len(), 1, "exactly one of 20 concurrent try_lock wins");
    let lease = &leases[0];
    assert_eq!(lease.key, key);

    let impostor = Lease {
        key: key.clone(),
        owner: "someone-else".into(),
    };
    assert!(!cache.release(&impostor).await.unwrap(), "a non-owner cannot release");
    assert!(
        cache.try_lock(&key, LONG).await.unwrap().is_none(),
        "still held after a failed release"
    );
    assert!(cache.release(lease).await.unwrap());
    assert!(!cache.release(lease).await.unwrap(), "releasing twice reports false");
    let again = cache.try_lock(&key, LONG).await.unwrap().expect("free after release");
    assert_ne!(again.owner, lease.owner, "every lease has its own owner token");
    assert!(cache.release(&again).await.unwrap());

    let key = unique("expiring-lock");
    let first = cache.try_lock(&key, SHORT).await.unwrap().expect("free lock");
    past_short_ttl().await;
    let second = cache
        .try_lock(&key, LONG)
        .await
        .unwrap()
        .expect("an expired lock can be retaken");
    assert!(
        !cache.release(&first).await.unwrap(),
        "the expired holder cannot free the new holder's lock"
    );
    assert!(cache.try_lock(&key, LONG).await.unwrap().is_none());
    assert!(cache.release(&second).await.unwrap());
}

async fn counters(cache: &dyn TtlCache) {
    let key = unique("counter");
    assert_eq!(cache.counter(&key).await.unwrap(), 0, "absent counter reads 0");
    assert_eq!(cache.increment(&key, SHORT).await.unwrap(), 1);
    assert_eq!(cache.increment(&key, SHORT).await.unwrap(), 2);
    assert_eq!(
        cache.increment(&key, LONG).await.unwrap(),
        3,
        "a later ttl does not extend the counter"
    );
    assert_eq!(cache.counter(&key).await.unwrap(), 3);
    past_short_ttl().await;
    assert_eq!(
        cache.counter(&key).await.unwrap(),
        0,
        "the counter expires ttl after creation"
    );
    assert_eq!(
        cache.increment(&key, LONG).await.unwrap(),
        1,
        "starts over after expiry"
    );

    cache.forget(&key).await.unwrap();
    assert_eq!(cache.counter(&key).await.unwrap(), 0, "forget resets counters");

    let key = unique("concurrent-counter");
    let bumps = (0..20).map(|_| cache.increment(&key, LONG));
    let mut seen: Vec<i64> = futures::future::join_all(bumps)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (1..=20).collect::<Vec<i64>>(), "concurrent increments are atomic");
}

async fn pub_sub(cache: &dyn TtlCache) {
    let channel = unique("channel");
    cache.publish(&channel, "before anyone listens").await.unwrap();
    let mut first = cache.subscribe(&channel).await.unwrap();
    let mut second = cache.subscribe(&channel).await.unwrap();
    cache.publish(&channel, "one").await.unwrap();
    cache.publish(&channel, "two").await.unwrap();
    cache.publish(&unique("other-channel"), "elsewhere").await.unwrap();
    for stream in [&mut first, &mut second] {
        assert_eq!(next_message(stream).await, "one", "earlier messages are not replayed");
        assert_eq!(next_message(stream).await, "two");
        assert_quiet(stream).await;
    }

    drop(first);
    cache.publish(&channel, "three").await.unwrap();
    assert_eq!(
        next_message(&mut second).await,
        "three",
        "a dropped subscriber does not disturb others"
    );
}

async fn ttl_cache_contract(cache: Arc<dyn TtlCache>) {
    cache.check().await.unwrap();
    freshness(cache.as_ref()).await;
    locks(cache.clone()).await;
    counters(cache.as_ref()).await;
    pub_sub(cache.as_ref()).await;
}

async fn redis() -> Option<RedisCache> {
    let url = support::test_redis_url();
    support::backend_or_skip("Redis", RedisCache::connect(&url).await.ok())
}

#[tokio::test]
async fn memory_cache_honours_the_contract() {
    ttl_cache_contract(Arc::new(MemoryCache::new())).await;
}

#[tokio::test]
async fn redis_cache_honours_the_contract() {
    let Some(cache) = redis().await else { return };
    ttl_cache_contract(Arc::new(cache)).await;
}

/// Two `RedisCache`s on one server behave like two replicas: locks and events are shared.
#[tokio::test]
async fn redis_replicas_share_locks_and_events() {
    let (Some(a), Some(b)) = (redis().await, redis().await) else {
        return;
    };

    let key = unique("replica-lock");
    let lease = a.try_lock(&key, LONG).await.unwrap().expect("free lock");
    assert!(
        b.try_lock(&key, LONG).await.unwrap().is_none(),
        "the other replica sees the lock"
    );
    assert!(
        !b.release(&Lease {
            key: key.clone(),
            owner: "b".into()
        })
        .await
        .unwrap()
    );
    assert!(a.release(&lease).await.unwrap());
    let lease = b
        .try_lock(&key, LONG)
        .await
        .unwrap()
        .expect("free after the first replica released");
    assert!(b.release(&lease).await.unwrap());

    let key = unique("replica-fresh");
    a.mark_fresh(&key, LONG).await.unwrap();
    assert!(b.is_fresh(&key).await.unwrap());
    a.forget(&key).await.unwrap();
    assert!(!b.is_fresh(&key).await.unwrap());

    let key = unique("replica-counter");
    assert_eq!(a.increment(&key, LONG).await.unwrap(), 1);
    assert_eq!(b.increment(&key, LONG).await.unwrap(), 2);
    assert_eq!(a.counter(&key).await.unwrap(), 2);

    let channel = unique("replica-channel");
    let mut on_b = b.subscribe(&channel).await.unwrap();
    let mut on_a = a.subscribe(&channel).await.unwrap();
    a.publish(&channel, "from a").await.unwrap();
    assert_eq!(next_message(&mut on_b).await, "from a");
    assert_eq!(next_message(&mut on_a).await, "from a");
}

#[tokio::test]
async fn redis_connect_errors_do_not_leak_the_password() {
    // Port 1 on localhost refuses connections.
    let Err(error) = RedisCache::connect("redis://user:s3cret-pw@127.0.0.1:1").await else {
        panic!("connected to a closed port");
    };
    let message = error.to_string();
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(!message.contains("s3cret-pw"), "{message}");

    let Err(error) = RedisCache::connect("nonsense://s3cret-pw@").await else {
        panic!("parsed a bad URL")
    };
    assert!(!error.to_string().contains("s3cret-pw"), "{error}");
}
