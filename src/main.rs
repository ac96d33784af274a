//! `artifactapi`: serve, migrate, print the OpenAPI spec, manage the admin token, apply a
//! repositories file to a running server, and a terminal UI over one.
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use artifactapi::adapters::http;
use artifactapi::adapters::tls::server::ServerCertificate;
use artifactapi::app::auth::AuthService;
use artifactapi::app::config::{Config, LogFormat};
use artifactapi::bootstrap;

/// glibc's malloc serialises the many small allocations of concurrent requests on arena locks
/// (seen in profiles of cached small GETs); mimalloc keeps them thread-local.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "artifactapi", version, about = "A caching proxy and artifact repository")]
struct Cli {
    /// TOML config file (every key can also come from ARTIFACTAPI_<KEY>).
    #[arg(long, short, global = true, env = "ARTIFACTAPI_CONFIG")]
    config: Option<PathBuf>,
    /// Log format (overrides `log_format`).
    #[arg(long, global = true, value_enum)]
    log_format: Option<CliLogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum CliLogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Run database migrations and exit.
    Migrate,
    /// Delete blobs nothing references (after `gc_grace_period`), then exit. Safe while servers
    /// run on the same backends; waits for nobody and fails if another run is in progress.
    Gc {
        /// Report what would be deleted and delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Run every repository's retention policies (remotes' `max_bytes` and `unused_days`), then
    /// exit; the bytes are freed by the next `gc`. Safe while servers run on the same backends.
    Retention {
        /// Report what would be removed and remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the management API's OpenAPI spec (JSON).
    Openapi,
    /// Manage the admin token.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Make a running server's API-managed repositories match FILE's `[[repository]]` tables:
    /// print the plan (create/update/delete), then carry it out.
    Apply {
        /// TOML with `[[repository]]` tables (a full config file works; other keys are ignored).
        file: PathBuf,
        /// The server's root URL.
        #[arg(long, env = "ARTIFACTAPI_SERVER", default_value = "http://127.0.0.1:8000")]
        server: String,
        /// An admin-scoped API token.
        #[arg(long, env = "ARTIFACTAPI_TOKEN", hide_env_values = true)]
        token: String,
        /// Also delete API-managed repositories the file does not list (or `prune = true` in it).
        #[arg(long)]
        prune: bool,
        /// Print the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// A PEM bundle of CAs to trust for an https:// server, on top of the platform store
        /// (`SSL_CERT_FILE`/`SSL_CERT_DIR` when set).
        #[arg(long, env = "ARTIFACTAPI_CA_FILE")]
        ca_file: Option<PathBuf>,
    },
    /// A terminal UI over a running server's management API.
    Tui {
        /// The server's root URL.
        #[arg(long, env = "ARTIFACTAPI_SERVER", default_value = "http://127.0.0.1:8000")]
        endpoint: String,
        /// An API token (admin scope for events, flush and probe; read is enough to browse).
        #[arg(long, env = "ARTIFACTAPI_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
}

/// What `apply` reads from its file.
#[derive(serde::Deserialize)]
struct ApplyFile {
    #[serde(default)]
    repository: Vec<artifactapi::domain::repository::RepositoryDraft>,
    #[serde(default)]
    prune: bool,
}

#[derive(Subcommand)]
enum TokenAction {
    /// Replace the admin token with a new random one and print it.
    ResetAdmin,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        println!("{}", http::openapi_service().spec());
        return ExitCode::SUCCESS;
    }
    if let Command::Tui { endpoint, token } = &cli.command {
        let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(r) => r,
            Err(e) => return fail(&format!("cannot start the runtime: {e}")),
        };
        return match runtime.block_on(artifactapi::tui::run(endpoint, token.as_deref())) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        };
    }
    if let Command::Apply {
        file,
        server,
        token,
        prune,
        dry_run,
        ca_file,
    } = &cli.command
    {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(r) => r,
            Err(e) => return fail(&format!("cannot start the runtime: {e}")),
        };
        let target = ApplyTarget {
            server,
            token: token.clone(),
            ca_file: ca_file.as_deref(),
        };
        return match runtime.block_on(apply(file, target, *prune, *dry_run)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        };
    }
    let config = match Config::load(cli.config.as_deref(), |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    let format = match cli.log_format {
        Some(CliLogFormat::Json) => LogFormat::Json,
        Some(CliLogFormat::Human) => LogFormat::Human,
        None => config.log_format,
    };
    init_logging(format, &config.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve => serve(config).await,
            Command::Migrate => bootstrap::open_database(&config)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Command::Gc { dry_run } => gc(config, dry_run).await,
            Command::Retention { dry_run } => retention(config, dry_run).await,
            Command::Token {
                action: TokenAction::ResetAdmin,
            } => reset_admin(config).await,
            Command::Openapi | Command::Apply { .. } | Command::Tui { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

/// One clear line on stderr and a non-zero exit; never a panic backtrace.
fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.init(),
    }
}

/// The server `apply` talks to.
struct ApplyTarget<'a> {
    server: &'a str,
    token: String,
    ca_file: Option<&'a std::path::Path>,
}

