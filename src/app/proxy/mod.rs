//! Remote repositories: a pull-through cache of one upstream (DESIGN §6). Fresh copies are
//! served from the blob store; a miss is fetched once across all replicas (a lock in the
//! `TtlCache`) while the fetcher's client receives the body as it is stored; other callers wait
//! for that fetch and serve the stored copy. Upstream failures fall back to a stale copy.
mod bearer;
mod breaker;
mod fetch;
pub mod last_access;
mod probe;

pub use probe::ProbeResult;

use std::sync::Arc;
use std::time::Duration;

use crate::app::cas::ContentStore;
use crate::app::hosted::ReadRequest;
use crate::domain::access::{self, Access, AccessRequest};
use crate::domain::cache_policy::{self, CacheClass};
use crate::domain::error::ProxyError;
use crate::domain::formats::links::{ExternalFile, LinkSigner};
use crate::domain::formats::{self, Format};
use crate::domain::path::ArtifactPath;
use crate::domain::range::{ByteSpan, RangeRequest, conditional_range, resolve_range};
use crate::domain::repository::{Kind, KindSettings, RemoteSettings};
use crate::ports::{
    ArtifactIndex, BlobStore, ByteStream, CachedObject, Clock, PortError, ProxyTelemetry, RepositoryCatalog,
    SigningKeys, TtlCache, Upstream,
};

/// Tuning of the single-flight fetch and the circuit breaker.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// How long a fetch lock is held at most (a fetch slower than this may be duplicated by
    /// another replica, never lost).
    pub lock_ttl: Duration,
    /// How long a caller waits for another caller's fetch of the same path.
    pub wait_timeout: Duration,
    /// Consecutive upstream network failures that open the breaker.
    pub breaker_threshold: i64,
    /// How long an open breaker skips the upstream.
    pub breaker_open_for: Duration,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            lock_ttl: Duration::from_secs(600),
            wait_timeout: Duration::from_secs(600),
            breaker_threshold: 5,
            breaker_open_for: Duration::from_secs(30),
        }
    }
}

/// Where a response body comes from; sent as `X-Artifact-Source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Cache,
    Remote,
}

pub enum ProxyRead {
    /// 304 for `If-None-Match`.
    NotModified(CachedObject),
    /// A stored copy; `stale` when served because the upstream failed (`X-Artifact-Stale`).
    Cached {
        object: CachedObject,
        span: Option<ByteSpan>,
        body: Option<ByteStream>,
        stale: bool,
    },
    /// The body straight from the upstream while it is being stored (the fetcher's client).
    Streaming {
        size: Option<u64>,
        content_type: Option<String>,
        body: ByteStream,
    },
    /// HEAD of an uncached path, answered by an upstream HEAD; nothing cached.
    UpstreamHead {
        size: Option<u64>,
        content_type: Option<String>,
    },
}

impl ProxyRead {
    pub fn source(&self) -> Source {
        match self {
            ProxyRead::NotModified(_) | ProxyRead::Cached { .. } => Source::Cache,
            ProxyRead::Streaming { .. } | ProxyRead::UpstreamHead { .. } => Source::Remote,
        }
    }
}

/// Everything a request needs about its remote and path.
#[derive(Clone)]
struct Target {
    repo: String,
    /// The repository path the client asked for.
    path: String,
    /// The cache key: the path, plus `#<variant>` for a negotiated representation (a client
    /// never sends a fragment, so keys cannot collide with real paths).
    key: String,
    settings: RemoteSettings,
    format: &'static dyn Format,
    class: CacheClass,
    /// Upstream URL and the digest the index promised, if any.
    location: ExternalFile,
    /// Forwarded upstream for negotiated representations.
    accept: Option<String>,
    /// This remote's URL as the client sees it (absolute index links).
    public_base: Option<String>,
}

/// A [`Target`] whose `location` is not worked out yet (empty), with the query it needs.
struct Lookup {
    target: Target,
    query: Option<String>,
}

/// Told the repository's name after a fetch stored a new copy in a remote that has a
/// `max_bytes` (retention enforces it without waiting for its next run).
pub type AfterFetch = Arc<dyn Fn(&str) + Send + Sync>;

