//! Configuration: an optional TOML file, then `ARTIFACTAPI_<KEY>` environment variables on top,
//! then defaults (DESIGN §8). Backend URLs are parsed here into typed choices; an unknown scheme
//! is an error that lists the supported ones.
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::domain::repository::RepositoryDraft;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid value for {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// Every key, as read from the file; see `KEYS` for their environment names and types.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: String,
    pub data_dir: PathBuf,
    /// Default: `sqlite://<data_dir>/meta.db?mode=rwc`.
    pub database_url: Option<String>,
    /// Default: `fs://<data_dir>/blobs`.
    pub blob_store: Option<String>,
    pub cache_url: String,
    pub s3_access_key: Option<String>,
    pub s3_secret_key: Option<String>,
    pub admin_token: Option<String>,
    /// Encrypts upstream passwords at rest. Default: a random key kept in `<data_dir>/secret.key`
    /// (replicas must share one, so set it when running several).
    pub secret_key: Option<String>,
    pub anonymous_read: bool,
    pub max_upload_size: u64,
    /// Bytes kept free on the data directory's disk: writes that would leave less are refused
    /// (507) and a reserve file of this size keeps deletes working on a full disk (0: off).
    pub disk_reserve: u64,
    pub upstream_connect_timeout: u64,
    pub upstream_read_timeout: u64,
    /// Networks (CIDR or single addresses) that hosts named by upstream content (index links,
    /// token realms) may not connect to; `None`: `DEFAULT_DENY_NETWORKS`.
    pub upstream_deny_networks: Option<Vec<String>>,
    pub shutdown_timeout: u64,
    /// Seconds between garbage collection runs in `serve` (one replica at a time); 0 = never
    /// (run `artifactapi gc` or `POST /api/v2/gc` instead).
    pub gc_interval: u64,
    /// Seconds an unreferenced blob is kept after it was last stored or deduplicated onto.
    pub gc_grace_period: u64,
    /// Seconds between runs of every repository's retention policies in `serve` (one replica
    /// at a time); 0 = never (`POST /api/v2/retention`, and fetches into a remote with a
    /// `max_bytes`, still enforce them).
    pub retention_interval: u64,
    pub log_format: LogFormat,
    pub log_level: String,
    /// One line per request: `off` (default), `stdout`, `stderr` or a file path (appended to).
    /// Separate from `log_level`, which no longer logs each request.
    pub access_log: String,
    /// Delete config-managed repositories that are no longer listed in `[[repository]]`.
    pub prune: bool,
    /// A PEM bundle of CAs trusted for every outbound TLS connection (upstreams, S3), on top of
    /// the platform store.
    pub ca_file: Option<PathBuf>,
    /// Proxy URL for upstream requests (`http://[user:password@]host:port`); never logged.
    /// Unset: `HTTPS_PROXY`/`HTTP_PROXY` from the environment. `NO_PROXY` applies to both.
    pub upstream_proxy: Option<String>,
    /// With `tls_key_file`: serve HTTPS instead of plain HTTP.
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// Seconds between checks of the certificate files for a change; 0 = reload on SIGHUP only.
    pub tls_reload_interval: u64,
    /// Peers (IPs or CIDR ranges) whose `X-Forwarded-Proto`/`X-Forwarded-Host` are believed.
    pub trusted_proxies: Vec<String>,
    /// An armored OpenPGP secret key that signs Terraform `SHA256SUMS`; unset: a key generated
    /// on the first start and kept in the database (shared by every replica).
    pub terraform_signing_key_file: Option<PathBuf>,
    /// The passphrase of `terraform_signing_key_file`, if it has one; never logged.
    pub terraform_signing_key_passphrase: Option<String>,
    /// Plugin protocol versions the provider registry advertises for every provider version.
    pub terraform_protocols: Vec<String>,
    #[serde(rename = "repository")]
    pub repositories: Vec<RepositoryDraft>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8000".into(),
            data_dir: PathBuf::from("data"),
            database_url: None,
            blob_store: None,
            cache_url: "memory://".into(),
            s3_access_key: None,
            s3_secret_key: None,
            admin_token: None,
            secret_key: None,
            anonymous_read: true,
            max_upload_size: 10 * 1024 * 1024 * 1024,
            disk_reserve: 64 * 1024 * 1024,
            upstream_connect_timeout: 10,
            upstream_read_timeout: 60,
            upstream_deny_networks: None,
            shutdown_timeout: 30,
            gc_interval: 3600,
            gc_grace_period: 3600,
            retention_interval: 600,
            log_format: LogFormat::Human,
            log_level: "info".into(),
            access_log: "off".into(),
            prune: false,
            ca_file: None,
            upstream_proxy: None,
            tls_cert_file: None,
            tls_key_file: None,
            tls_reload_interval: 30,
            trusted_proxies: DEFAULT_TRUSTED_PROXIES.iter().map(|s| s.to_string()).collect(),
            terraform_signing_key_file: None,
            terraform_signing_key_passphrase: None,
            terraform_protocols: vec!["5.0".into(), "6.0".into()],
            repositories: Vec::new(),
        }
    }
}

