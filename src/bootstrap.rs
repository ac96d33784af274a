//! Composition root: builds adapters from configuration and wires them into the app services.
//! The only place (with `main`) that names both adapters and app services.
use rand::RngCore;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;
use std::time::Duration;

use crate::adapters::apk_rsa::ApkRsaSigner;
use crate::adapters::blob::fs::FsBlobStore;
use crate::adapters::blob::s3::{S3BlobStore, S3Config};
use crate::adapters::cache::memory::MemoryCache;
use crate::adapters::cache::redis::RedisCache;
use crate::adapters::clock::SystemClock;
use crate::adapters::disk::FsDisk;
use crate::adapters::hot::blobs::HotBlobs;
use crate::adapters::hot::catalog::HotCatalog;
use crate::adapters::hot::index::HotIndex;
use crate::adapters::hot::invalidation::Invalidations;
use crate::adapters::http::AppState;
use crate::adapters::http::access_log::{AccessLog, LineFormat};
use crate::adapters::http::forwarded::TrustedProxies;
use crate::adapters::http::metrics::Metrics;
use crate::adapters::meta::MetaStore;
use crate::adapters::openpgp::OpenPgpSigner;
use crate::adapters::upstream::http::{HttpUpstream, UpstreamConfig};
use crate::app::auth::AuthService;
use crate::app::cas::ContentStore;
use crate::app::config::{BlobStoreUrl, CacheUrl, Config, ConfigError, DatabaseUrl, LogFormat};
use crate::app::disk::DiskGuard;
use crate::app::events::EventBus;
use crate::app::gc::{GcPorts, GcService};
use crate::app::health::HealthService;
use crate::app::hosted::{HostedPorts, HostedService};
use crate::app::objects::ObjectsService;
use crate::app::proxy::{ProxyConfig, RemotePorts, RemoteService};
use crate::app::registry::pulls::PullRecorder;
use crate::app::registry::{RegistryPorts, RegistryService};
use crate::app::registry_tokens::RegistryTokens;
use crate::app::repositories::RepositoryService;
use crate::app::retention::{RetentionPorts, RetentionService};
use crate::app::sessions::SessionService;
use crate::app::stats::StatsService;
use crate::app::terraform::ProviderRegistry;
use crate::app::tokens::TokenService;
use crate::ports::{
    ApkSigner, ArtifactIndex, BlobStore, Clock, PortError, ReleaseSigner, RepositoryCatalog, TtlCache, Upstream,
};

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the database ({target}): {cause}")]
    Database { target: String, cause: PortError },
    #[error("cannot open the blob store ({target}): {cause}")]
    BlobStore { target: String, cause: PortError },
    #[error("cannot reach the cache ({target}): {cause}")]
    Cache { target: String, cause: PortError },
    #[error("cannot set up the upstream client: {0}")]
    Upstream(PortError),
    #[error("secret key: {0}")]
    SecretKey(String),
    #[error("terraform signing key: {0}")]
    SigningKey(String),
    #[error("access_log: {0}")]
    AccessLog(std::io::Error),
}

/// Every outbound adapter, chosen by configuration.
pub struct Backends {
    pub meta: Arc<MetaStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub cache: Arc<dyn TtlCache>,
    /// The cache is shared by replicas (Redis), so its pub/sub reaches them all.
    pub cache_shared: bool,
    pub upstream: Arc<dyn Upstream>,
    pub clock: Arc<dyn Clock>,
    /// Signs Terraform `SHA256SUMS`.
    pub release_signer: Arc<dyn ReleaseSigner>,
    /// Signs alpine `APKINDEX.tar.gz`.
    pub apk_signer: Arc<dyn ApkSigner>,
}

/// A URL without credentials, path or query, safe for an error line.
fn describe(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}",
            u.scheme(),
            u.host_str()
                .map(|h| format!("{h}{}", u.port().map(|p| format!(":{p}")).unwrap_or_default()))
                .unwrap_or_default()
        ),
        Err(_) => url.split("://").next().unwrap_or("?").to_string() + "://…",
    }
}

/// Opens the metadata database and runs migrations.
pub async fn open_database(config: &Config) -> Result<Arc<MetaStore>, BootstrapError> {
    let key = secret_key(config)?;
    let (url, target) = match config.database()? {
        DatabaseUrl::Sqlite(url) => (url.clone(), url.split('?').next().unwrap_or("sqlite").to_string()),
        DatabaseUrl::Postgres(url) => {
            let target = describe(&url);
            (url, target)
        }
    };
    let meta = crate::adapters::meta::connect(&url, key)
        .await
        .map_err(|cause| BootstrapError::Database {
            target: target.clone(),
            cause,
        })?;
    meta.migrate()
        .await
        .map_err(|cause| BootstrapError::Database { target, cause })?;
    Ok(Arc::new(meta))
}

