use super::*;
use crate::app::cas::ContentStore;
use crate::domain::digest::Digest;
use crate::domain::repository::{ManagedBy, PackageType, RepoName, Repository};
use crate::ports::artifact_index::MockArtifactIndex;
use crate::ports::blob_records::MockBlobRecords;
use crate::ports::blob_store::MockBlobStore;
use crate::ports::clock::MockClock;
use crate::ports::credentials::MockSigningKeys;
use crate::ports::repository_catalog::MockRepositoryCatalog;
use crate::ports::telemetry::MockProxyTelemetry;
use crate::ports::ttl_cache::MockTtlCache;
use crate::ports::upstream::MockUpstream;
use crate::ports::{BlobMeta, BlobObject, Lease, Method, UpstreamRequest, UpstreamResponse};
use bytes::Bytes;
use chrono::{DateTime, Utc};

fn settings(offline: bool) -> RemoteSettings {
    RemoteSettings {
        base_url: "http://127.0.0.1:9/files".into(),
        username: None,
        password: None,
        mutable_ttl: 300,
        immutable_ttl: 0,
        patterns: vec![],
        blocklist: vec!["blocked".into()],
        mutable_patterns: vec![r"\.txt$".into()],
        immutable_patterns: vec![],
        ban_tags: vec![],
        offline,
        tls: Default::default(),
        max_bytes: None,
        unused_days: None,
    }
}

fn catalog(offline: bool) -> MockRepositoryCatalog {
    catalog_with(settings(offline))
}

fn catalog_with(settings: RemoteSettings) -> MockRepositoryCatalog {
    let repo = Repository {
        name: RepoName::new("r").unwrap(),
        package: PackageType::Generic,
        settings: KindSettings::Remote(settings),
        managed_by: ManagedBy::Api,
    };
    let mut c = MockRepositoryCatalog::new();
    c.expect_get().returning(move |_| Ok(Some(repo.clone())));
    c
}

fn object(path: &str, fetched_at: DateTime<Utc>) -> CachedObject {
    CachedObject {
        repo: "r".into(),
        path: path.into(),
        digest: Digest::of_bytes(b"old"),
        size: 3,
        content_type: None,
        class: CacheClass::Mutable,
        fetched_at,
        upstream_etag: None,
        last_accessed: fetched_at + chrono::Duration::seconds(1000),
    }
}

fn blobs_serving(data: &'static [u8]) -> MockBlobStore {
    let mut b = MockBlobStore::new();
    b.expect_get().returning(move |_, _| {
        let body: ByteStream = Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(data))]));
        Ok(BlobObject {
            meta: BlobMeta {
                size: data.len() as u64,
                last_modified: None,
            },
            body,
        })
    });
    b
}

struct Mocks {
    catalog: MockRepositoryCatalog,
    index: MockArtifactIndex,
    blobs: MockBlobStore,
    cache: MockTtlCache,
    upstream: MockUpstream,
    signing: MockSigningKeys,
    now: DateTime<Utc>,
}

impl Mocks {
    /// Nobody else is fetching: the lock is ours and no outcome is published meanwhile.
    fn expect_fetch_lock(&mut self) {
        self.cache
            .expect_subscribe()
            .returning(|_| Ok(Box::pin(futures::stream::empty())));
        self.cache.expect_try_lock().returning(|k, _| {
            Ok(Some(Lease {
                key: k.into(),
                owner: "me".into(),
            }))
        });
    }

    fn new(offline: bool, now: DateTime<Utc>) -> Self {
        Self {
            catalog: catalog(offline),
            index: MockArtifactIndex::new(),
            blobs: blobs_serving(b"old"),
            cache: MockTtlCache::new(),
            upstream: MockUpstream::new(),
            signing: signing_keys(),
            now,
        }
    }

    fn service(self) -> RemoteService {
        let mut clock = MockClock::new();
        let now = self.now;
        clock.expect_now().returning(move || now);
        let clock: Arc<dyn Clock> = Arc::new(clock);
        let dir = std::env::temp_dir().join("artifactapi-proxy-tests");
        let cas = ContentStore::new(
            Arc::new(MockBlobStore::new()),
            Arc::new(MockBlobRecords::new()),
            clock.clone(),
            dir,
        );
        RemoteService::new(
            RemotePorts {
                catalog: Arc::new(self.catalog),
                index: Arc::new(self.index),
                blobs: Arc::new(self.blobs),
                cas: Arc::new(cas),
                cache: Arc::new(self.cache),
                upstream: Arc::new(self.upstream),
                clock: clock.clone(),
                signing: Arc::new(self.signing),
                telemetry: Arc::new(telemetry()),
                events: Arc::new(crate::app::events::EventBus::new(
                    Arc::new(quiet_cache()),
                    clock.clone(),
                )),
            },
            ProxyConfig::default(),
        )
    }
}