/// Loopback and private ranges: where a reverse proxy in front of this server normally is.
pub const DEFAULT_TRUSTED_PROXIES: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
];

/// Loopback, link-local (which holds the common cloud metadata address 169.254.169.254),
/// "this host", and the metadata addresses outside link-local (Alibaba, AWS IPv6, Azure's
/// wireserver). Private networks are not in it: internal upstreams often name internal hosts.
pub const DEFAULT_DENY_NETWORKS: &[&str] = &[
    "127.0.0.0/8",
    "::1/128",
    "0.0.0.0/8",
    "::/128",
    "169.254.0.0/16",
    "fe80::/10",
    "100.100.100.200/32",
    "fd00:ec2::254/128",
    "168.63.129.16/32",
];

#[derive(Clone, Copy)]
enum ValueType {
    Text,
    Integer,
    Boolean,
    /// Comma-separated in the environment, an array in the file.
    List,
}

/// Keys settable from the environment as `ARTIFACTAPI_<KEY>` (upper case).
const KEYS: &[(&str, ValueType)] = &[
    ("access_log", ValueType::Text),
    ("listen", ValueType::Text),
    ("data_dir", ValueType::Text),
    ("database_url", ValueType::Text),
    ("blob_store", ValueType::Text),
    ("cache_url", ValueType::Text),
    ("s3_access_key", ValueType::Text),
    ("s3_secret_key", ValueType::Text),
    ("admin_token", ValueType::Text),
    ("secret_key", ValueType::Text),
    ("anonymous_read", ValueType::Boolean),
    ("max_upload_size", ValueType::Integer),
    ("disk_reserve", ValueType::Integer),
    ("upstream_connect_timeout", ValueType::Integer),
    ("upstream_read_timeout", ValueType::Integer),
    ("upstream_deny_networks", ValueType::List),
    ("shutdown_timeout", ValueType::Integer),
    ("gc_interval", ValueType::Integer),
    ("gc_grace_period", ValueType::Integer),
    ("retention_interval", ValueType::Integer),
    ("log_format", ValueType::Text),
    ("log_level", ValueType::Text),
    ("prune", ValueType::Boolean),
    ("ca_file", ValueType::Text),
    ("upstream_proxy", ValueType::Text),
    ("tls_cert_file", ValueType::Text),
    ("tls_key_file", ValueType::Text),
    ("tls_reload_interval", ValueType::Integer),
    ("trusted_proxies", ValueType::List),
    ("terraform_signing_key_file", ValueType::Text),
    ("terraform_signing_key_passphrase", ValueType::Text),
    ("terraform_protocols", ValueType::List),
];