async fn apply(file: &std::path::Path, target: ApplyTarget<'_>, prune: bool, dry_run: bool) -> Result<(), String> {
    use artifactapi::app::apply::{ApplyService, describe};
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let parsed: ApplyFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let client =
        artifactapi::adapters::management_client::ManagementClient::new(target.server, target.token, target.ca_file)
            .map_err(|e| e.to_string())?;
    let service = ApplyService::new(std::sync::Arc::new(client));
    let steps = service
        .plan(&parsed.repository, prune || parsed.prune)
        .await
        .map_err(|e| e.to_string())?;
    for step in &steps {
        println!("{}", describe(step));
    }
    if dry_run {
        println!("dry run: nothing changed");
        return Ok(());
    }
    service
        .execute(&parsed.repository, &steps)
        .await
        .map_err(|e| e.to_string())?;
    println!("applied");
    Ok(())
}

async fn gc(config: Config, dry_run: bool) -> Result<(), String> {
    let backends = bootstrap::connect(&config).await.map_err(|e| e.to_string())?;
    let state = bootstrap::app_state(&config, &backends).map_err(|e| e.to_string())?;
    let report = state.gc.run(dry_run).await.map_err(|e| e.to_string())?;
    let verb = if dry_run { "would delete" } else { "deleted" };
    println!(
        "gc: {verb} {} image blob links, {} blobs and {} stray objects, {} bytes{}",
        report.links_deleted,
        report.blobs_deleted,
        report.stray_objects_deleted,
        report.bytes_freed,
        if report.busy > 0 {
            format!(" ({} busy, left for the next run)", report.busy)
        } else {
            String::new()
        }
    );
    Ok(())
}

async fn retention(config: Config, dry_run: bool) -> Result<(), String> {
    let backends = bootstrap::connect(&config).await.map_err(|e| e.to_string())?;
    let state = bootstrap::app_state(&config, &backends).map_err(|e| e.to_string())?;
    let report = state.retention.run(dry_run).await.map_err(|e| e.to_string())?;
    let verb = if dry_run { "would remove" } else { "removed" };
    for repo in &report.repositories {
        println!(
            "{}: {verb} {} objects, {} bytes; {} bytes stored{}",
            repo.name,
            repo.objects,
            repo.bytes,
            repo.stored_bytes,
            if repo.busy {
                " (busy on another replica, skipped)"
            } else {
                ""
            }
        );
    }
    println!("retention: {verb} {} objects, {} bytes", report.objects, report.bytes);
    Ok(())
}

async fn reset_admin(config: Config) -> Result<(), String> {
    let meta = bootstrap::open_database(&config).await.map_err(|e| e.to_string())?;
    let auth = AuthService::new(
        meta,
        std::sync::Arc::new(artifactapi::adapters::clock::SystemClock),
        config.anonymous_read,
    );
    let secret = auth.reset_admin().await.map_err(|e| e.to_string())?;
    println!("{secret}");
    Ok(())
}

