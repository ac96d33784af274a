//! Read-through, short-lived in-process caches in front of metadata ports, for the request hot
//! path (every GET reads a repository definition and a cached-object row). They are decorators:
//! the same port in, the same port out. Entries live a few seconds, so a change made through
//! another replica is seen within that time; writes through this replica invalidate at once.
//! Nothing is only here: a miss always goes to the shared database.
pub mod blobs;
pub mod catalog;
pub mod index;

use std::time::Duration;

/// How long a repository definition is reused.
pub const CATALOG_TTL: Duration = Duration::from_secs(3);
/// How long a cached-object row is reused.
pub const INDEX_TTL: Duration = Duration::from_secs(1);
