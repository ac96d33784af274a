//! ChartMuseum's API, which `helm cm-push` and CI scripts speak: `POST {repo}/api/charts` with a
//! `multipart/form-data` `chart` file (streamed into the content store; other parts are skipped
//! unread up to the chart), and `DELETE {repo}/api/charts/{name}/{version}`. Answers are
//! ChartMuseum's (`{"saved": true}`, `{"deleted": true}`); refusals are our JSON errors.
use poem::http::StatusCode;
use poem::{Body, Request, Response};

use super::super::AppState;
use super::super::errors::HttpError;
use crate::app::hosted::helm::HelmUpload;

/// The ChartMuseum route a path (relative to the repository) names.
pub enum ChartApi {
    /// `api/charts`
    Charts,
    /// `api/charts/{name}/{version}`
    Version { name: String, version: String },
}

impl ChartApi {
    pub fn of(path: &str) -> Option<ChartApi> {
        let rest = path.strip_prefix("api/charts")?;
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() {
            return Some(ChartApi::Charts);
        }
        let (name, version) = rest.strip_prefix('/')?.split_once('/')?;
        (!name.is_empty() && !version.is_empty() && !version.contains('/')).then(|| ChartApi::Version {
            name: name.to_string(),
            version: version.to_string(),
        })
    }
}

/// Handles one `POST api/charts` to `repo` (a local repository, already authorised).
pub async fn upload(req: &Request, body: Body, repo: &str, state: &AppState) -> Result<Response, HttpError> {
    let (body, declared_size) = super::form::file_part(req, body, "chart").await?;
    let upload = HelmUpload {
        repo: repo.to_string(),
        filename: None,
        body,
        declared_size,
        expected: None,
    };
    let record = state.hosted.helm_upload(upload).await?;
    state.metrics.count_received(repo, 201, record.size);
    tracing::info!(repository = repo, chart = %record.name, version = %record.version, digest = %record.digest, "uploaded");
    state.events.publish("upload", repo, Some(record.path.as_str())).await;
    Ok(json(StatusCode::CREATED, serde_json::json!({"saved": true})))
}

/// `DELETE api/charts/{name}/{version}` on `repo` (already authorised).
pub async fn delete(repo: &str, name: &str, version: &str, state: &AppState) -> Result<Response, HttpError> {
    state.hosted.helm_delete_version(repo, name, version).await?;
    state
        .events
        .publish("delete", repo, Some(format!("api/charts/{name}/{version}").as_str()))
        .await;
    Ok(json(StatusCode::OK, serde_json::json!({"deleted": true})))
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body.to_string())
}