pub async fn connect(config: &Config) -> Result<Backends, BootstrapError> {
    // Temp files, the disk reserve (and the defaults' SQLite file and blobs) live here.
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| BootstrapError::SecretKey(format!("cannot create {}: {e}", config.data_dir.display())))?;
    let meta = open_database(config).await?;
    let blobs: Arc<dyn BlobStore> = match config.blob_store()? {
        BlobStoreUrl::Fs(root) => {
            let target = format!("fs://{}", root.display());
            Arc::new(FsBlobStore::open(root).map_err(|cause| BootstrapError::BlobStore { target, cause })?)
        }
        BlobStoreUrl::S3 {
            bucket,
            prefix,
            endpoint,
            region,
        } => {
            let target = format!("s3://{bucket} at {}", describe(&endpoint));
            let s3 = S3Config {
                bucket,
                endpoint,
                region,
                access_key: config.s3_access_key.clone().unwrap_or_default(),
                secret_key: config.s3_secret_key.clone().unwrap_or_default(),
                prefix,
                ca_file: config.ca_file.clone(),
            };
            Arc::new(
                S3BlobStore::connect(s3)
                    .await
                    .map_err(|cause| BootstrapError::BlobStore { target, cause })?,
            )
        }
    };
    blobs.check().await.map_err(|cause| BootstrapError::BlobStore {
        target: "blob store".into(),
        cause,
    })?;
    // Small content-addressed blobs (index pages, manifests) are served from memory.
    let blobs: Arc<dyn BlobStore> = Arc::new(HotBlobs::new(blobs));
    let cache_shared = matches!(config.cache()?, CacheUrl::Redis(_));
    let cache: Arc<dyn TtlCache> = match config.cache()? {
        CacheUrl::Memory => Arc::new(MemoryCache::new()),
        CacheUrl::Redis(url) => {
            let target = describe(&url);
            let redis = RedisCache::connect(&url).await.map_err(|cause| BootstrapError::Cache {
                target: target.clone(),
                cause,
            })?;
            redis
                .check()
                .await
                .map_err(|cause| BootstrapError::Cache { target, cause })?;
            Arc::new(redis)
        }
    };
    let upstream = HttpUpstream::new(UpstreamConfig {
        connect_timeout: Duration::from_secs(config.upstream_connect_timeout),
        read_timeout: Duration::from_secs(config.upstream_read_timeout),
        user_agent: format!("artifactapi/{}", env!("CARGO_PKG_VERSION")),
        ca_file: config.ca_file.clone(),
        proxy: config.upstream_proxy.clone(),
        deny_networks: config.deny_networks()?,
    })
    .map_err(BootstrapError::Upstream)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let signer = OpenPgpSigner::load(
        config.terraform_signing_key_file.as_deref(),
        config.terraform_signing_key_passphrase.as_deref(),
        meta.as_ref(),
        clock.as_ref(),
    )
    .await
    .map_err(BootstrapError::SigningKey)?;
    // Loaded (or generated) when first needed: generating an RSA key takes a good part of a second.
    let apk_signer = ApkRsaSigner::new(meta.clone(), clock.clone());
    Ok(Backends {
        meta,
        blobs,
        cache,
        cache_shared,
        upstream: Arc::new(upstream),
        clock,
        release_signer: Arc::new(signer),
        apk_signer: Arc::new(apk_signer),
    })
}