/// Cheap to clone: the state is shared.
#[derive(Clone)]
pub struct RemoteService {
    inner: Arc<Inner>,
}

/// Shared with the background fetch tasks.
struct Inner {
    catalog: Arc<dyn RepositoryCatalog>,
    index: Arc<dyn ArtifactIndex>,
    blobs: Arc<dyn BlobStore>,
    cas: Arc<ContentStore>,
    cache: Arc<dyn TtlCache>,
    upstream: Arc<dyn Upstream>,
    clock: Arc<dyn Clock>,
    signing: Arc<dyn SigningKeys>,
    telemetry: Arc<dyn ProxyTelemetry>,
    events: Arc<crate::app::events::EventBus>,
    signer: tokio::sync::OnceCell<LinkSigner>,
    /// Upstream Bearer tokens by remote and image, with the instant they stop being used.
    bearer_tokens: tokio::sync::Mutex<std::collections::HashMap<String, (String, chrono::DateTime<chrono::Utc>)>>,
    config: ProxyConfig,
    access: Arc<last_access::AccessRecorder>,
    after_fetch: std::sync::OnceLock<AfterFetch>,
}

/// The name of the key that signs rewritten index links.
const LINK_KEY: &str = "remote-index-links";

fn unavailable(e: PortError) -> ProxyError {
    ProxyError::Unavailable(e.to_string())
}

/// An upstream that could not be asked, as the client hears it: a TLS failure apart, since it
/// is fixed elsewhere (trust, certificates) than a network or server failure.
fn upstream_failure(e: PortError) -> ProxyError {
    match e {
        PortError::Tls(reason) => ProxyError::UpstreamTls(reason),
        // A host in `upstream_deny_networks`: never attempted.
        PortError::Refused(reason) => ProxyError::Forbidden(reason),
        other => ProxyError::UpstreamFailed(other.to_string()),
    }
}

/// The ports a remote needs.
pub struct RemotePorts {
    pub catalog: Arc<dyn RepositoryCatalog>,
    pub index: Arc<dyn ArtifactIndex>,
    pub blobs: Arc<dyn BlobStore>,
    pub cas: Arc<ContentStore>,
    pub cache: Arc<dyn TtlCache>,
    pub upstream: Arc<dyn Upstream>,
    pub clock: Arc<dyn Clock>,
    pub signing: Arc<dyn SigningKeys>,
    pub telemetry: Arc<dyn ProxyTelemetry>,
    pub events: Arc<crate::app::events::EventBus>,
}

