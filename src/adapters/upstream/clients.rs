//! One reqwest client per TLS profile: the instance's (platform store + `ca_file`) for most
//! remotes, and one more for each distinct set of per-remote TLS settings. A profile's client is
//! rebuilt when one of its files changes (checked at most every [`RECHECK`]), so a rotated CA
//! bundle or client certificate is picked up without a restart.
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use super::deny::{DenyList, GuardedResolver, redirect_policy};
use crate::adapters::tls::client::{TrustRoots, client_config};
use crate::domain::upstream_tls::UpstreamTls;
use crate::ports::PortError;

const RECHECK: Duration = Duration::from_secs(10);
/// Profiles kept at most (one per distinct remote setting); the map is cleared past this.
const MAX_PROFILES: usize = 256;

/// What every client shares besides TLS.
pub(super) struct ClientSettings {
    pub connect_timeout: Duration,
    pub user_agent: String,
    pub redirects: usize,
    /// `upstream_proxy`; `None` means the environment's `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`.
    pub proxy: Option<reqwest::Proxy>,
    /// `upstream_deny_networks`, for the guarded clients (hosts named by upstream content).
    pub deny: DenyList,
}

type Stamps = Vec<Option<(u64, SystemTime)>>;

struct Profile {
    client: reqwest::Client,
    stamps: Stamps,
    checked: Instant,
}

pub(super) struct Clients {
    settings: ClientSettings,
    roots: TrustRoots,
    default: reqwest::Client,
    default_guarded: reqwest::Client,
    /// By TLS settings and whether the client is guarded.
    profiles: Mutex<HashMap<(UpstreamTls, bool), Profile>>,
}

impl Clients {
    pub fn new(settings: ClientSettings, roots: TrustRoots) -> Result<Self, PortError> {
        let default = build(&settings, &roots, &UpstreamTls::default(), false).map_err(PortError::Backend)?;
        let default_guarded = build(&settings, &roots, &UpstreamTls::default(), true).map_err(PortError::Backend)?;
        Ok(Self {
            settings,
            roots,
            default,
            default_guarded,
            profiles: Mutex::default(),
        })
    }

    /// The client for a remote's TLS settings; `guarded` for hosts named by upstream content
    /// (resolves and redirects only outside `upstream_deny_networks`). Unloadable TLS material is
    /// `PortError::Tls`.
    pub fn get(&self, tls: &UpstreamTls, guarded: bool) -> Result<reqwest::Client, PortError> {
        if tls.is_default() {
            return Ok(if guarded {
                self.default_guarded.clone()
            } else {
                self.default.clone()
            });
        }
        let key = (tls.clone(), guarded);
        let mut profiles = self.profiles.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        if let Some(profile) = profiles.get_mut(&key) {
            if now.duration_since(profile.checked) < RECHECK {
                return Ok(profile.client.clone());
            }
            profile.checked = now;
            if stamps(tls) == profile.stamps {
                return Ok(profile.client.clone());
            }
        }
        let stamps = stamps(tls);
        let client = build(&self.settings, &self.roots, tls, guarded).map_err(PortError::Tls)?;
        if tls.tls_insecure_skip_verify {
            tracing::warn!("TLS certificate verification is OFF for a remote (tls_insecure_skip_verify)");
        }
        if profiles.len() >= MAX_PROFILES {
            profiles.clear();
        }
        profiles.insert(
            key,
            Profile {
                client: client.clone(),
                stamps,
                checked: now,
            },
        );
        Ok(client)
    }
}

/// Size and modification time of each file a profile reads.
fn stamps(tls: &UpstreamTls) -> Stamps {
    [&tls.ca_file, &tls.client_cert_file, &tls.client_key_file]
        .into_iter()
        .flatten()
        .map(|path| {
            let meta = std::fs::metadata(Path::new(path)).ok()?;
            Some((meta.len(), meta.modified().ok()?))
        })
        .collect()
}

/// A guarded client resolves names itself and drops denied addresses; through a proxy the
/// proxy resolves the upstream's name, so there only literal addresses are checked.
fn build(
    settings: &ClientSettings,
    roots: &TrustRoots,
    tls: &UpstreamTls,
    guarded: bool,
) -> Result<reqwest::Client, String> {
    let config = client_config(roots, tls)?;
    // The idle timeout is applied per request by the adapter rather than with reqwest's
    // client-wide `read_timeout`, so that `UpstreamRequest::timeout` can lengthen it as well as
    // shorten it. reqwest strips `Authorization` when a redirect changes host.
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .connect_timeout(settings.connect_timeout)
        .user_agent(settings.user_agent.clone());
    builder = if guarded {
        builder
            .redirect(redirect_policy(settings.deny.clone(), settings.redirects))
            .dns_resolver(std::sync::Arc::new(GuardedResolver {
                deny: settings.deny.clone(),
            }))
    } else {
        builder.redirect(reqwest::redirect::Policy::limited(settings.redirects))
    };
    if let Some(proxy) = &settings.proxy {
        builder = builder.proxy(proxy.clone());
    }
    builder
        .build()
        .map_err(|e| format!("cannot build HTTP client: {}", e.without_url()))
}
