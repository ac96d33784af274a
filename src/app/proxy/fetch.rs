//! The single-flight miss path: one fetch per `(repo, path)` across replicas, streamed to its
//! client while it is stored; everyone else waits for its outcome on a pub/sub channel.
use base64::Engine;
use futures::StreamExt;
use futures::stream::BoxStream;
use std::sync::Arc;

use super::{Inner, ProxyRead, Target, unavailable, upstream_failure};
use crate::app::cas::{IngestError, IngestOptions};
use crate::domain::cache_policy;
use crate::domain::error::ProxyError;
use crate::domain::formats::{IndexContext, MAX_INDEX_BYTES};
use crate::ports::{ByteStream, CachedObject, Lease, Method, PortError, UpstreamResponse};
use bytes::Bytes;

/// Chunks buffered between the fetch task and the fetcher's client.
const FORWARD_CHUNKS: usize = 8;

const DONE_OK: &str = "ok";
const DONE_NOT_FOUND: &str = "not_found";
const DONE_FAILED: &str = "failed";
/// The body did not match the digest its index promised: nothing was stored.
const DONE_MISMATCH: &str = "mismatch";
/// The disk had no room for the copy.
const DONE_NO_SPACE: &str = "no_space";
/// The host the link names is in `upstream_deny_networks`.
const DONE_REFUSED: &str = "refused";

pub(super) enum Fetched {
    /// We are the fetcher and our client reads the body as it arrives.
    Streaming(ProxyRead),
    /// The copy is stored (by us, detached, or by another caller).
    Stored(CachedObject),
    /// The TTL cache is down: serve the expired copy we have, marked stale.
    Stale,
}

fn mismatch() -> ProxyError {
    ProxyError::UpstreamFailed(
        "the upstream content did not match the digest its index promised; nothing was stored".into(),
    )
}

fn lock_key(target: &Target) -> String {
    format!("fetch:{}:{}", target.repo, target.key)
}

fn done_channel(target: &Target) -> String {
    format!("fetched:{}:{}", target.repo, target.key)
}

/// What a fetch this process ran told its own caller: `Ok` once the copy is recorded.
type Stored = Result<(), ProxyError>;

/// A fetch just started: our client's stream, or the task storing the copy.
enum Started {
    Streaming(ProxyRead),
    Storing(tokio::task::JoinHandle<Stored>),
}

impl Inner {
    /// Fetches `target` or waits for whoever is fetching it. `detached`: the caller wants the
    /// stored copy (a range, or HEAD over a stale copy), so the body is not streamed to it.
    /// `have_copy`: an expired copy exists, which is served when the TTL cache is down (no
    /// single flight is possible then, and revalidating without it would stampede the upstream).
    pub(super) async fn fetch_or_wait(
        self: Arc<Self>,
        target: &Target,
        detached: bool,
        have_copy: bool,
    ) -> Result<Fetched, ProxyError> {
        // Subscribe before taking the lock, so an outcome published in between is not missed.
        let locked = match self.cache.subscribe(&done_channel(target)).await {
            Ok(done) => self
                .cache
                .try_lock(&lock_key(target), self.config.lock_ttl)
                .await
                .map(|lease| (done, lease)),
            Err(e) => Err(e),
        };
        let (done, lease) = match locked {
            Ok(locked) => locked,
            Err(e) => return self.without_lock(target, detached, have_copy, &e).await,
        };
        match lease {
            Some(lease) => {
                if let Some(object) = self.fresh_copy(target).await? {
                    self.finish(target, Some(&lease), DONE_OK).await;
                    return Ok(Fetched::Stored(object));
                }
                self.run_fetch(target, Some(lease), detached).await
            }
            None => match self.fresh_copy(target).await? {
                Some(object) => Ok(Fetched::Stored(object)),
                None => self.wait_for_fetch(target, done).await,
            },
        }
    }

    /// The TTL cache (lock and pub/sub) is down: serve the stored copy when there is one, else
    /// fetch anyway, without the cross-replica lock (other replicas may fetch the same path).
    async fn without_lock(
        self: Arc<Self>,
        target: &Target,
        detached: bool,
        have_copy: bool,
        cause: &PortError,
    ) -> Result<Fetched, ProxyError> {
        let (repository, path) = (&target.repo, &target.path);
        if have_copy {
            tracing::warn!(%repository, %path, error = %cause, "TTL cache unavailable: serving the stored copy without revalidating it");
            return Ok(Fetched::Stale);
        }
        tracing::warn!(%repository, %path, error = %cause, "TTL cache unavailable: fetching without the cross-replica lock");
        self.telemetry.lock_bypassed(repository);
        self.run_fetch(target, None, detached).await
    }