/// Wires the app services over the backends.
pub fn app_state(config: &Config, backends: &Backends) -> Result<Arc<AppState>, BootstrapError> {
    let line_format = match config.log_format {
        LogFormat::Json => LineFormat::Json,
        LogFormat::Human => LineFormat::Text,
    };
    let access_log = AccessLog::open(&config.access_log(), line_format).map_err(BootstrapError::AccessLog)?;
    let meta = &backends.meta;
    let disk = Arc::new(DiskGuard::new(
        Arc::new(FsDisk::new(config.data_dir.clone(), config.disk_reserve)),
        config.disk_reserve,
    ));
    let cas = Arc::new(
        ContentStore::new(
            backends.blobs.clone(),
            meta.clone(),
            backends.clock.clone(),
            config.scratch_dir(),
        )
        .with_disk(disk.clone())
        .with_locks(backends.cache.clone()),
    );
    let metrics = Arc::new(Metrics::new());
    let events = Arc::new(EventBus::new(backends.cache.clone(), backends.clock.clone()));
    // One hot catalog and index per process, so writes through this replica invalidate them;
    // with Redis, writes through the others do too.
    let invalidations = if backends.cache_shared {
        let shared = Invalidations::shared(backends.cache.clone());
        shared.spawn_subscriber();
        shared
    } else {
        Invalidations::local()
    };
    let catalog: Arc<dyn RepositoryCatalog> = Arc::new(HotCatalog::new(meta.clone(), invalidations.clone()));
    let index: Arc<dyn ArtifactIndex> = Arc::new(HotIndex::new(meta.clone(), invalidations));
    let remote = RemoteService::new(
        RemotePorts {
            catalog: catalog.clone(),
            index: index.clone(),
            blobs: backends.blobs.clone(),
            cas: cas.clone(),
            cache: backends.cache.clone(),
            upstream: backends.upstream.clone(),
            clock: backends.clock.clone(),
            signing: meta.clone(),
            telemetry: metrics.clone(),
            events: events.clone(),
        },
        ProxyConfig::default(),
    );
    let pulls = Arc::new(PullRecorder::new(meta.clone(), backends.clock.clone()));
    let retention = Arc::new(RetentionService::new(RetentionPorts {
        catalog: catalog.clone(),
        index: index.clone(),
        files: meta.clone(),
        blobs: backends.blobs.clone(),
        cache: backends.cache.clone(),
        clock: backends.clock.clone(),
        events: events.clone(),
        access: remote.access(),
        pulls: pulls.clone(),
        telemetry: metrics.clone(),
    }));
    let enforcer = Arc::downgrade(&retention);
    remote.set_after_fetch(Arc::new(move |repo: &str| {
        if let Some(retention) = enforcer.upgrade() {
            retention.after_fetch(repo);
        }
    }));
    let gc = GcService::new(
        GcPorts {
            records: meta.clone(),
            catalog: catalog.clone(),
            files: meta.clone(),
            blobs: backends.blobs.clone(),
            cache: backends.cache.clone(),
            clock: backends.clock.clone(),
            events: events.clone(),
            telemetry: metrics.clone(),
        },
        Duration::from_secs(config.gc_grace_period),
    );
    Ok(Arc::new(AppState {
        cas: cas.clone(),
        gc,
        retention,
        hosted: HostedService::new(
            HostedPorts {
                catalog: catalog.clone(),
                files: meta.clone(),
                packages: meta.clone(),
                blobs: backends.blobs.clone(),
                cas: cas.clone(),
                clock: backends.clock.clone(),
            },
            config.max_upload_size,
        )
        .with_signer(backends.release_signer.clone())
        .with_apk_signer(backends.apk_signer.clone()),
        remote: remote.clone(),
        providers: ProviderRegistry::new(
            catalog.clone(),
            meta.clone(),
            backends.release_signer.clone(),
            // Validated when the configuration was loaded.
            config.terraform_protocols().unwrap_or_default(),
        ),
        registry: RegistryService::new(
            RegistryPorts {
                catalog: catalog.clone(),
                files: meta.clone(),
                blobs: backends.blobs.clone(),
                cas: cas.clone(),
                uploads: meta.clone(),
                clock: backends.clock.clone(),
            },
            config.max_upload_size,
        )
        .with_remote(remote)
        .with_pulls(pulls),
        registry_tokens: RegistryTokens::new(meta.clone(), backends.clock.clone()),
        repositories: RepositoryService::new(catalog.clone(), meta.clone(), meta.clone(), index.clone()),
        stats: StatsService::new(
            catalog.clone(),
            index.clone(),
            meta.clone(),
            meta.clone(),
            metrics.clone(),
        ),
        objects: ObjectsService::new(catalog, meta.clone(), index),
        auth: AuthService::new(meta.clone(), backends.clock.clone(), config.anonymous_read),
        tokens: TokenService::new(meta.clone(), backends.clock.clone()),
        sessions: SessionService::new(meta.clone(), backends.cache.clone(), backends.clock.clone()),
        health: HealthService::new(meta.clone(), backends.blobs.clone(), backends.cache.clone())
            .with_disk(disk.clone()),
        disk,
        metrics,
        events,
        // Validated when the configuration was loaded.
        trusted_proxies: TrustedProxies::new(config.trusted_proxies().unwrap_or_default()),
        access_log,
    }))
}

/// The key that encrypts upstream passwords at rest: derived from `secret_key` when set,
/// otherwise generated once into `<data_dir>/secret.key` (mode 0600).
pub fn secret_key(config: &Config) -> Result<[u8; 32], BootstrapError> {
    if let Some(secret) = &config.secret_key {
        if secret.len() < 16 {
            return Err(BootstrapError::SecretKey(
                "secret_key must be at least 16 characters".into(),
            ));
        }
        return Ok(Sha256::digest(secret.as_bytes()).into());
    }
    let path = config.data_dir.join("secret.key");
    match std::fs::read(&path) {
        Ok(bytes) => bytes
            .try_into()
            .map_err(|_| BootstrapError::SecretKey(format!("{} must hold exactly 32 bytes", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&config.data_dir)
                .map_err(|e| BootstrapError::SecretKey(format!("cannot create {}: {e}", config.data_dir.display())))?;
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            write_private(&path, &key)
                .map_err(|e| BootstrapError::SecretKey(format!("cannot write {}: {e}", path.display())))?;
            Ok(key)
        }
        Err(e) => Err(BootstrapError::SecretKey(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

fn write_private(path: &std::path::Path, key: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(key)?;
    file.sync_all()
}
