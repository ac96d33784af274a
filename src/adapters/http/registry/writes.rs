//! Manifest push and deletes of manifests, tags and blobs.
use poem::http::{StatusCode, header};
use poem::{Body, Response};

use super::errors::OciError;
use super::{Call, log_write};
use crate::domain::digest::Digest;
use crate::domain::registry::path::{ImageName, Reference};

pub async fn put_manifest(
    call: &Call<'_>,
    name: &ImageName,
    reference: &Reference,
    body: Body,
) -> Result<Response, OciError> {
    let target = call.write_target(name).await?;
    let content_type = call.header(header::CONTENT_TYPE);
    let pushed = call
        .state
        .registry
        .put_manifest(&target, reference, Box::pin(body.into_bytes_stream()), content_type)
        .await?;
    let what = match reference {
        Reference::Tag(t) => format!("{}:{t}", name.image),
        Reference::Digest(d) => format!("{}@{d}", name.image),
    };
    log_write(call, "push manifest", name, &what);
    call.state.events.publish("push", name.repo.as_str(), Some(&what)).await;
    let mut builder = Response::builder()
        .status(StatusCode::CREATED)
        .header(
            header::LOCATION,
            format!("{}/v2/{}/manifests/{}", call.base, name.full(), pushed.digest),
        )
        .header("docker-content-digest", pushed.digest.to_string());
    if let Some(subject) = pushed.subject {
        builder = builder.header("oci-subject", subject.to_string());
    }
    Ok(builder.finish())
}

pub async fn delete_manifest(call: &Call<'_>, name: &ImageName, reference: &Reference) -> Result<Response, OciError> {
    let target = call.write_target(name).await?;
    call.state.registry.delete_manifest(&target, reference).await?;
    let what = match reference {
        Reference::Tag(t) => format!("{}:{t}", name.image),
        Reference::Digest(d) => format!("{}@{d}", name.image),
    };
    log_write(call, "delete manifest", name, &what);
    call.state
        .events
        .publish("delete", name.repo.as_str(), Some(&what))
        .await;
    Ok(Response::builder().status(StatusCode::ACCEPTED).finish())
}

pub async fn delete_blob(call: &Call<'_>, name: &ImageName, digest: &Digest) -> Result<Response, OciError> {
    let target = call.write_target(name).await?;
    call.state.registry.delete_blob(&target, digest).await?;
    log_write(call, "delete blob", name, &digest.to_string());
    Ok(Response::builder().status(StatusCode::ACCEPTED).finish())
}