    /// Starts the fetch: our client streams it, or (detached) waits until it is stored.
    async fn run_fetch(
        self: Arc<Self>,
        target: &Target,
        lease: Option<Lease>,
        detached: bool,
    ) -> Result<Fetched, ProxyError> {
        match self.clone().start_fetch(target, lease, !detached).await? {
            Started::Streaming(read) => Ok(Fetched::Streaming(read)),
            Started::Storing(task) => {
                task.await
                    .map_err(|e| ProxyError::Unavailable(format!("fetch task: {e}")))??;
                // Just fetched for us: serve it even if its TTL is zero.
                match self.index.get(&target.repo, &target.key).await.map_err(unavailable)? {
                    Some(object) => Ok(Fetched::Stored(object)),
                    None => Err(ProxyError::UpstreamFailed("the fetch stored nothing".into())),
                }
            }
        }
    }

    async fn fresh_copy(&self, target: &Target) -> Result<Option<CachedObject>, ProxyError> {
        let found = self.index.get(&target.repo, &target.key).await.map_err(unavailable)?;
        let ttl = cache_policy::ttl(target.class, &target.settings);
        let now = self.clock.now();
        Ok(found.filter(|o| cache_policy::is_fresh(o.fetched_at, now, ttl)))
    }

    async fn wait_for_fetch(
        &self,
        target: &Target,
        mut done: BoxStream<'static, String>,
    ) -> Result<Fetched, ProxyError> {
        let outcome = tokio::time::timeout(self.config.wait_timeout, done.next()).await;
        match outcome.ok().flatten().as_deref() {
            Some(DONE_NOT_FOUND) => Err(ProxyError::NotFound(target.path.clone())),
            Some(DONE_FAILED) => Err(ProxyError::UpstreamFailed(
                "the concurrent fetch of this path failed".into(),
            )),
            Some(DONE_MISMATCH) => Err(mismatch()),
            Some(DONE_REFUSED) => Err(ProxyError::Forbidden(
                "the host this link names is in upstream_deny_networks".into(),
            )),
            Some(DONE_NO_SPACE) => Err(ProxyError::InsufficientStorage(
                "the concurrent fetch could not be stored: the disk is full".into(),
            )),
            // Just fetched for us: serve it even if its TTL is zero.
            Some(DONE_OK) => match self.index.get(&target.repo, &target.key).await.map_err(unavailable)? {
                Some(object) => Ok(Fetched::Stored(object)),
                None => Err(ProxyError::UpstreamFailed("the concurrent fetch stored nothing".into())),
            },
            // A timeout or a closed channel: whatever is fresh now decides.
            _ => match self.fresh_copy(target).await? {
                Some(object) => Ok(Fetched::Stored(object)),
                None => Err(ProxyError::UpstreamFailed(
                    "timed out waiting for a concurrent fetch".into(),
                )),
            },
        }
    }

    /// Sends the upstream request; on success spawns the storing task and, when `forward`,
    /// returns the body for our client. The lease (if any) is released by whoever finishes.
    async fn start_fetch(
        self: Arc<Self>,
        target: &Target,
        lease: Option<Lease>,
        forward: bool,
    ) -> Result<Started, ProxyError> {
        let started = std::time::Instant::now();
        let sent = self.send_upstream(target, Method::Get).await;
        self.telemetry.upstream_latency(&target.repo, started.elapsed());
        let response = match sent {
            Ok(r) => r,
            // Never attempted: not an upstream failure, and no reason to open the breaker.
            Err(PortError::Refused(reason)) => {
                self.finish(target, lease.as_ref(), DONE_REFUSED).await;
                return Err(ProxyError::Forbidden(reason));
            }
            Err(e) => {
                self.telemetry.upstream_error(&target.repo);
                self.record_network_failure(&target.repo).await;
                self.finish(target, lease.as_ref(), DONE_FAILED).await;
                return Err(upstream_failure(e));
            }
        };
        match response.status {
            200..=299 => {}
            404 | 410 => {
                self.record_success(&target.repo).await;
                self.remember_not_found(target).await;
                self.finish(target, lease.as_ref(), DONE_NOT_FOUND).await;
                return Err(ProxyError::NotFound(target.path.clone()));
            }
            status => {
                self.telemetry.upstream_error(&target.repo);
                self.finish(target, lease.as_ref(), DONE_FAILED).await;
                return Err(ProxyError::UpstreamFailed(format!("upstream answered HTTP {status}")));
            }
        }
        self.record_success(&target.repo).await;
        let size = response.header("content-length").and_then(|v| v.parse::<u64>().ok());
        let content_type = response.header("content-type").map(str::to_string);
        let (tx, rx) = tokio::sync::mpsc::channel(FORWARD_CHUNKS);
        let task_target = target.clone();
        let storing = tokio::spawn(self.store(task_target, lease, response, forward.then_some(tx)));
        if !forward {
            return Ok(Started::Storing(storing));
        }
        let body: ByteStream = Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        Ok(Started::Streaming(ProxyRead::Streaming {
            size,
            content_type,
            body,
        }))
    }

