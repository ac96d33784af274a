//! The Forge's publish API: `POST {repo}/v3/releases` with a `multipart/form-data` `file` part
//! (the release archive, streamed into the content store). The answer is 201 with the release
//! as `v3/releases/{slug}` would show it; refusals are our JSON errors.
use poem::http::StatusCode;
use poem::{Body, Request, Response};

use super::super::AppState;
use super::super::errors::HttpError;
use crate::app::hosted::puppet::PuppetUpload;
use crate::domain::formats::puppet::api::{Release, render_release};

/// Whether a path (relative to the repository) is the publish route.
pub fn is_publish(path: &str) -> bool {
    path.trim_end_matches('/') == "v3/releases"
}

/// Handles one `POST v3/releases` to `repo` (a local repository, already authorised).
pub async fn publish(req: &Request, body: Body, repo: &str, state: &AppState) -> Result<Response, HttpError> {
    let (body, declared_size) = super::form::file_part(req, body, "file").await?;
    let upload = PuppetUpload {
        repo: repo.to_string(),
        filename: None,
        body,
        declared_size,
        expected: None,
    };
    let record = state.hosted.puppet_upload(upload).await?;
    state.metrics.count_received(repo, 201, record.size);
    tracing::info!(repository = repo, module = %record.name, version = %record.version, digest = %record.digest, "uploaded");
    state.events.publish("upload", repo, Some(record.path.as_str())).await;
    Ok(Response::builder()
        .status(StatusCode::CREATED)
        .content_type(crate::domain::formats::puppet::api::JSON_TYPE)
        .body(render_release(&Release::from_record(&record))))
}
