//! Probing a remote's upstream: one request, nothing cached, for operators checking
//! connectivity and credentials.
use std::time::Instant;

use super::{RemoteService, fetch};
use crate::domain::error::ProxyError;
use crate::domain::path::ArtifactPath;
use crate::ports::{Method, UpstreamRequest};

/// Response headers worth showing; others (cookies, auth challenges' details) are left out.
const SHOWN_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "etag",
    "last-modified",
    "cache-control",
    "location",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeResult {
    pub url: String,
    /// `None` when no HTTP response came back.
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub headers: Vec<(String, String)>,
    pub error: Option<String>,
}

impl RemoteService {
    /// Sends one GET for `path` to the remote's upstream (with its credentials), reads only the
    /// response head and caches nothing. Access rules apply as for clients.
    pub async fn probe(&self, repo: &str, path: &ArtifactPath) -> Result<ProbeResult, ProxyError> {
        let inner = &self.inner;
        let target = inner
            .target(repo, path, &crate::app::hosted::ReadRequest::default())
            .await?;
        let request = UpstreamRequest {
            method: Method::Get,
            url: target.location.url.clone(),
            headers: fetch::request_headers(&target),
            timeout: None,
            tls: target.settings.tls.clone(),
            named_by_upstream: fetch::named_by_upstream(&target.location.url, &target.settings.base_url),
        };
        let started = Instant::now();
        let sent = inner.upstream.send(request).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        Ok(match sent {
            Ok(response) => ProbeResult {
                url: target.location.url,
                status: Some(response.status),
                latency_ms,
                headers: response
                    .headers
                    .iter()
                    .filter(|(k, _)| SHOWN_HEADERS.contains(&k.as_str()))
                    .cloned()
                    .collect(),
                error: None,
            },
            Err(e) => ProbeResult {
                url: target.location.url,
                status: None,
                latency_ms,
                headers: vec![],
                error: Some(e.to_string()),
            },
        })
    }
}
