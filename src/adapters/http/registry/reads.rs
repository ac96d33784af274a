//! Pulls: manifests, blobs (with ranges), tags, the catalog and referrers.
use poem::http::{StatusCode, header};
use poem::{Body, Response, ResponseBuilder};
use serde_json::json;

use super::Call;
use super::errors::OciError;
use crate::app::hosted::etag_of;
use crate::app::registry::PullSource;
use crate::domain::digest::Digest;
use crate::domain::range::conditional_range;
use crate::domain::registry::path::{ImageName, Reference};
use crate::domain::token::Scope;

pub async fn manifest(
    call: &Call<'_>,
    name: &ImageName,
    reference: &Reference,
    head: bool,
) -> Result<Response, OciError> {
    call.authorize(Scope::Read, name)?;
    let accept = crate::adapters::http::accept_header(call.req);
    let found = call
        .state
        .registry
        .read_manifest(name, reference, head, accept.as_deref())
        .await?;
    let row = found.row;
    let builder = provenance(Response::builder(), name, &row.repo, found.source)
        .content_type(
            row.content_type
                .as_deref()
                .unwrap_or("application/vnd.oci.image.manifest.v1+json"),
        )
        .header("docker-content-digest", row.digest.to_string())
        .header(header::ETAG, etag_of(&row.digest))
        .header(header::CONTENT_LENGTH, row.size);
    Ok(match found.body {
        Some(body) => builder.body(Body::from_bytes_stream(call.state.metrics.count_sent(
            name.repo.as_str(),
            200,
            body,
        ))),
        None => builder.finish(),
    })
}

pub async fn blob(call: &Call<'_>, name: &ImageName, digest: &Digest, head: bool) -> Result<Response, OciError> {
    call.authorize(Scope::Read, name)?;
    // Blobs are immutable: only an `If-Range` naming another entity (or a date, as no
    // Last-Modified is sent) turns the range off.
    let range = conditional_range(call.header(header::RANGE), call.header(header::IF_RANGE), digest, None);
    let found = call.state.registry.read_blob(name, digest, range, head).await?;
    let size = found.row.size;
    let mut builder = provenance(Response::builder(), name, &found.row.repo, found.source)
        .content_type("application/octet-stream")
        .header("docker-content-digest", digest.to_string())
        .header(header::ETAG, etag_of(digest))
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, found.span.map_or(size, |s| s.len()));
    let mut status = 200;
    if let Some(span) = found.span {
        status = 206;
        builder = builder.status(StatusCode::PARTIAL_CONTENT).header(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{size}", span.start, span.end),
        );
    }
    Ok(match found.body {
        Some(body) => builder.body(Body::from_bytes_stream(call.state.metrics.count_sent(
            name.repo.as_str(),
            status,
            body,
        ))),
        None => builder.finish(),
    })
}

/// `X-Artifact-Source`, and on a virtual repository `X-Artifact-Member`: the member that answered.
fn provenance(builder: ResponseBuilder, name: &ImageName, member: &str, source: PullSource) -> ResponseBuilder {
    let builder = builder.header("X-Artifact-Source", source.as_str());
    if member != name.repo.as_str() {
        builder.header("X-Artifact-Member", member)
    } else {
        builder
    }
}

/// `Link: <...>; rel="next"` for paginated listings.
fn next_link(path: &str, n: Option<u64>, next: Option<String>) -> Option<String> {
    let (n, last) = (n?, next?);
    let last: String = url::form_urlencoded::byte_serialize(last.as_bytes()).collect();
    Some(format!("<{path}?n={n}&last={last}>; rel=\"next\""))
}

fn json_with_link(body: serde_json::Value, link: Option<String>) -> Response {
    let mut builder = Response::builder().content_type("application/json");
    if let Some(link) = link {
        builder = builder.header(header::LINK, link);
    }
    builder.body(body.to_string())
}

pub async fn tags(call: &Call<'_>, name: &ImageName) -> Result<Response, OciError> {
    call.authorize(Scope::Read, name)?;
    let n = call.page_size()?;
    let page = call.state.registry.tags(name, n, call.query("last")).await?;
    let link = next_link(&format!("/v2/{}/tags/list", name.full()), n, page.next);
    Ok(json_with_link(json!({"name": name.full(), "tags": page.tags}), link))
}

/// Lists the images of every local docker repository the caller may read. Anonymous callers
/// without anonymous read get the challenge, so clients can log in.
pub async fn catalog(call: &Call<'_>) -> Result<Response, OciError> {
    let auth = &call.state.auth;
    let principal = &call.principal;
    if let Err(e) = auth.authorize(principal, Scope::Read, None)
        && matches!(principal, crate::app::auth::Principal::Anonymous)
    {
        return Err(OciError::from_auth(e, &call.base, Some("registry:catalog:*".into())));
    }
    let may_read = |repo: &str| auth.authorize(principal, Scope::Read, Some(repo)).is_ok();
    let n = call.page_size()?;
    let page = call.state.registry.catalog(&may_read, n, call.query("last")).await?;
    let link = next_link("/v2/_catalog", n, page.next);
    Ok(json_with_link(json!({"repositories": page.repositories}), link))
}

pub async fn referrers(call: &Call<'_>, name: &ImageName, subject: &Digest) -> Result<Response, OciError> {
    call.authorize(Scope::Read, name)?;
    let filter = call.query("artifactType");
    let index = call.state.registry.referrers(name, subject, filter).await?;
    let mut builder = Response::builder().content_type(crate::domain::registry::manifest::OCI_INDEX);
    if filter.is_some() {
        builder = builder.header("oci-filters-applied", "artifactType");
    }
    Ok(builder.body(index.to_string()))
}
