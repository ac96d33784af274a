//! GET/HEAD on `/api/v1/remote/{name}/{path}`: the pull-through cache over HTTP, with
//! `X-Artifact-Source` (cache or remote) and `X-Artifact-Stale` on stale serves.
use poem::http::{StatusCode, header};
use poem::{Body, Response};

use super::AppState;
use super::errors::HttpError;
use super::files::{StoredBody, not_modified};
use crate::app::hosted::ReadRequest;
use crate::app::proxy::{ProxyRead, Source};
use crate::domain::error::ProxyError;
use crate::domain::path::ArtifactPath;

fn source_header(source: Source) -> &'static str {
    match source {
        Source::Cache => "cache",
        Source::Remote => "remote",
    }
}

pub(super) async fn read(
    repo: &str,
    path: &ArtifactPath,
    request: ReadRequest<'_>,
    state: &AppState,
) -> Result<Response, HttpError> {
    let read = state.remote.read(repo, path, request).await?;
    Ok(respond(repo, read, state))
}

/// The response for a remote read (also for a remote member of a virtual; `repo` labels the
/// metrics).
pub(super) fn respond(repo: &str, read: ProxyRead, state: &AppState) -> Response {
    let source = source_header(read.source());
    match read {
        ProxyRead::NotModified(object) => {
            let mut response = not_modified(&object.digest);
            response
                .headers_mut()
                .insert("x-artifact-source", header::HeaderValue::from_static(source));
            response
        }
        ProxyRead::Cached {
            object,
            span,
            body,
            stale,
        } => {
            let stored = StoredBody {
                digest: &object.digest,
                size: object.size,
                content_type: object.content_type.as_deref(),
                modified: object.fetched_at,
                span,
            };
            let mut builder = stored.builder().header("X-Artifact-Source", source);
            if stale {
                builder = builder.header("X-Artifact-Stale", "true");
            }
            stored.finish(builder, repo, body, state)
        }
        ProxyRead::Streaming {
            size,
            content_type,
            body,
        } => {
            let mut builder = Response::builder()
                .header("X-Artifact-Source", source)
                .content_type(content_type.as_deref().unwrap_or("application/octet-stream"));
            if let Some(size) = size {
                builder = builder.header(header::CONTENT_LENGTH, size);
            }
            builder.body(Body::from_bytes_stream(state.metrics.count_sent(repo, 200, body)))
        }
        ProxyRead::UpstreamHead { size, content_type } => {
            let mut builder = Response::builder()
                .header("X-Artifact-Source", source)
                .content_type(content_type.as_deref().unwrap_or("application/octet-stream"));
            if let Some(size) = size {
                builder = builder.header(header::CONTENT_LENGTH, size);
            }
            builder.finish()
        }
    }
}

impl From<ProxyError> for HttpError {
    fn from(e: ProxyError) -> Self {
        let message = e.to_string();
        match e {
            ProxyError::RepositoryNotFound(_) => HttpError::new(StatusCode::NOT_FOUND, "REPOSITORY_NOT_FOUND", message),
            ProxyError::WrongKind { .. } => HttpError::new(StatusCode::NOT_FOUND, "REPOSITORY_KIND_MISMATCH", message),
            ProxyError::UnsupportedPackage(_) => {
                HttpError::new(StatusCode::NOT_IMPLEMENTED, "NOT_IMPLEMENTED", message)
            }
            ProxyError::Forbidden(_) => HttpError::new(StatusCode::FORBIDDEN, "ACCESS_DENIED", message),
            ProxyError::NotFound(_) => HttpError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message),
            ProxyError::NotCachedOffline(_) => HttpError::new(StatusCode::NOT_FOUND, "NOT_CACHED_OFFLINE", message),
            ProxyError::UpstreamFailed(_) => HttpError::new(StatusCode::BAD_GATEWAY, "UPSTREAM_FAILED", message),
            ProxyError::UpstreamTls(_) => HttpError::new(StatusCode::BAD_GATEWAY, "UPSTREAM_TLS", message),
            ProxyError::RangeNotSatisfiable { size } => {
                let mut err = HttpError::new(StatusCode::RANGE_NOT_SATISFIABLE, "RANGE_NOT_SATISFIABLE", message);
                err.headers.push((header::CONTENT_RANGE, format!("bytes */{size}")));
                err
            }
            ProxyError::InsufficientStorage(cause) => {
                HttpError::from(crate::domain::error::HostedError::InsufficientStorage(cause))
            }
            ProxyError::Unavailable(cause) => HttpError::from(crate::domain::error::HostedError::Unavailable(cause)),
        }
    }
}