impl Config {
    /// Reads `file` (if any), overlays the environment given by `env`, fills defaults.
    pub fn load(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let (mut table, origin) = match file {
            Some(path) => {
                let origin = path.display().to_string();
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: origin.clone(),
                    source,
                })?;
                let table = toml::from_str::<toml::Table>(&text).map_err(|e| ConfigError::Parse {
                    path: origin.clone(),
                    message: e.message().to_string(),
                })?;
                (table, origin)
            }
            None => (toml::Table::new(), "(environment)".to_string()),
        };
        for (key, ty) in KEYS {
            let var = format!("ARTIFACTAPI_{}", key.to_ascii_uppercase());
            let Some(raw) = env(&var) else { continue };
            let value = match ty {
                ValueType::Text => toml::Value::String(raw),
                ValueType::Integer => {
                    toml::Value::Integer(raw.trim().parse::<i64>().map_err(|_| ConfigError::Invalid {
                        key,
                        message: format!("{var} must be a whole number"),
                    })?)
                }
                ValueType::List => toml::Value::Array(
                    raw.split(',')
                        .map(str::trim)
                        .filter(|item| !item.is_empty())
                        .map(|item| toml::Value::String(item.to_string()))
                        .collect(),
                ),
                ValueType::Boolean => toml::Value::Boolean(match raw.trim() {
                    "1" | "true" | "yes" => true,
                    "0" | "false" | "no" => false,
                    _ => {
                        return Err(ConfigError::Invalid {
                            key,
                            message: format!("{var} must be true or false"),
                        });
                    }
                }),
            };
            table.insert((*key).to_string(), value);
        }
        let config: Config = table.try_into().map_err(|e: toml::de::Error| ConfigError::Parse {
            path: origin,
            message: e.message().to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen
            .parse::<std::net::SocketAddr>()
            .map_err(|e| ConfigError::Invalid {
                key: "listen",
                message: format!("'{}': {e}", self.listen),
            })?;
        self.database()?;
        self.blob_store()?;
        self.cache()?;
        self.deny_networks()?;
        if self.max_upload_size == 0 {
            return Err(ConfigError::Invalid {
                key: "max_upload_size",
                message: "must be greater than 0".into(),
            });
        }
        self.server_tls()?;
        self.trusted_proxies()?;
        self.terraform_protocols()?;
        if let Some(proxy) = &self.upstream_proxy {
            check_proxy_url(proxy).map_err(|message| ConfigError::Invalid {
                key: "upstream_proxy",
                message,
            })?;
        }
        Ok(())
    }

    /// `terraform_protocols`, each checked to be `MAJOR.MINOR`.
    pub fn terraform_protocols(&self) -> Result<Vec<String>, ConfigError> {
        crate::domain::formats::terraform::hosted::parse_protocols(&self.terraform_protocols.join(",")).map_err(
            |message| ConfigError::Invalid {
                key: "terraform_protocols",
                message,
            },
        )
    }

    /// The certificate and key to serve HTTPS with, if configured (both or neither).
    pub fn server_tls(&self) -> Result<Option<ServerTls>, ConfigError> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert_file), Some(key_file)) => Ok(Some(ServerTls {
                cert_file: cert_file.clone(),
                key_file: key_file.clone(),
                reload_interval: (self.tls_reload_interval > 0)
                    .then(|| std::time::Duration::from_secs(self.tls_reload_interval)),
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError::Invalid {
                key: "tls_key_file",
                message: "required with tls_cert_file".into(),
            }),
            (None, Some(_)) => Err(ConfigError::Invalid {
                key: "tls_cert_file",
                message: "required with tls_key_file".into(),
            }),
        }
    }

    /// `trusted_proxies` parsed; a bare address is a one-address range.
    pub fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|entry| {
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| ConfigError::Invalid {
                        key: "trusted_proxies",
                        message: format!("'{entry}' is not an IP address or CIDR range"),
                    })
            })
            .collect()
    }

    pub fn database(&self) -> Result<DatabaseUrl, ConfigError> {
        let url = self
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/meta.db?mode=rwc", self.data_dir.display()));
        url.parse().map_err(|message| ConfigError::Invalid {
            key: "database_url",
            message,
        })
    }

    pub fn blob_store(&self) -> Result<BlobStoreUrl, ConfigError> {
        let url = self
            .blob_store
            .clone()
            .unwrap_or_else(|| format!("fs://{}/blobs", self.data_dir.display()));
        url.parse().map_err(|message| ConfigError::Invalid {
            key: "blob_store",
            message,
        })
    }

    pub fn cache(&self) -> Result<CacheUrl, ConfigError> {
        self.cache_url.parse().map_err(|message| ConfigError::Invalid {
            key: "cache_url",
            message,
        })
    }

    /// `upstream_deny_networks`, parsed: each entry a CIDR network or a single address.
    pub fn deny_networks(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        let listed: Vec<String> = match &self.upstream_deny_networks {
            Some(list) => list.clone(),
            None => DEFAULT_DENY_NETWORKS.iter().map(|n| n.to_string()).collect(),
        };
        listed
            .iter()
            .map(|entry| {
                entry
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| ConfigError::Invalid {
                        key: "upstream_deny_networks",
                        message: format!("'{entry}' is not a network (CIDR such as 127.0.0.0/8) or an address"),
                    })
            })
            .collect()
    }

    /// Where the access log goes (`access_log`).
    pub fn access_log(&self) -> AccessLogTarget {
        match self.access_log.trim() {
            "" | "off" => AccessLogTarget::Off,
            "stdout" => AccessLogTarget::Stdout,
            "stderr" => AccessLogTarget::Stderr,
            path => AccessLogTarget::File(PathBuf::from(path)),
        }
    }

    /// Where CAS temp files go; beside an fs blob store so the final put is a link.
    pub fn scratch_dir(&self) -> PathBuf {
        self.data_dir.join("tmp")
    }
}

