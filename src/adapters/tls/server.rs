//! The certificate `serve` presents, from `tls_cert_file` + `tls_key_file`. It is swapped in
//! place on SIGHUP, or when a poll of the two files' size and modification time sees a change:
//! new handshakes get the new certificate, open connections carry on with theirs. A new pair
//! that does not load (unreadable, mismatched key, half written) keeps the old one, and the log
//! says why.
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use super::{provider, read_certs, read_key};

#[derive(Debug)]
pub struct ServerCertificate {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
}

/// What the poll compares: each file's size and modification time (`None` if unreadable).
type Stamps = [Option<(u64, SystemTime)>; 2];

impl ServerCertificate {
    /// Loads the pair; an error names the file at fault, never the key's contents.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Arc<Self>, String> {
        let key = load_pair(cert_file, key_file)?;
        Ok(Arc::new(Self {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            current: RwLock::new(Arc::new(key)),
        }))
    }

    /// A server config that asks this resolver at every handshake; ALPN offers HTTP/2 and
    /// HTTP/1.1.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, String> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS versions: {e}"))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// Reads both files again and swaps the certificate in if they load.
    pub fn reload(&self) -> Result<(), String> {
        let key = load_pair(&self.cert_file, &self.key_file)?;
        let mut current = self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        *current = Arc::new(key);
        Ok(())
    }

    fn stamps(&self) -> Stamps {
        let stamp = |path: &Path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.len(), meta.modified().ok()?))
        };
        [stamp(&self.cert_file), stamp(&self.key_file)]
    }

    /// Reloads on SIGHUP, and every `poll` (when set) if the files changed. A pair that failed
    /// is not retried (nor logged again) until the files change once more.
    pub fn watch(self: Arc<Self>, poll: Option<Duration>) {
        tokio::spawn(async move {
            let mut hangup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                Ok(signal) => Some(signal),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGHUP; the certificate reloads on file change only");
                    None
                }
            };
            let mut ticker = poll.map(|every| {
                let mut ticker = tokio::time::interval(every);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticker
            });
            let mut loaded = self.stamps();
            let mut failed: Option<Stamps> = None;
            loop {
                let trigger = tokio::select! {
                    Some(()) = next_hangup(&mut hangup) => "SIGHUP",
                    () = next_tick(&mut ticker) => "file change",
                    else => break,
                };
                let now = self.stamps();
                if trigger == "file change" && (now == loaded || Some(now) == failed) {
                    continue;
                }
                let this = self.clone();
                let outcome = tokio::task::spawn_blocking(move || this.reload())
                    .await
                    .unwrap_or_else(|e| Err(format!("reload task failed: {e}")));
                match outcome {
                    Ok(()) => {
                        loaded = now;
                        failed = None;
                        tracing::info!(trigger, cert_file = %self.cert_file.display(), "TLS certificate reloaded");
                    }
                    Err(reason) => {
                        failed = Some(now);
                        tracing::error!(
                            trigger,
                            reason,
                            "new TLS certificate not loaded; still serving the previous one"
                        );
                    }
                }
            }
        });
    }
}

async fn next_hangup(hangup: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match hangup {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

async fn next_tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

impl ResolvesServerCert for ServerCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        Some(current.clone())
    }
}

fn load_pair(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, String> {
    let chain = read_certs(cert_file).map_err(|e| format!("tls_cert_file {e}"))?;
    let key = read_key(key_file).map_err(|e| format!("tls_key_file {e}"))?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| {
        format!(
            "tls_cert_file {} and tls_key_file {} do not match or cannot be used: {e}",
            cert_file.display(),
            key_file.display()
        )
    })
}