    /// Runs to completion even if the client that triggered it goes away; waiters hear the
    /// outcome on the done channel, the caller that started it from the returned result.
    async fn store(
        self: Arc<Self>,
        target: Target,
        lease: Option<Lease>,
        response: UpstreamResponse,
        forward: Option<crate::app::cas::Forward>,
    ) -> Stored {
        let etag = response.header("etag").map(str::to_string);
        let content_type = response.header("content-type").map(str::to_string);
        let options = IngestOptions {
            expected: target.location.expected.clone(),
            expected_sha512: target.location.expected_sha512.clone(),
            limit: None,
            content_type: content_type.clone(),
            size_hint: response.header("content-length").and_then(|v| v.parse().ok()),
        };
        // Our client's body ends only when every sender is gone: holding a clone until the
        // object is recorded and the lock released means a client that has read the whole body
        // finds it in the cache on its next request.
        let hold_open = forward.clone();
        let body = if target.format.rewrites(&target.path) {
            match self.rewritten(&target, content_type.as_deref(), response.body).await {
                Ok(body) => body,
                Err(reason) => {
                    tracing::warn!(repository = %target.repo, path = %target.path, reason, "index not cached");
                    self.finish(&target, lease.as_ref(), DONE_FAILED).await;
                    return Err(ProxyError::UpstreamFailed(format!(
                        "upstream index not usable: {reason}"
                    )));
                }
            }
        } else {
            response.body
        };
        let (published, stored) = match self.cas.ingest_forwarding(body, options, forward).await {
            Ok(stored) => {
                self.telemetry.fetched_bytes(&target.repo, stored.size);
                let now = self.clock.now();
                let object = CachedObject {
                    repo: target.repo.clone(),
                    path: target.key.clone(),
                    digest: stored.digest,
                    size: stored.size,
                    content_type,
                    class: target.class,
                    fetched_at: now,
                    upstream_etag: etag,
                    last_accessed: now,
                };
                match self.index.upsert(&object).await {
                    Ok(()) => {
                        self.record_alias(&target, &object).await;
                        tracing::info!(repository = %target.repo, path = %target.path, size = object.size, "cached from upstream");
                        self.events.publish("fetch", &target.repo, Some(&target.path)).await;
                        self.stored(&target);
                        (DONE_OK, Ok(()))
                    }
                    Err(e) => {
                        tracing::error!(repository = %target.repo, path = %target.path, error = %e, "could not record cached object");
                        (DONE_FAILED, Err(unavailable(e)))
                    }
                }
            }
            Err(e @ (IngestError::Mismatch { .. } | IngestError::IntegrityMismatch { .. })) => {
                tracing::warn!(repository = %target.repo, path = %target.path, error = %e, "upstream content does not match its promised digest; not stored");
                (DONE_MISMATCH, Err(mismatch()))
            }
            Err(IngestError::InsufficientStorage(reason)) => {
                tracing::warn!(repository = %target.repo, path = %target.path, reason, "upstream fetch not cached: disk full");
                (DONE_NO_SPACE, Err(ProxyError::InsufficientStorage(reason)))
            }
            Err(e) => {
                tracing::warn!(repository = %target.repo, path = %target.path, error = %e, "upstream fetch not stored");
                let failure = match e {
                    IngestError::Unavailable(m) => ProxyError::Unavailable(m),
                    other => ProxyError::UpstreamFailed(format!("upstream body not stored: {other}")),
                };
                (DONE_FAILED, Err(failure))
            }
        };
        self.finish(&target, lease.as_ref(), published).await;
        drop(hold_open);
        stored
    }