/// The access log's destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessLogTarget {
    Off,
    Stdout,
    Stderr,
    File(PathBuf),
}

/// HTTPS for `serve`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerTls {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// How often the files are checked for a change; `None`: on SIGHUP only.
    pub reload_interval: Option<std::time::Duration>,
}

/// An http(s) proxy URL with a host; the message never repeats the URL (it may hold a password).
fn check_proxy_url(raw: &str) -> Result<(), String> {
    let url = url::Url::parse(raw).map_err(|_| format!("'{}' is not a URL", scheme_of(raw)))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "'{}' is not supported (use http://host:port or https://host:port)",
            scheme_of(raw)
        ));
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(String),
}

impl FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once("://").map(|(scheme, _)| scheme) {
            Some("sqlite") => Ok(DatabaseUrl::Sqlite(s.to_string())),
            Some("postgres" | "postgresql") => Ok(DatabaseUrl::Postgres(s.to_string())),
            _ => Err(format!(
                "unsupported database URL '{}' (supported: sqlite://, postgres://)",
                scheme_of(s)
            )),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobStoreUrl {
    Fs(PathBuf),
    /// `s3://bucket[/prefix]?endpoint=http://host:9000&region=us-east-1`
    S3 {
        bucket: String,
        prefix: String,
        endpoint: String,
        region: String,
    },
}

impl FromStr for BlobStoreUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("fs://") {
            if path.is_empty() {
                return Err("fs:// needs a directory, e.g. fs://data/blobs".into());
            }
            return Ok(BlobStoreUrl::Fs(PathBuf::from(path)));
        }
        if s.starts_with("s3://") {
            let url = url::Url::parse(s).map_err(|e| format!("invalid s3 URL: {e}"))?;
            let bucket = url
                .host_str()
                .filter(|b| !b.is_empty())
                .ok_or("s3:// needs a bucket: s3://bucket?endpoint=...")?
                .to_string();
            let mut endpoint = None;
            let mut region = "us-east-1".to_string();
            for (k, v) in url.query_pairs() {
                match k.as_ref() {
                    "endpoint" => endpoint = Some(v.trim_end_matches('/').to_string()),
                    "region" => region = v.to_string(),
                    other => {
                        return Err(format!(
                            "unknown s3 URL parameter '{other}' (supported: endpoint, region)"
                        ));
                    }
                }
            }
            let endpoint = endpoint.ok_or("s3:// needs ?endpoint=http(s)://host:port")?;
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err("s3 endpoint must start with http:// or https://".into());
            }
            let prefix = url.path().trim_matches('/').to_string();
            return Ok(BlobStoreUrl::S3 {
                bucket,
                prefix,
                endpoint,
                region,
            });
        }
        Err(format!(
            "unsupported blob store '{}' (supported: fs://, s3://)",
            scheme_of(s)
        ))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheUrl {
    Memory,
    Redis(String),
}