/// The link-signing key, made on first use.
fn signing_keys() -> MockSigningKeys {
    let mut signing = MockSigningKeys::new();
    signing
        .expect_get_or_create()
        .returning(|candidate| Ok(candidate.clone()));
    signing
}

/// Counts are checked in the end-to-end metrics test; here any call is fine.
fn telemetry() -> MockProxyTelemetry {
    let mut t = MockProxyTelemetry::new();
    t.expect_hit().return_const(());
    t.expect_miss().return_const(());
    t.expect_stale_served().return_const(());
    t.expect_upstream_error().return_const(());
    t.expect_fetched_bytes().return_const(());
    t.expect_upstream_latency().return_const(());
    t.expect_lock_bypassed().return_const(());
    t
}

/// Event publication is best effort and checked end to end; here it goes nowhere.
fn quiet_cache() -> MockTtlCache {
    let mut c = MockTtlCache::new();
    c.expect_publish().returning(|_, _| Ok(()));
    c
}

fn path(p: &str) -> ArtifactPath {
    ArtifactPath::parse(p).unwrap()
}

#[tokio::test]
async fn a_fresh_copy_is_served_without_the_upstream() {
    let now = Utc::now();
    let mut m = Mocks::new(false, now);
    m.index
        .expect_get()
        .returning(move |_, p| Ok(Some(object(p, now - chrono::Duration::seconds(299)))));
    m.upstream.expect_send().times(0);
    // Nor is the upstream location worked out (it needs the link-signing key): a hit has no use
    // for it.
    m.signing = MockSigningKeys::new();
    m.signing.expect_get_or_create().times(0);
    let read = m
        .service()
        .read("r", &path("index.txt"), ReadRequest::default())
        .await
        .unwrap();
    assert!(matches!(
        read,
        ProxyRead::Cached {
            stale: false,
            body: Some(_),
            ..
        }
    ));
}

#[tokio::test]
async fn an_expired_copy_goes_upstream_and_falls_back_to_stale_on_failure() {
    let now = Utc::now();
    let mut m = Mocks::new(false, now);
    // 301 s old with a 300 s mutable TTL: expired, measured with the Clock port, no sleeping.
    m.index
        .expect_get()
        .returning(move |_, p| Ok(Some(object(p, now - chrono::Duration::seconds(301)))));
    m.cache.expect_is_fresh().returning(|_| Ok(false));
    m.expect_fetch_lock();
    m.upstream
        .expect_send()
        .times(1)
        .returning(|_| Err(PortError::Backend("connection refused".into())));
    m.cache.expect_increment().times(1).returning(|_, _| Ok(1));
    m.cache.expect_release().returning(|_| Ok(true));
    m.cache.expect_publish().returning(|_, _| Ok(()));
    m.index.expect_delete().times(0);
    let read = m
        .service()
        .read("r", &path("index.txt"), ReadRequest::default())
        .await
        .unwrap();
    assert!(matches!(read, ProxyRead::Cached { stale: true, .. }));
}

#[tokio::test]
async fn the_fifth_network_failure_opens_the_breaker() {
    let now = Utc::now();
    let mut m = Mocks::new(false, now);
    m.index.expect_get().returning(|_, _| Ok(None));
    m.cache.expect_is_fresh().returning(|_| Ok(false));
    m.expect_fetch_lock();
    m.upstream
        .expect_send()
        .returning(|_| Err(PortError::Backend("timeout".into())));
    m.cache.expect_increment().returning(|_, _| Ok(5));
    m.cache
        .expect_mark_fresh()
        .withf(|k, ttl| k == "breaker:open:r" && *ttl == Duration::from_secs(30))
        .times(1)
        .returning(|_, _| Ok(()));
    m.cache
        .expect_forget()
        .withf(|k| k == "breaker:failures:r")
        .times(1)
        .returning(|_| Ok(()));
    m.cache.expect_release().returning(|_| Ok(true));
    m.cache.expect_publish().returning(|_, _| Ok(()));
    let err = m
        .service()
        .read("r", &path("a.bin"), ReadRequest::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ProxyError::UpstreamFailed(_)));
}

#[tokio::test]
async fn an_open_breaker_skips_the_upstream() {
    let now = Utc::now();
    let mut m = Mocks::new(false, now);
    m.index.expect_get().returning(|_, _| Ok(None));
    m.cache.expect_is_fresh().returning(|k| Ok(k == "breaker:open:r"));
    m.upstream.expect_send().times(0);
    let err = m
        .service()
        .read("r", &path("a.bin"), ReadRequest::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ProxyError::UpstreamFailed(m) if m.contains("circuit breaker")));
}

