//! Read-through in-process caches in front of metadata ports, for the request hot path (every
//! GET reads a repository definition and a cached-object row). They are decorators: the same
//! port in, the same port out. Nothing is only here: a miss always goes to the shared database.
//!
//! How stale an entry can be: writes through this replica drop it at once. With a Redis cache
//! every write is also announced on a pub/sub channel ([`invalidation`]), so other replicas drop
//! it within the channel's delivery time (milliseconds); entries then live up to `SHARED_TTL`
//! as a backstop, and are not used at all while the subscription is down. With the in-process
//! cache there is no channel, so entries live only `CATALOG_TTL` / `INDEX_TTL`: replicas sharing
//! a database without Redis see each other's changes within that time.
pub mod blobs;
pub mod catalog;
pub mod index;
pub mod invalidation;

use std::time::Duration;

use invalidation::Invalidations;

/// How long a repository definition is reused without a shared invalidation channel.
pub const CATALOG_TTL: Duration = Duration::from_secs(3);
/// How long a cached-object row is reused without a shared invalidation channel.
pub const INDEX_TTL: Duration = Duration::from_secs(1);
/// With the channel: the bound on an entry whose invalidation was lost in transit.
pub const SHARED_TTL: Duration = Duration::from_secs(30);

fn catalog_ttl(invalidations: &Invalidations) -> Duration {
    if invalidations.is_shared() {
        SHARED_TTL
    } else {
        CATALOG_TTL
    }
}

fn index_ttl(invalidations: &Invalidations) -> Duration {
    if invalidations.is_shared() {
        SHARED_TTL
    } else {
        INDEX_TTL
    }
}
