//! Blob uploads: start (or monolithic, or mount), status, chunk, finish, cancel.
use poem::http::{StatusCode, header};
use poem::{Body, Response};

use super::errors::OciError;
use super::{Call, log_write};
use crate::domain::digest::Digest;
use crate::domain::registry::error::RegistryError;
use crate::domain::registry::path::ImageName;
use crate::domain::token::Scope;
use crate::ports::UploadSession;

fn digest_param(call: &Call<'_>) -> Result<Option<Digest>, OciError> {
    call.query("digest")
        .map(|d| Digest::parse(d).map_err(|e| OciError::from(RegistryError::DigestInvalid(e.to_string()))))
        .transpose()
}

/// Whether the request carries body bytes: a non-zero Content-Length, or a chunked body.
fn has_body(call: &Call<'_>) -> bool {
    match call.header(header::CONTENT_LENGTH) {
        Some(len) => len.trim() != "0",
        None => call.req.headers().contains_key(header::TRANSFER_ENCODING),
    }
}

/// `Content-Range: <start>-<end>` (inclusive; a `bytes ` prefix and `/total` are tolerated).
fn content_range(call: &Call<'_>) -> Result<Option<(u64, u64)>, OciError> {
    let Some(raw) = call.header(header::CONTENT_RANGE) else {
        return Ok(None);
    };
    let spec = raw.trim().trim_start_matches("bytes").trim();
    let spec = spec.split('/').next().unwrap_or(spec);
    let parsed = spec
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)))
        .filter(|(a, b)| a <= b);
    match parsed {
        Some(range) => Ok(Some(range)),
        None => Err(OciError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "BLOB_UPLOAD_INVALID",
            format!("malformed Content-Range '{raw}'"),
        )),
    }
}

fn blob_created(call: &Call<'_>, name: &ImageName, digest: &Digest) -> Response {
    Response::builder()
        .status(StatusCode::CREATED)
        .header(
            header::LOCATION,
            format!("{}/v2/{}/blobs/{digest}", call.base, name.full()),
        )
        .header("docker-content-digest", digest.to_string())
        .header(header::CONTENT_LENGTH, 0)
        .finish()
}

/// 202/204 with where to continue and how much is stored (`Range: 0-<last byte>`).
fn in_progress(call: &Call<'_>, name: &ImageName, session: &UploadSession, status: StatusCode) -> Response {
    let offset = session.state.offset();
    let range = if offset == 0 {
        "0-0".to_string()
    } else {
        format!("0-{}", offset - 1)
    };
    Response::builder()
        .status(status)
        .header(
            header::LOCATION,
            format!("{}/v2/{}/blobs/uploads/{}", call.base, name.full(), session.id),
        )
        .header(header::RANGE, range)
        .header("docker-upload-uuid", session.id.clone())
        .header(header::CONTENT_LENGTH, 0)
        .finish()
}

/// `POST .../blobs/uploads/`: monolithic with `?digest=`, a mount with `?mount=&from=`, or a new
/// session.
pub async fn start(call: &Call<'_>, name: &ImageName, body: Body) -> Result<Response, OciError> {
    let target = call.write_target(name).await?;
    let registry = &call.state.registry;
    if let Some(mount) = call.query("mount") {
        let digest = Digest::parse(mount).map_err(|e| OciError::from(RegistryError::DigestInvalid(e.to_string())))?;
        // A source the caller may not read, or a malformed one, is just not mounted.
        let from = call
            .query("from")
            .and_then(|f| ImageName::parse(f).ok())
            .filter(|f| call.authorize(Scope::Read, f).is_ok());
        if let Some(from) = from
            && registry.mount(&target, &digest, &from).await?
        {
            log_write(call, "mount blob", name, &digest.to_string());
            return Ok(blob_created(call, name, &digest));
        }
    } else if let Some(digest) = digest_param(call)? {
        let size = registry
            .upload_whole(&target, &digest, Box::pin(body.into_bytes_stream()))
            .await?;
        call.state.metrics.count_received(name.repo.as_str(), 201, size);
        log_write(call, "push blob", name, &digest.to_string());
        return Ok(blob_created(call, name, &digest));
    }
    let session = registry.start_upload(&target).await?;
    Ok(in_progress(call, name, &session, StatusCode::ACCEPTED))
}

pub async fn status(call: &Call<'_>, name: &ImageName, id: &str) -> Result<Response, OciError> {
    let target = call.write_target(name).await?;
    let session = call.state.registry.upload_status(&target, id).await?;
    Ok(in_progress(call, name, &session, StatusCode::NO_CONTENT))
}

pub async fn patch(call: &Call<'_>, name: &ImageName, id: &str, body: Body) -> Result<Response, OciError> {
    let target = call.write_target(name).await?;
    let range = content_range(call)?;
    let (session, received) = call
        .state
        .registry
        .append_chunk(&target, id, Box::pin(body.into_bytes_stream()), range)
        .await?;
    call.state.metrics.count_received(name.repo.as_str(), 202, received);
    Ok(in_progress(call, name, &session, StatusCode::ACCEPTED))
}

pub async fn finish(call: &Call<'_>, name: &ImageName, id: &str, body: Body) -> Result<Response, OciError> {
    let target = call.write_target(name).await?;
    let digest = digest_param(call)?.ok_or_else(|| {
        OciError::from(RegistryError::DigestInvalid(
            "the digest query parameter is required".into(),
        ))
    })?;
    let last_chunk = has_body(call).then(|| Box::pin(body.into_bytes_stream()) as crate::ports::ByteStream);
    call.state
        .registry
        .finish_upload(&target, id, &digest, last_chunk)
        .await?;
    log_write(call, "push blob", name, &digest.to_string());
    Ok(blob_created(call, name, &digest))
}

pub async fn cancel(call: &Call<'_>, name: &ImageName, id: &str) -> Result<Response, OciError> {
    let target = call.write_target(name).await?;
    call.state.registry.cancel_upload(&target, id).await?;
    Ok(Response::builder().status(StatusCode::NO_CONTENT).finish())
}