#[tokio::test]
async fn upstream_404_is_remembered_and_never_evicts() {
    let now = Utc::now();
    let mut m = Mocks::new(false, now);
    m.index
        .expect_get()
        .returning(move |_, p| Ok(Some(object(p, now - chrono::Duration::seconds(1000)))));
    m.index.expect_delete().times(0);
    m.cache.expect_is_fresh().returning(|_| Ok(false));
    m.expect_fetch_lock();
    m.upstream.expect_send().returning(|_| {
        Ok(UpstreamResponse {
            status: 404,
            headers: vec![],
            body: Box::pin(futures::stream::empty()),
        })
    });
    m.cache.expect_forget().returning(|_| Ok(()));
    m.cache
        .expect_mark_fresh()
        .withf(|k, ttl| k == "negative:r:index.txt" && *ttl == crate::domain::cache_policy::NEGATIVE_TTL)
        .times(1)
        .returning(|_, _| Ok(()));
    m.cache.expect_release().returning(|_| Ok(true));
    m.cache.expect_publish().returning(|_, _| Ok(()));
    let err = m
        .service()
        .read("r", &path("index.txt"), ReadRequest::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ProxyError::NotFound(_)));
}

#[tokio::test]
async fn offline_serves_any_copy_and_never_calls_the_upstream() {
    let now = Utc::now();
    let mut m = Mocks::new(true, now);
    m.index
        .expect_get()
        .returning(move |_, p| Ok((p == "cached.txt").then(|| object(p, now - chrono::Duration::days(30)))));
    // The hit is noted in memory, not written on the request path; a flush writes it.
    m.index.expect_touch().never();
    m.index
        .expect_touch_many()
        .withf(move |repo, paths, at| repo == "r" && paths == ["cached.txt"] && *at == now)
        .times(1)
        .returning(|_, _, _| Ok(()));
    m.upstream.expect_send().times(0);
    let service = m.service();
    let read = service
        .read("r", &path("cached.txt"), ReadRequest::default())
        .await
        .unwrap();
    assert!(matches!(read, ProxyRead::Cached { stale: false, .. }));
    assert_eq!(service.access().flush().await.unwrap(), 1);
    let err = service
        .read("r", &path("other.txt"), ReadRequest::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ProxyError::NotCachedOffline(_)));
}

#[tokio::test]
async fn blocked_paths_are_refused_before_any_lookup() {
    let mut m = Mocks::new(false, Utc::now());
    m.index.expect_get().times(0);
    m.upstream.expect_send().times(0);
    let err = m
        .service()
        .read("r", &path("a/blocked.bin"), ReadRequest::default())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ProxyError::Forbidden(_)));
}

fn response(status: u16, headers: Vec<(&str, &str)>, body: &'static [u8]) -> UpstreamResponse {
    UpstreamResponse {
        status,
        headers: headers
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(body))])),
    }
}

#[tokio::test]
async fn a_bearer_challenge_is_answered_with_the_remotes_credentials_and_the_token_reused() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::<UpstreamRequest>::new()));
    let mut mocks = Mocks::new(false, Utc::now());
    let log = seen.clone();
    mocks.upstream.expect_send().returning(move |req| {
        log.lock().unwrap().push(req.clone());
        let auth = req
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone());
        Ok(if req.url.starts_with("http://127.0.0.1:9/token") {
            response(200, vec![], br#"{"token":"tok-1","expires_in":300}"#)
        } else if auth.as_deref() == Some("Bearer tok-1") {
            response(200, vec![], b"manifest")
        } else {
            let challenge = r#"Bearer realm="http://127.0.0.1:9/token",service="reg",scope="repository:team/app:pull""#;
            response(401, vec![("www-authenticate", challenge)], b"")
        })
    });
    let service = mocks.service();
    let mut remote = settings(false);
    remote.username = Some("mirror".into());
    remote.password = Some(crate::domain::repository::Secret::new("s3cret".into()));
    let format = crate::domain::formats::for_package(PackageType::Docker).unwrap();
    let target = Target {
        repo: "hub".into(),
        path: "team/app/manifests/v1".into(),
        key: "team/app/manifests/v1".into(),
        settings: remote,
        format,
        class: CacheClass::Mutable,
        location: crate::domain::formats::links::ExternalFile {
            url: "http://127.0.0.1:9/v2/team/app/manifests/v1".into(),
            ..Default::default()
        },
        accept: None,
        public_base: None,
    };
    let first = service.inner.send_upstream(&target, Method::Get).await.unwrap();
    assert_eq!(first.status, 200);
    let second = service.inner.send_upstream(&target, Method::Get).await.unwrap();
    assert_eq!(second.status, 200);

    let seen = seen.lock().unwrap();
    let auth = |i: usize| {
        seen[i]
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone())
    };
    // 1: no credentials upfront (docker); 2: the token, with Basic; 3: the retry; 4: reused.
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(auth(0), None);
    assert_eq!(
        seen[1].url,
        "http://127.0.0.1:9/token?service=reg&scope=repository%3Ateam%2Fapp%3Apull"
    );
    assert_eq!(auth(1).as_deref(), Some("Basic bWlycm9yOnMzY3JldA=="));
    assert_eq!(auth(2).as_deref(), Some("Bearer tok-1"));
    assert_eq!(auth(3).as_deref(), Some("Bearer tok-1"));
}