impl RemoteService {
    pub fn new(ports: RemotePorts, config: ProxyConfig) -> Self {
        let RemotePorts {
            catalog,
            index,
            blobs,
            cas,
            cache,
            upstream,
            clock,
            signing,
            telemetry,
            events,
        } = ports;
        let signer = tokio::sync::OnceCell::new();
        let access = Arc::new(last_access::AccessRecorder::new(index.clone(), clock.clone()));
        Self {
            inner: Arc::new(Inner {
                catalog,
                index,
                blobs,
                cas,
                cache,
                upstream,
                clock,
                signing,
                telemetry,
                events,
                signer,
                bearer_tokens: tokio::sync::Mutex::default(),
                config,
                access,
                after_fetch: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Where cache hits are noted; `serve` runs its flusher, retention flushes it first.
    pub fn access(&self) -> Arc<last_access::AccessRecorder> {
        self.inner.access.clone()
    }

    /// Sets the hook told of new copies in remotes with a `max_bytes` (once; later calls are
    /// ignored).
    pub fn set_after_fetch(&self, hook: AfterFetch) {
        let _ = self.inner.after_fetch.set(hook);
    }

    pub async fn read(
        &self,
        repo: &str,
        path: &ArtifactPath,
        request: ReadRequest<'_>,
    ) -> Result<ProxyRead, ProxyError> {
        let inner = &self.inner;
        let lookup = inner.lookup(repo, path, &request).await?;
        let unlocated = &lookup.target;
        let cached = inner
            .index
            .get(&unlocated.repo, &unlocated.key)
            .await
            .map_err(unavailable)?;
        let now = inner.clock.now();
        let ttl = cache_policy::ttl(unlocated.class, &unlocated.settings);
        let offline = unlocated.settings.offline;
        let fresh = cached
            .as_ref()
            .is_some_and(|object| cache_policy::is_fresh(object.fetched_at, now, ttl));
        if (fresh || offline)
            && let Some(object) = cached
        {
            inner.telemetry.hit(&unlocated.repo);
            return inner.serve_cached(object, &request, false).await;
        }
        if offline {
            return Err(ProxyError::NotCachedOffline(lookup.target.path));
        }
        // Boxed: the miss path's future is large, and a hit's (moved into place on every
        // request) would otherwise be as large.
        Box::pin(inner.miss(lookup, cached, request)).await
    }
}

impl Inner {
    /// A stale or absent copy: the upstream is asked (once across replicas), or a stale copy
    /// served when it fails.
    async fn miss(
        self: &Arc<Self>,
        lookup: Lookup,
        cached: Option<CachedObject>,
        request: ReadRequest<'_>,
    ) -> Result<ProxyRead, ProxyError> {
        let inner = self;
        let target = inner.locate(lookup).await?;
        if inner.is_negative(&target).await {
            return Err(ProxyError::NotFound(target.path));
        }
        if request.head_only && cached.is_none() {
            return inner.upstream_head(&target).await;
        }
        inner.telemetry.miss(&target.repo);
        let outcome = if inner.breaker_open(&target.repo).await {
            Err(ProxyError::UpstreamFailed(
                "circuit breaker open after repeated upstream failures".into(),
            ))
        } else {
            // Indexes are rewritten before anyone sees them, and files with a promised digest
            // are verified before anyone sees them (a mismatch is a 502, not a cut stream).
            let detached = request.range.is_some()
                || request.head_only
                || target.format.rewrites(&target.path)
                || target.format.buffered(&target.path)
                || target.location.expected.is_some()
                || target.location.expected_sha512.is_some();
            inner
                .clone_arc()
                .fetch_or_wait(&target, detached, cached.is_some())
                .await
        };
        match outcome {
            Ok(fetch::Fetched::Streaming(read)) => Ok(read),
            Ok(fetch::Fetched::Stored(object)) => inner.serve_cached(object, &request, false).await,
            Ok(fetch::Fetched::Stale) => match cached {
                Some(object) => {
                    inner.telemetry.stale_served(&target.repo);
                    inner.serve_cached(object, &request, true).await
                }
                None => Err(ProxyError::Unavailable("the TTL cache is unavailable".into())),
            },
            // An upstream 404 never evicts a good copy, but it is what the client hears.
            Err(e @ ProxyError::NotFound(_)) => Err(e),
            Err(failure @ (ProxyError::UpstreamFailed(_) | ProxyError::UpstreamTls(_))) => match cached {
                Some(object) => {
                    tracing::warn!(repository = %target.repo, path = %target.path, reason = %failure, "serving stale copy");
                    inner.telemetry.stale_served(&target.repo);
                    inner.serve_cached(object, &request, true).await
                }
                None => Err(failure),
            },
            Err(other) => Err(other),
        }
    }

    fn clone_arc(self: &Arc<Self>) -> Arc<Self> {
        Arc::clone(self)
    }

    /// The instance-wide link signing key, created on first use and shared by all replicas.
    async fn signer(&self) -> Result<&LinkSigner, ProxyError> {
        self.signer
            .get_or_try_init(|| async {
                let key = crate::app::auth::instance_key(self.signing.as_ref(), self.clock.as_ref(), LINK_KEY)
                    .await
                    .map_err(unavailable)?;
                Ok(LinkSigner::new(key.material.as_bytes()))
            })
            .await
    }

    async fn target(&self, repo: &str, path: &ArtifactPath, read: &ReadRequest<'_>) -> Result<Target, ProxyError> {
        let lookup = self.lookup(repo, path, read).await?;
        self.locate(lookup).await
    }

    /// The remote, access decision, cache class and cache key of a request: all a cache hit
    /// needs. The upstream location is left for [`Inner::locate`].
    async fn lookup(&self, repo: &str, path: &ArtifactPath, read: &ReadRequest<'_>) -> Result<Lookup, ProxyError> {
        let (accept, public_base) = (read.accept, read.public_base);
        let found = self.catalog.get(repo).await.map_err(unavailable)?;
        let repository = found.ok_or_else(|| ProxyError::RepositoryNotFound(repo.to_string()))?;
        let package = repository.package;
        let KindSettings::Remote(settings) = repository.settings else {
            return Err(ProxyError::WrongKind {
                name: repo.to_string(),
                expected: Kind::Remote.as_str(),
            });
        };
        let format =
            formats::for_package(package).ok_or_else(|| ProxyError::UnsupportedPackage(package.to_string()))?;
        let path = path.as_str();
        let request = AccessRequest {
            subject: format.pattern_subject(path),
            path,
            exempt_index: format.is_exempt_index(path),
            tag: format.tag_of(path),
        };
        if let Access::Deny(reason) = access::decide(&settings, &request) {
            return Err(ProxyError::Forbidden(reason));
        }
        let class = cache_policy::classify(format.classify(path), path, &settings);
        let query = format.query(path, read.query);
        let mut key = path.to_string();
        if let Some(q) = &query {
            key = format!("{key}?{q}");
        }
        let variant = format.variant(path, accept, public_base);
        if let Some(v) = &variant {
            key = format!("{key}#{v}");
        }
        let accept = if variant.is_some() || format.forwards_accept(path) {
            accept.map(str::to_string)
        } else {
            None
        };
        let public_base = public_base.map(str::to_string);
        Ok(Lookup {
            target: Target {
                repo: repo.to_string(),
                path: path.to_string(),
                key,
                settings,
                format,
                class,
                location: ExternalFile::default(),
                accept,
                public_base,
            },
            query,
        })
    }

    /// Where the upstream has the file: worked out only when the upstream is to be asked.
    async fn locate(&self, lookup: Lookup) -> Result<Target, ProxyError> {
        let Lookup { mut target, query } = lookup;
        let signer = self.signer().await?;
        let mut location = target
            .format
            .locate(&target.settings.base_url, &target.repo, &target.path, signer)
            .map_err(|e| ProxyError::Forbidden(e.to_string()))?;
        if let Some(q) = &query {
            location.url = format!("{}?{q}", location.url);
        }
        target.location = location;
        Ok(target)
    }

    /// Serves a stored copy: 304, HEAD, a range or the whole body.
    async fn serve_cached(
        &self,
        object: CachedObject,
        request: &ReadRequest<'_>,
        stale: bool,
    ) -> Result<ProxyRead, ProxyError> {
        self.access.record(&object);
        if request
            .if_none_match
            .is_some_and(|tags| crate::app::hosted::etag_matches(tags, &object.digest))
        {
            return Ok(ProxyRead::NotModified(object));
        }
        let range = conditional_range(request.range, request.if_range, &object.digest, Some(object.fetched_at));
        let span = match resolve_range(range, object.size) {
            RangeRequest::Full => None,
            RangeRequest::Partial(span) => Some(span),
            RangeRequest::Unsatisfiable => return Err(ProxyError::RangeNotSatisfiable { size: object.size }),
        };
        if request.head_only {
            return Ok(ProxyRead::Cached {
                object,
                span,
                body: None,
                stale,
            });
        }
        let blob = self
            .blobs
            .get(&object.digest.blob_key(), span)
            .await
            .map_err(|e| match e {
                PortError::NotFound => {
                    ProxyError::Unavailable(format!("blob {} missing from the blob store", object.digest))
                }
                other => unavailable(other),
            })?;
        Ok(ProxyRead::Cached {
            object,
            span,
            body: Some(blob.body),
            stale,
        })
    }

    /// A new copy was stored: a remote with a size limit enforces it now.
    fn stored(&self, target: &Target) {
        if target.settings.max_bytes.is_some()
            && let Some(hook) = self.after_fetch.get()
        {
            hook(&target.repo);
        }
    }
}

#[cfg(test)]
mod tests;
