//! `Upstream` on reqwest: outbound HTTP to the registries a remote repository proxies.
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, Stream, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use std::error::Error as _;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::clients::{ClientSettings, Clients};
use super::deny::{self, DenyList};
use crate::adapters::tls::client::{TrustRoots, tls_failure};
use crate::ports::{ByteStream, Method, PortError, Upstream, UpstreamRequest, UpstreamResponse};

const MAX_REDIRECTS: usize = 10;

#[derive(Clone, Debug)]
pub struct UpstreamConfig {
    /// Bounds TCP connect (and TLS handshake) to one upstream address.
    pub connect_timeout: Duration,
    /// Longest silence tolerated while waiting for the response head or between two body
    /// chunks. Not a whole-transfer limit: a multi-GiB download that keeps flowing is never cut.
    pub read_timeout: Duration,
    pub user_agent: String,
    /// A PEM bundle trusted on top of the platform store (the instance's `ca_file`).
    pub ca_file: Option<PathBuf>,
    /// Every request through this proxy (`upstream_proxy`), except hosts in `NO_PROXY`. `None`:
    /// the environment's `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` decide. May hold credentials:
    /// never logged.
    pub proxy: Option<String>,
    /// Where hosts named by upstream content may not connect (`upstream_deny_networks`).
    pub deny_networks: Vec<ipnet::IpNet>,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            user_agent: concat!("artifactapi/", env!("CARGO_PKG_VERSION")).to_owned(),
            ca_file: None,
            proxy: None,
            deny_networks: Vec::new(),
        }
    }
}

/// `Upstream` over shared reqwest clients (connection pools, rustls), one per TLS profile.
pub struct HttpUpstream {
    clients: Clients,
    /// Literal addresses of hosts named by upstream content are checked here, names by the
    /// guarded clients' resolver.
    deny: DenyList,
    read_timeout: Duration,
}

impl HttpUpstream {
    /// Loads the trust roots (the platform store plus `ca_file`); a bad `ca_file` or proxy URL
    /// is an error here, at startup.
    pub fn new(config: UpstreamConfig) -> Result<Self, PortError> {
        let deny = DenyList::new(config.deny_networks.clone());
        let roots = TrustRoots::load(config.ca_file.as_deref()).map_err(|e| PortError::Tls(format!("ca_file {e}")))?;
        let proxy = match &config.proxy {
            None => None,
            Some(url) => Some(
                reqwest::Proxy::all(url.as_str())
                    // Left out of the message: the URL may carry credentials.
                    .map_err(|_| PortError::Backend("upstream_proxy is not a valid proxy URL".into()))?
                    .no_proxy(reqwest::NoProxy::from_env()),
            ),
        };
        let settings = ClientSettings {
            connect_timeout: config.connect_timeout,
            user_agent: config.user_agent,
            redirects: MAX_REDIRECTS,
            proxy,
            deny: deny.clone(),
        };
        Ok(HttpUpstream {
            clients: Clients::new(settings, roots)?,
            deny,
            read_timeout: config.read_timeout,
        })
    }
}

/// The error and its causes, without the URL reqwest would print (it may carry credentials
/// or a presigned query string).
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn request_headers(headers: &[(String, String)]) -> Result<HeaderMap, PortError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let invalid = || PortError::Backend(format!("invalid upstream request header {name:?}"));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        // Values are left out of the error: this may be `authorization`.
        let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        map.append(name, value);
    }
    Ok(map)
}

/// One entry per header line, names lower case (as `http` stores them), values as text.
fn response_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Streams the body; a chunk that takes longer than `idle` to arrive, or a transport error
/// (including a body shorter than its Content-Length), ends the stream with an `Err` item.
fn body_stream<S>(body: S, idle: Duration, host: String) -> ByteStream
where
    S: Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
{
    let state = Some(Box::pin(body));
    Box::pin(stream::unfold(state, move |state| {
        let host = host.clone();
        async move {
            let mut body = state?;
            match tokio::time::timeout(idle, body.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
                Ok(None) => None,
                Ok(Some(Err(e))) => {
                    let message = format!("upstream {host}: body interrupted: {}", describe(e));
                    Some((Err(io::Error::other(message)), None))
                }
                Err(_) => {
                    let message = format!("upstream {host}: no body data for {idle:?}");
                    Some((Err(io::Error::new(io::ErrorKind::TimedOut, message)), None))
                }
            }
        }
    }))
}

#[async_trait]
impl Upstream for HttpUpstream {
    async fn send(&self, request: UpstreamRequest) -> Result<UpstreamResponse, PortError> {
        // Parsed here so that errors can name the host without echoing the URL.
        let url =
            url::Url::parse(&request.url).map_err(|e| PortError::Backend(format!("invalid upstream URL: {e}")))?;
        let host = url.host_str().unwrap_or("unknown host").to_owned();
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
        };
        let idle = request.timeout.unwrap_or(self.read_timeout);
        let guarded = request.named_by_upstream && !self.deny.is_empty();
        if guarded {
            self.deny
                .check_literal(&url)
                .map_err(|denied| PortError::Refused(denied.0))?;
        }
        let client = self.clients.get(&request.tls, guarded).map_err(|e| match e {
            PortError::Tls(reason) => PortError::Tls(format!("{method} upstream {host}: {reason}")),
            other => other,
        })?;
        let builder = client
            .request(method.clone(), url)
            .headers(request_headers(&request.headers)?);

        let response = match tokio::time::timeout(idle, builder.send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                if let Some(denied) = deny::denied_in(&e) {
                    return Err(PortError::Refused(denied));
                }
                if let Some(reason) = tls_failure(&e) {
                    return Err(PortError::Tls(format!("{method} upstream {host}: {reason}")));
                }
                return Err(PortError::Backend(format!("{method} upstream {host}: {}", describe(e))));
            }
            Err(_) => {
                return Err(PortError::Backend(format!(
                    "{method} upstream {host}: no response within {idle:?}"
                )));
            }
        };
        let status = response.status().as_u16();
        tracing::debug!(%method, host = %host, status, "upstream response");
        let headers = response_headers(response.headers());
        let body = body_stream(response.bytes_stream(), idle, host);
        Ok(UpstreamResponse { status, headers, body })
    }
}