/// A TLS failure is its own error (so it can answer `UPSTREAM_TLS`), falls back to a stale copy
/// like any upstream failure, and the remote's TLS settings reach the port.
#[tokio::test]
async fn a_tls_failure_is_upstream_tls_or_a_stale_copy() {
    let now = Utc::now();
    for cached in [false, true] {
        let mut m = Mocks::new(false, now);
        m.index
            .expect_get()
            .returning(move |_, p| Ok(cached.then(|| object(p, now - chrono::Duration::seconds(301)))));
        m.cache.expect_is_fresh().returning(|_| Ok(false));
        m.expect_fetch_lock();
        m.upstream
            .expect_send()
            .times(1)
            .withf(|request| request.tls.tls_insecure_skip_verify)
            .returning(|_| Err(PortError::Tls("invalid peer certificate: UnknownIssuer".into())));
        m.cache.expect_increment().returning(|_, _| Ok(1));
        m.cache.expect_release().returning(|_| Ok(true));
        m.cache.expect_publish().returning(|_, _| Ok(()));
        m.catalog = catalog_with(RemoteSettings {
            tls: crate::domain::upstream_tls::UpstreamTls {
                tls_insecure_skip_verify: true,
                ..Default::default()
            },
            ..settings(false)
        });
        let read = m.service().read("r", &path("index.txt"), ReadRequest::default()).await;
        match (cached, read) {
            (false, Err(ProxyError::UpstreamTls(reason))) => assert!(reason.contains("UnknownIssuer")),
            (true, Ok(ProxyRead::Cached { stale: true, .. })) => {}
            (cached, other) => panic!("cached {cached}: unexpected {:?}", other.err()),
        }
    }
}

/// The TTL cache answers nothing (Redis down).
fn dead_cache() -> MockTtlCache {
    let down = || PortError::Backend("redis at 127.0.0.1:6379: connection refused".into());
    let mut c = MockTtlCache::new();
    c.expect_is_fresh().returning(move |_| Err(down()));
    c.expect_subscribe().returning(move |_| Err(down()));
    c.expect_try_lock().returning(move |_, _| Err(down()));
    c.expect_increment().returning(move |_, _| Err(down()));
    c.expect_forget().returning(move |_| Err(down()));
    c.expect_mark_fresh().returning(move |_, _| Err(down()));
    c.expect_release().times(0);
    c.expect_publish().times(0);
    c
}

#[tokio::test]
async fn with_the_ttl_cache_down_an_expired_copy_is_served_stale_without_the_upstream() {
    let now = Utc::now();
    let mut m = Mocks::new(false, now);
    m.index
        .expect_get()
        .returning(move |_, p| Ok(Some(object(p, now - chrono::Duration::seconds(301)))));
    m.cache = dead_cache();
    m.upstream.expect_send().times(0);
    let read = m
        .service()
        .read("r", &path("index.txt"), ReadRequest::default())
        .await
        .unwrap();
    assert!(matches!(
        read,
        ProxyRead::Cached {
            stale: true,
            body: Some(_),
            ..
        }
    ));
}

#[tokio::test]
async fn with_the_ttl_cache_down_a_miss_is_fetched_without_the_lock() {
    let now = Utc::now();
    let mut m = Mocks::new(false, now);
    m.index.expect_get().returning(|_, _| Ok(None));
    m.cache = dead_cache();
    m.upstream.expect_send().times(1).returning(|_| {
        let body: ByteStream = Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(b"new"))]));
        Ok(UpstreamResponse {
            status: 200,
            headers: vec![("content-length".into(), "3".into())],
            body,
        })
    });
    let read = m
        .service()
        .read("r", &path("a.bin"), ReadRequest::default())
        .await
        .unwrap();
    let ProxyRead::Streaming { size, .. } = read else {
        panic!("a miss streams from the upstream");
    };
    assert_eq!(size, Some(3));
}
