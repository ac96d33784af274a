//! The management API as the TUI needs it. JSON calls go through the client generated from the
//! committed OpenAPI spec (`clients/rust`, progenitor), so a spec change the TUI does not follow
//! fails to compile; the event stream, which no generator types, is read with the same reqwest
//! client.
use artifactapi_client::{Client, Error as ApiError, types};
use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use super::sse::{SseParser, backoff};
use super::state::{BackendRow, EventRow, Msg, OBJECT_PAGE, ObjectRow, RepoRow, Stream};

pub struct Api {
    api: Client,
    http: reqwest::Client,
    endpoint: String,
}

/// The server's `code: message` when it sent one, else the transport failure.
fn explain<E: std::fmt::Debug>(e: ApiError<E>) -> String {
    match e {
        ApiError::ErrorResponse(r) => format!("HTTP {}: {:?}", r.status().as_u16(), r.into_inner()),
        ApiError::UnexpectedResponse(r) => format!("unexpected HTTP {}", r.status().as_u16()),
        ApiError::CommunicationError(e) => format!("cannot reach the server: {}", e.without_url()),
        other => other.to_string(),
    }
}

impl Api {
    pub fn new(endpoint: &str, token: Option<&str>) -> Result<Api, String> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = token {
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| "the token holds characters a header cannot".to_string())?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("artifactapi-tui/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let endpoint = endpoint.trim_end_matches('/').to_string();
        Ok(Api {
            api: Client::new_with_client(&endpoint, http.clone()),
            http,
            endpoint,
        })
    }

