use async_trait::async_trait;
use std::time::Duration;

use super::{ByteStream, PortError};
use crate::domain::upstream_tls::UpstreamTls;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamRequest {
    pub method: Method,
    pub url: String,
    /// Header names in lower case. `authorization` values are never logged.
    pub headers: Vec<(String, String)>,
    /// Overrides the adapter's default read timeout.
    pub timeout: Option<Duration>,
    /// The remote's own TLS settings, on top of the adapter's instance-wide trust.
    pub tls: UpstreamTls,
    /// The host was named by upstream content (an index link, a token realm) rather than
    /// configured (the remote's `base_url` origin): `upstream_deny_networks` applies to it.
    pub named_by_upstream: bool,
}

pub struct UpstreamResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: ByteStream,
}

impl UpstreamResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Outbound HTTP to an upstream registry.
///
/// Contract: any HTTP status is `Ok` (the caller interprets 4xx/5xx); connection failures,
/// timeouts are `Backend`; a failed TLS handshake (or TLS material that cannot be loaded) is
/// `Tls`; a `named_by_upstream` host that is, resolves to or redirects to a denied network is
/// `Refused`, without connecting there. Redirects are followed (at most 10). The body streams:
/// a connection cut mid-body surfaces as an `Err` item in the stream, never as a short success.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Upstream: Send + Sync {
    async fn send(&self, request: UpstreamRequest) -> Result<UpstreamResponse, PortError>;
}
