//! One reqwest client per TLS profile: the instance's (platform store + `ca_file`) for most
//! remotes, and one more for each distinct set of per-remote TLS settings. A profile's client is
//! rebuilt when one of its files changes (checked at most every [`RECHECK`]), so a rotated CA
//! bundle or client certificate is picked up without a restart.
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

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
    profiles: Mutex<HashMap<UpstreamTls, Profile>>,
}

impl Clients {
    pub fn new(settings: ClientSettings, roots: TrustRoots) -> Result<Self, PortError> {
        let default = build(&settings, &roots, &UpstreamTls::default()).map_err(PortError::Backend)?;
        Ok(Self {
            settings,
            roots,
            default,
            profiles: Mutex::default(),
        })
    }

    /// The client for a remote's TLS settings. Unloadable TLS material is `PortError::Tls`.
    pub fn get(&self, tls: &UpstreamTls) -> Result<reqwest::Client, PortError> {
        if tls.is_default() {
            return Ok(self.default.clone());
        }
        let mut profiles = self.profiles.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        if let Some(profile) = profiles.get_mut(tls) {
            if now.duration_since(profile.checked) < RECHECK {
                return Ok(profile.client.clone());
            }
            profile.checked = now;
            if stamps(tls) == profile.stamps {
                return Ok(profile.client.clone());
            }
        }
        let stamps = stamps(tls);
        let client = build(&self.settings, &self.roots, tls).map_err(PortError::Tls)?;
        if tls.tls_insecure_skip_verify {
            tracing::warn!("TLS certificate verification is OFF for a remote (tls_insecure_skip_verify)");
        }
        if profiles.len() >= MAX_PROFILES {
            profiles.clear();
        }
        profiles.insert(
            tls.clone(),
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

fn build(settings: &ClientSettings, roots: &TrustRoots, tls: &UpstreamTls) -> Result<reqwest::Client, String> {
    let config = client_config(roots, tls)?;
    // The idle timeout is applied per request by the adapter rather than with reqwest's
    // client-wide `read_timeout`, so that `UpstreamRequest::timeout` can lengthen it as well as
    // shorten it. reqwest strips `Authorization` when a redirect changes host.
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .connect_timeout(settings.connect_timeout)
        .redirect(reqwest::redirect::Policy::limited(settings.redirects))
        .user_agent(settings.user_agent.clone());
    if let Some(proxy) = &settings.proxy {
        builder = builder.proxy(proxy.clone());
    }
    builder
        .build()
        .map_err(|e| format!("cannot build HTTP client: {}", e.without_url()))
}