    /// Every repository with its counters.
    pub async fn repositories(&self) -> Result<Vec<RepoRow>, String> {
        let mut rows = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut call = self.api.list_repositories().limit(1000u32);
            if let Some(c) = &cursor {
                call = call.cursor(c.clone());
            }
            let page = call.send().await.map_err(explain)?;
            cursor = page
                .headers()
                .get("x-next-cursor")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            rows.extend(page.into_inner().into_iter().map(|r| RepoRow {
                name: r.name,
                kind: r.kind,
                package: r.package,
                ..RepoRow::default()
            }));
            if cursor.is_none() {
                break;
            }
        }
        let stats = self.api.get_stats().send().await.map_err(explain)?.into_inner();
        for named in stats.repositories {
            if let Some(row) = rows.iter_mut().find(|r| r.name == named.name) {
                let s = named.stats;
                row.objects = s.objects;
                row.bytes = s.bytes;
                row.hits = s.hits;
                row.misses = s.misses;
                row.upstream_errors = s.upstream_errors;
            }
        }
        Ok(rows)
    }

    pub async fn objects(
        &self,
        repo: &str,
        prefix: &str,
        cursor: Option<&str>,
    ) -> Result<(Vec<ObjectRow>, Option<String>), String> {
        let mut call = self.api.list_objects().name(repo).limit(OBJECT_PAGE);
        if !prefix.is_empty() {
            call = call.prefix(prefix);
        }
        if let Some(c) = cursor {
            call = call.cursor(c);
        }
        let page = call.send().await.map_err(explain)?;
        let next = page
            .headers()
            .get("x-next-cursor")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let rows = page
            .into_inner()
            .into_iter()
            .map(|o| ObjectRow {
                path: o.path,
                size: o.size,
                class: o.class.unwrap_or_default(),
                stored_at: o.stored_at.format("%Y-%m-%d %H:%M").to_string(),
            })
            .collect();
        Ok((rows, next))
    }

    pub async fn evict(&self, repo: &str, path: &str) -> Result<String, String> {
        self.api
            .evict_object()
            .name(repo)
            .path(path)
            .send()
            .await
            .map_err(explain)?;
        Ok(format!("Evicted {path}."))
    }

    pub async fn flush(&self, repo: &str, all: bool) -> Result<String, String> {
        let removed = self
            .api
            .flush_cache()
            .name(repo)
            .scope(if all { "all" } else { "mutable" })
            .send()
            .await
            .map_err(explain)?
            .into_inner()
            .removed;
        Ok(format!("Flushed {removed} cached copies of {repo}."))
    }

    pub async fn probe(&self, repo: &str, path: &str) -> Result<String, String> {
        let body = types::ProbeInput {
            repository: repo.to_string(),
            path: path.to_string(),
        };
        let p = self
            .api
            .probe_upstream()
            .body(body)
            .send()
            .await
            .map_err(explain)?
            .into_inner();
        Ok(match (p.status, p.error) {
            (Some(status), _) => format!("Probe {}: HTTP {status} in {} ms", p.url, p.latency_ms),
            (None, Some(e)) => format!("Probe {}: failed after {} ms: {e}", p.url, p.latency_ms),
            (None, None) => format!("Probe {}: no answer", p.url),
        })
    }

    pub async fn health(&self) -> Result<Vec<BackendRow>, String> {
        let view = match self.api.readiness().send().await {
            Ok(r) => r.into_inner(),
            Err(ApiError::ErrorResponse(r)) => r.into_inner(),
            Err(e) => return Err(explain(e)),
        };
        Ok(view
            .backends
            .into_iter()
            .map(|b| BackendRow {
                name: b.name,
                ok: b.ok,
                latency_ms: b.latency_ms,
                error: b.error,
            })
            .collect())
    }

    /// Tails `/api/v2/events` until `tx` closes, reconnecting with backoff after every drop.
    pub async fn tail_events(&self, tx: UnboundedSender<Msg>) {
        let url = format!("{}/api/v2/events", self.endpoint);
        let mut attempt: u32 = 0;
        loop {
            let failure = match self.http.get(&url).send().await {
                Ok(r) if r.status().is_success() => {
                    attempt = 0;
                    if tx.send(Msg::Stream(Stream::Live)).is_err() {
                        return;
                    }
                    let mut parser = SseParser::default();
                    let mut body = r.bytes_stream();
                    let mut failure = "the server closed the stream".to_string();
                    while let Some(chunk) = body.next().await {
                        match chunk {
                            Ok(bytes) => {
                                for data in parser.push(&bytes) {
                                    if let Some(event) = event_row(&data)
                                        && tx.send(Msg::Event(event)).is_err()
                                    {
                                        return;
                                    }
                                }
                            }
                            Err(e) => {
                                failure = format!("stream broken: {}", e.without_url());
                                break;
                            }
                        }
                    }
                    failure
                }
                Ok(r) => format!("HTTP {}", r.status().as_u16()),
                Err(e) => format!("cannot reach the server: {}", e.without_url()),
            };
            attempt += 1;
            let wait = backoff(attempt);
            let status = Stream::Reconnecting {
                attempt,
                wait_secs: wait.as_secs(),
                error: failure,
            };
            if tx.send(Msg::Stream(status)).is_err() {
                return;
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// One event's JSON, as the tail shows it.
pub fn event_row(data: &str) -> Option<EventRow> {
    let v: serde_json::Value = serde_json::from_str(data).ok()?;
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let at = text("at");
    Some(EventRow {
        // `2026-12-02T14:01:40.123Z` -> `14:01:40`
        at: at.get(11..19).unwrap_or(&at).to_string(),
        kind: text("kind"),
        repository: text("repository"),
        path: text("path"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_rows() {
        let row = event_row(r#"{"kind":"fetch","repository":"pypi","path":"simple/x/","at":"2026-12-02T14:01:40.5Z"}"#)
            .unwrap();
        assert_eq!(
            (
                row.at.as_str(),
                row.kind.as_str(),
                row.repository.as_str(),
                row.path.as_str()
            ),
            ("14:01:40", "fetch", "pypi", "simple/x/")
        );
        assert_eq!(
            event_row(r#"{"kind":"flush","repository":"r","at":"x"}"#).unwrap().path,
            ""
        );
        assert_eq!(event_row("not json"), None);
    }
}