/// Binds first and answers liveness at once (see `http::startup`); the backends are opened
/// while the socket already accepts, and requests that arrive meanwhile wait for them.
async fn serve(config: Config) -> Result<(), String> {
    let tls = config.server_tls().map_err(|e| e.to_string())?;
    let acceptor = http::listener::NoDelayAcceptor::bind(&config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let (gate, slot) = http::startup::gate();
    let grace = Duration::from_secs(config.shutdown_timeout);
    let server = async {
        match tls {
            None => run(acceptor, gate, "http", grace).await,
            Some(tls) => {
                let certificate = ServerCertificate::load(&tls.cert_file, &tls.key_file)?;
                let server_config = certificate.server_config()?;
                certificate.watch(tls.reload_interval);
                let acceptor = http::listener::TlsAcceptor::new(acceptor, server_config);
                run(acceptor, gate, "https", grace).await
            }
        }
    };
    tokio::pin!(server);
    tokio::select! {
        stopped = &mut server => stopped?,
        started = start_app(&config, slot) => {
            started?;
            server.await?;
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Opens the backends, reconciles the configured repositories and puts the app in `slot`.
async fn start_app(config: &Config, slot: http::startup::AppSlot<http::front::FrontDoor>) -> Result<(), String> {
    let backends = bootstrap::connect(config).await.map_err(|e| e.to_string())?;
    let state = bootstrap::app_state(config, &backends).map_err(|e| e.to_string())?;
    match state.auth.bootstrap_admin(config.admin_token.as_deref()).await {
        Ok(Some(secret)) => println!("Generated admin token (shown once, store it now): {secret}"),
        Ok(None) => {}
        Err(e) => return Err(format!("admin token: {e}")),
    }
    let report = state
        .repositories
        .apply_config(config.repositories.clone(), config.prune)
        .await
        .map_err(|e| format!("[[repository]] config: {e}"))?;
    tracing::info!(
        created = ?report.created,
        updated = ?report.updated,
        deleted = ?report.deleted,
        unchanged = report.unchanged.len(),
        "repositories from config applied"
    );

    // Whatever a killed process left in the temp dir, before anything new is written there.
    sweep_temp_files(&state, Duration::ZERO).await;
    spawn_upload_reaper(state.clone());
    spawn_gc(state.clone(), config.gc_interval);
    spawn_retention(state.clone(), config.retention_interval);
    state.remote.access().spawn_flusher();
    state.registry.pulls().spawn_flusher();
    spawn_temp_sweeper(state.clone());
    spawn_disk_watch(state.clone());
    slot.fill(http::routes(state));
    tracing::info!("ready");
    Ok(())
}

/// Serves `app` on `acceptor` until SIGTERM/SIGINT, then lets requests finish for `grace`.
async fn run<A, E>(acceptor: A, app: E, scheme: &str, grace: Duration) -> Result<(), String>
where
    A: poem::listener::Acceptor + 'static,
    E: poem::Endpoint + 'static,
{
    for addr in acceptor.local_addr() {
        tracing::info!(address = %addr, scheme, "listening");
    }
    poem::Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, shutdown_signal(), Some(grace))
        .await
        .map_err(|e| format!("server: {e}"))
}

/// Reaps registry uploads abandoned for a day, hourly. Every replica runs it; deleting a session
/// twice is harmless.
fn spawn_upload_reaper(state: std::sync::Arc<http::AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match state.registry.reap_uploads().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(reaped = n, "abandoned registry uploads reaped"),
                Err(e) => tracing::warn!(error = %e, "reaping registry uploads failed"),
            }
        }
    });
}

/// Runs garbage collection every `interval` seconds (0: never), the first one an interval after
/// start. Every replica ticks; the `gc:run` lease lets one of them run at a time.
fn spawn_gc(state: std::sync::Arc<http::AppState>, interval: u64) {
    if interval == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(interval));
        tick.tick().await;
        loop {
            tick.tick().await;
            match state.gc.run(false).await {
                Ok(_) => {}
                Err(artifactapi::app::gc::GcError::AlreadyRunning) => {
                    tracing::debug!("garbage collection already running on another replica");
                }
                Err(e) => tracing::warn!(error = %e, "garbage collection failed"),
            }
        }
    });
}

/// Runs every repository's retention policies every `interval` seconds (0: never), the first
/// one an interval after start; the `retention:run` lease lets one replica run at a time.
fn spawn_retention(state: std::sync::Arc<http::AppState>, interval: u64) {
    if interval == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(interval));
        tick.tick().await;
        loop {
            tick.tick().await;
            match state.retention.run(false).await {
                Ok(_) => {}
                Err(artifactapi::app::retention::RetentionError::AlreadyRunning) => {
                    tracing::debug!("retention already running on another replica");
                }
                Err(e) => tracing::warn!(error = %e, "retention failed"),
            }
        }
    });
}

/// Temp files untouched this long and held by no ingest are swept periodically.
const TEMP_SWEEP_EVERY: Duration = Duration::from_secs(600);

async fn sweep_temp_files(state: &http::AppState, min_age: Duration) {
    match state.cas.sweep_temp_files(min_age).await {
        Ok(swept) if swept.files > 0 => {
            tracing::info!(files = swept.files, bytes = swept.bytes, "abandoned temp files swept");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "sweeping temp files failed"),
    }
}

/// Sweeps temp files of ingests that died without cleaning up (every `TEMP_SWEEP_EVERY`).
fn spawn_temp_sweeper(state: std::sync::Arc<http::AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TEMP_SWEEP_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            sweep_temp_files(&state, TEMP_SWEEP_EVERY).await;
        }
    });
}

/// Measures the data disk every few seconds, so the reserve is released as it fills up and put
/// back once there is room again, whether or not requests come.
fn spawn_disk_watch(state: std::sync::Arc<http::AppState>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            let disk = state.disk.clone();
            let _ = tokio::task::spawn_blocking(move || disk.maintain()).await;
        }
    });
}

/// Resolves on SIGTERM or SIGINT; in-flight requests then get `shutdown_timeout` to finish.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