impl FromStr for CacheUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once("://").map(|(scheme, _)| scheme) {
            Some("memory") => Ok(CacheUrl::Memory),
            Some("redis" | "rediss") => Ok(CacheUrl::Redis(s.to_string())),
            _ => Err(format!(
                "unsupported cache URL '{}' (supported: memory://, redis://)",
                scheme_of(s)
            )),
        }
    }
}

/// The scheme only, so an error message never echoes credentials from a URL.
fn scheme_of(s: &str) -> String {
    match s.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://…"),
        None => "(no scheme)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_embedded() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.listen, "0.0.0.0:8000");
        assert_eq!(
            c.database().unwrap(),
            DatabaseUrl::Sqlite("sqlite://data/meta.db?mode=rwc".into())
        );
        assert_eq!(c.blob_store().unwrap(), BlobStoreUrl::Fs("data/blobs".into()));
        assert_eq!(c.cache().unwrap(), CacheUrl::Memory);
        assert!(c.anonymous_read);
        assert_eq!(c.access_log(), AccessLogTarget::Off);
    }

    #[test]
    fn access_log_targets() {
        for (raw, want) in [
            ("off", AccessLogTarget::Off),
            ("stdout", AccessLogTarget::Stdout),
            ("stderr", AccessLogTarget::Stderr),
            ("/var/log/aa.log", AccessLogTarget::File("/var/log/aa.log".into())),
        ] {
            let c = Config::load(None, env(&[("ARTIFACTAPI_ACCESS_LOG", raw)])).unwrap();
            assert_eq!(c.access_log(), want, "{raw}");
        }
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            r#"
            listen = "127.0.0.1:9000"
            anonymous_read = true
            [[repository]]
            name = "files"
            kind = "local"
            package = "generic"
            "#,
        )
        .unwrap();
        let c = Config::load(
            Some(&path),
            env(&[
                ("ARTIFACTAPI_LISTEN", "127.0.0.1:9001"),
                ("ARTIFACTAPI_ANONYMOUS_READ", "false"),
                ("ARTIFACTAPI_MAX_UPLOAD_SIZE", "42"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9001");
        assert!(!c.anonymous_read);
        assert_eq!(c.max_upload_size, 42);
        assert_eq!(c.repositories.len(), 1);
    }

    #[test]
    fn bad_values_name_the_key() {
        let table = [
            (vec![("ARTIFACTAPI_CACHE_URL", "memcached://x")], "cache_url"),
            (vec![("ARTIFACTAPI_BLOB_STORE", "gcs://bucket")], "blob_store"),
            (vec![("ARTIFACTAPI_BLOB_STORE", "s3://bucket")], "blob_store"),
            (
                vec![("ARTIFACTAPI_DATABASE_URL", "mysql://u:secret@h/db")],
                "database_url",
            ),
            (vec![("ARTIFACTAPI_LISTEN", "nowhere")], "listen"),
            (vec![("ARTIFACTAPI_MAX_UPLOAD_SIZE", "big")], "max_upload_size"),
            (vec![("ARTIFACTAPI_ANONYMOUS_READ", "maybe")], "anonymous_read"),
            (vec![("ARTIFACTAPI_TLS_CERT_FILE", "/c.pem")], "tls_key_file"),
            (vec![("ARTIFACTAPI_TLS_KEY_FILE", "/k.pem")], "tls_cert_file"),
            (
                vec![("ARTIFACTAPI_TRUSTED_PROXIES", "10.0.0.0/8, nowhere")],
                "trusted_proxies",
            ),
            (
                vec![("ARTIFACTAPI_UPSTREAM_PROXY", "socks5://u:secret@127.0.0.1:1080")],
                "upstream_proxy",
            ),
            (
                vec![("ARTIFACTAPI_UPSTREAM_PROXY", "u:secret@nowhere")],
                "upstream_proxy",
            ),
            (
                vec![("ARTIFACTAPI_TERRAFORM_PROTOCOLS", "5.0, six")],
                "terraform_protocols",
            ),
            (vec![("ARTIFACTAPI_TERRAFORM_PROTOCOLS", "")], "terraform_protocols"),
        ];
        for (vars, key) in table {
            let err = Config::load(None, env(&vars)).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { key: k, .. } if *k == key),
                "{vars:?}: {err}"
            );
            assert!(!err.to_string().contains("secret"), "no credentials echoed: {err}");
        }
    }

    #[test]
    fn tls_and_proxy_keys() {
        let c = Config::load(
            None,
            env(&[
                ("ARTIFACTAPI_TLS_CERT_FILE", "/etc/a/cert.pem"),
                ("ARTIFACTAPI_TLS_KEY_FILE", "/etc/a/key.pem"),
                ("ARTIFACTAPI_TLS_RELOAD_INTERVAL", "0"),
                ("ARTIFACTAPI_TRUSTED_PROXIES", "10.1.2.3, 192.168.0.0/16"),
                ("ARTIFACTAPI_UPSTREAM_PROXY", "http://user:pw@127.0.0.1:3128"),
                ("ARTIFACTAPI_CA_FILE", "/etc/a/ca.pem"),
            ]),
        )
        .unwrap();
        let tls = c.server_tls().unwrap().unwrap();
        assert_eq!(tls.key_file, PathBuf::from("/etc/a/key.pem"));
        assert_eq!(tls.reload_interval, None);
        let proxies = c.trusted_proxies().unwrap();
        assert_eq!(proxies.len(), 2);
        assert!(proxies[0].contains(&"10.1.2.3".parse::<std::net::IpAddr>().unwrap()));
        assert_eq!(c.ca_file, Some(PathBuf::from("/etc/a/ca.pem")));
        let defaults = Config::load(None, env(&[])).unwrap();
        assert_eq!(defaults.server_tls().unwrap(), None);
        let trusted = defaults.trusted_proxies().unwrap();
        assert!(
            trusted
                .iter()
                .any(|n| n.contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()))
        );
        assert!(
            !trusted
                .iter()
                .any(|n| n.contains(&"203.0.113.7".parse::<std::net::IpAddr>().unwrap()))
        );
        assert_eq!(defaults.terraform_protocols().unwrap(), vec!["5.0", "6.0"]);
        let tf = Config::load(
            None,
            env(&[
                ("ARTIFACTAPI_TERRAFORM_PROTOCOLS", "6.0"),
                ("ARTIFACTAPI_TERRAFORM_SIGNING_KEY_FILE", "/etc/a/tf.asc"),
            ]),
        )
        .unwrap();
        assert_eq!(tf.terraform_protocols().unwrap(), vec!["6.0"]);
        assert_eq!(tf.terraform_signing_key_file, Some(PathBuf::from("/etc/a/tf.asc")));
        let none = Config::load(None, env(&[("ARTIFACTAPI_TRUSTED_PROXIES", "")])).unwrap();
        assert!(none.trusted_proxies().unwrap().is_empty());
    }

    #[test]
    fn unknown_scheme_lists_supported() {
        let err = "gcs://b".parse::<BlobStoreUrl>().unwrap_err();
        assert!(err.contains("fs://") && err.contains("s3://"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "lisen = \"x\"\n").unwrap();
        let err = Config::load(Some(&path), env(&[])).unwrap_err();
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn s3_url() {
        let u: BlobStoreUrl = "s3://artifacts/prod?endpoint=http://127.0.0.1:9000/&region=eu-west-1"
            .parse()
            .unwrap();
        assert_eq!(
            u,
            BlobStoreUrl::S3 {
                bucket: "artifacts".into(),
                prefix: "prod".into(),
                endpoint: "http://127.0.0.1:9000".into(),
                region: "eu-west-1".into()
            }
        );
    }
}
