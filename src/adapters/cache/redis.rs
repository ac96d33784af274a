//! `TtlCache` on Redis, shared by every replica (DESIGN §1 scale-out): the locks that give
//! single-flight fetches across replicas and the pub/sub behind `/api/v2/events` live here.
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Client, RedisError, Script};
use std::time::Duration;
use uuid::Uuid;

use crate::ports::{Lease, PortError, TtlCache};

/// Every key and channel lives under this prefix so the Redis can be shared with other software.
const PREFIX: &str = "artifactapi:";
/// Bounds every connection attempt and command, so a dead Redis fails requests instead of hanging them.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Deletes the lock only while the caller's owner token still holds it (a lock that expired and
/// was retaken by someone else must not be freed by the first holder).
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// INCR, then give the key its ttl only if it has none yet: the counter expires `ttl` after it
/// was created, not after its last increment. One script, so no crash can leave a counter immortal.
const INCREMENT: &str = r"
local n = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n";

/// `TtlCache` on a Redis server.
pub struct RedisCache {
    client: Client,
    commands: ConnectionManager,
    /// `host:port`, for error messages; never the URL (it may carry a password).
    addr: String,
    password: Option<String>,
    release: Script,
    increment: Script,
}

impl RedisCache {
    /// Connects and checks the server answers. `url` is `redis://[user:password@]host[:port][/db]`
    /// (or `rediss://`); it never appears in errors.
    pub async fn connect(url: &str) -> Result<Self, PortError> {
        let client = Client::open(url).map_err(|e| {
            PortError::Backend(format!(
                "invalid redis URL ({:?}); expected redis://[user:password@]host[:port][/db]",
                e.kind()
            ))
        })?;
        let info = client.get_connection_info();
        let addr = info.addr().to_string();
        let password = info.redis_settings().password().map(str::to_owned);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(2);
        let commands = client.get_connection_manager_with_config(config).await.map_err(|e| {
            let message = scrub(&e.to_string(), password.as_deref());
            PortError::Backend(format!("redis at {addr}: {message}"))
        })?;
        Ok(RedisCache {
            client,
            commands,
            addr,
            password,
            release: Script::new(RELEASE),
            increment: Script::new(INCREMENT),
        })
    }

    fn error(&self, e: RedisError) -> PortError {
        let message = scrub(&e.to_string(), self.password.as_deref());
        PortError::Backend(format!("redis at {}: {message}", self.addr))
    }

    /// A clone shares the multiplexed connection; cloning is how ConnectionManager is meant to be used.
    fn conn(&self) -> ConnectionManager {
        self.commands.clone()
    }
}

fn key(k: &str) -> String {
    format!("{PREFIX}{k}")
}

/// Redis rejects `PX 0`; a zero ttl means "expires at once", which 1 ms approximates.
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// Redis errors do not normally echo credentials, but an AUTH failure path could; make sure.
fn scrub(message: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if !p.is_empty() => message.replace(p, "***"),
        _ => message.to_owned(),
    }
}

#[async_trait]
impl TtlCache for RedisCache {
    async fn mark_fresh(&self, k: &str, ttl: Duration) -> Result<(), PortError> {
        redis::cmd("SET")
            .arg(key(k))
            .arg(1)
            .arg("PX")
            .arg(millis(ttl))
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(|e| self.error(e))
    }

    async fn is_fresh(&self, k: &str) -> Result<bool, PortError> {
        self.conn().exists(key(k)).await.map_err(|e| self.error(e))
    }

    async fn forget(&self, k: &str) -> Result<(), PortError> {
        self.conn().del::<_, ()>(key(k)).await.map_err(|e| self.error(e))
    }

    async fn try_lock(&self, k: &str, ttl: Duration) -> Result<Option<Lease>, PortError> {
        let owner = Uuid::new_v4().to_string();
        let set: Option<String> = redis::cmd("SET")
            .arg(key(k))
            .arg(&owner)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await
            .map_err(|e| self.error(e))?;
        Ok(set.map(|_| Lease {
            key: k.to_owned(),
            owner,
        }))
    }

    async fn release(&self, lease: &Lease) -> Result<bool, PortError> {
        let deleted: i64 = self
            .release
            .key(key(&lease.key))
            .arg(&lease.owner)
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.error(e))?;
        Ok(deleted == 1)
    }

    async fn increment(&self, k: &str, ttl: Duration) -> Result<i64, PortError> {
        self.increment
            .key(key(k))
            .arg(millis(ttl))
            .invoke_async(&mut self.conn())
            .await
            .map_err(|e| self.error(e))
    }

    async fn counter(&self, k: &str) -> Result<i64, PortError> {
        let value: Option<i64> = self.conn().get(key(k)).await.map_err(|e| self.error(e))?;
        Ok(value.unwrap_or(0))
    }

    async fn publish(&self, channel: &str, message: &str) -> Result<(), PortError> {
        self.conn()
            .publish::<_, _, ()>(key(channel), message)
            .await
            .map_err(|e| self.error(e))
    }

    /// Opens a dedicated connection per subscriber (Redis puts a subscribed connection in a
    /// special mode). Returns only after SUBSCRIBE is acknowledged, so nothing published after
    /// this returns is missed. The stream ends if the connection drops.
    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, String>, PortError> {
        let mut pubsub = tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(|_| PortError::Backend(format!("redis at {}: connection timed out", self.addr)))?
            .map_err(|e| self.error(e))?;
        tokio::time::timeout(RESPONSE_TIMEOUT, pubsub.subscribe(key(channel)))
            .await
            .map_err(|_| PortError::Backend(format!("redis at {}: SUBSCRIBE timed out", self.addr)))?
            .map_err(|e| self.error(e))?;
        let messages = pubsub.into_on_message().filter_map(|msg| async move {
            // Payloads we publish are UTF-8; anything else was not written by us and is skipped.
            msg.get_payload::<String>().ok()
        });
        Ok(messages.boxed())
    }

    async fn check(&self) -> Result<(), PortError> {
        redis::cmd("PING")
            .query_async::<()>(&mut self.conn())
            .await
            .map_err(|e| self.error(e))
    }
}