    /// Also files the body under the format's alias (a docker tag manifest under its digest).
    async fn record_alias(&self, target: &Target, object: &CachedObject) {
        let Some(alias) = target.format.alias(&target.path, &object.digest) else {
            return;
        };
        let aliased = CachedObject {
            path: alias,
            class: crate::domain::cache_policy::CacheClass::Immutable,
            ..object.clone()
        };
        if let Err(e) = self.index.upsert(&aliased).await {
            tracing::warn!(repository = %target.repo, path = %aliased.path, error = %e, "could not record alias");
        }
    }

    /// Releases the fetch lock and tells the waiters how it went (nothing to do for a fetch
    /// made without the lock).
    async fn finish(&self, target: &Target, lease: Option<&Lease>, outcome: &str) {
        let Some(lease) = lease else { return };
        if let Err(e) = self.cache.release(lease).await {
            tracing::warn!(error = %e, "could not release fetch lock; it expires on its own");
        }
        if let Err(e) = self.cache.publish(&done_channel(target), outcome).await {
            tracing::warn!(error = %e, "could not notify waiters; they fall back to their deadline");
        }
    }

    /// HEAD of an uncached path: asks the upstream, caches nothing.
    pub(super) async fn upstream_head(&self, target: &Target) -> Result<ProxyRead, ProxyError> {
        let response = self
            .send_upstream(target, Method::Head)
            .await
            .map_err(upstream_failure)?;
        match response.status {
            200..=299 => Ok(ProxyRead::UpstreamHead {
                size: response.header("content-length").and_then(|v| v.parse().ok()),
                content_type: response.header("content-type").map(str::to_string),
            }),
            404 | 410 => Err(ProxyError::NotFound(target.path.clone())),
            status => Err(ProxyError::UpstreamFailed(format!("upstream answered HTTP {status}"))),
        }
    }
}

impl Inner {
    /// Buffers an index (bounded by `MAX_INDEX_BYTES`) and rewrites its links.
    async fn rewritten(
        &self,
        target: &Target,
        content_type: Option<&str>,
        mut body: ByteStream,
    ) -> Result<ByteStream, String> {
        let mut buffer = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| format!("upstream body: {e}"))?;
            if buffer.len() + chunk.len() > MAX_INDEX_BYTES {
                return Err(format!("index larger than {MAX_INDEX_BYTES} bytes"));
            }
            buffer.extend_from_slice(&chunk);
        }
        let signer = self.signer().await.map_err(|e| e.to_string())?;
        let ctx = IndexContext {
            repo: &target.repo,
            base_url: &target.settings.base_url,
            page_url: &target.location.url,
            page_path: &target.path,
            public_base: target.public_base.as_deref(),
            signer,
        };
        let rewritten = target
            .format
            .rewrite_index(&buffer, content_type, &ctx)
            .map_err(|e| e.to_string())?;
        Ok(Box::pin(futures::stream::once(
            async move { Ok(Bytes::from(rewritten)) },
        )))
    }
}

/// `Basic <base64(user:password)>` of the remote's credentials, when it has them.
pub(super) fn basic_credentials(target: &Target) -> Option<String> {
    let (user, password) = (target.settings.username.as_ref()?, target.settings.password.as_ref()?);
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", password.expose()));
    Some(format!("Basic {token}"))
}

/// Whether `url` is outside the remote's own `base_url` origin (scheme, host and port), so its
/// host was named by upstream content and `upstream_deny_networks` applies.
pub(super) fn named_by_upstream(url: &str, base_url: &str) -> bool {
    let origin = |u: &str| {
        url::Url::parse(u).ok().map(|u| {
            (
                u.scheme().to_string(),
                u.host_str().map(str::to_string),
                u.port_or_known_default(),
            )
        })
    };
    match (origin(url), origin(base_url)) {
        (Some(a), Some(b)) => a != b,
        _ => true,
    }
}

/// Basic auth with the remote's credentials (only towards its own `base_url`, never to the
/// other hosts an index links to), and the client's `Accept` for negotiated indexes.
pub(super) fn request_headers(target: &Target) -> Vec<(String, String)> {
    let mut headers = Vec::new();
    let own_host = target
        .location
        .url
        .starts_with(&format!("{}/", target.settings.base_url.trim_end_matches('/')));
    if own_host
        && target.format.preemptive_basic()
        && let Some(basic) = basic_credentials(target)
    {
        headers.push(("authorization".to_string(), basic));
    }
    if let Some(accept) = &target.accept {
        headers.push(("accept".to_string(), accept.clone()));
    }
    headers
}
