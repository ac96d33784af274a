//! PyPI's upload protocol (twine's legacy API): `POST` of `multipart/form-data` with
//! `:action=file_upload`, the metadata fields and the `content` file. The text fields come first
//! and are read with a bound; the file part streams into the content store.
use poem::http::StatusCode;
use poem::web::{Multipart, RequestBody};
use poem::{Body, FromRequest, IntoResponse, Request, Response};
use tokio::io::AsyncReadExt;

use super::super::AppState;
use super::super::errors::HttpError;
use crate::app::hosted::pypi::PypiUpload;
use crate::domain::formats::pypi::hosted::{MAX_FIELD_BYTES, UploadForm};

/// More text fields than any client sends.
const MAX_FIELDS: usize = 512;

fn bad_form(message: impl Into<String>) -> HttpError {
    HttpError::new(StatusCode::BAD_REQUEST, "INVALID_PACKAGE", message)
}

/// Handles one upload to `repo` (a local repository, already authorised).
pub async fn upload(req: &Request, body: Body, repo: &str, state: &AppState) -> Result<Response, HttpError> {
    let declared_size = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut multipart = Multipart::from_request(req, &mut RequestBody::new(body))
        .await
        .map_err(|e| bad_form(format!("expected a multipart/form-data upload: {e}")))?;
    let mut form = UploadForm::default();
    let mut fields = 0usize;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| bad_form(format!("malformed multipart body: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if name == "content" {
            let filename = field
                .file_name()
                .map(str::to_string)
                .ok_or_else(|| bad_form("the 'content' part has no file name"))?;
            let content = Box::pin(tokio_util::io::ReaderStream::new(field.into_async_read()));
            let upload = PypiUpload {
                repo: repo.to_string(),
                form,
                filename,
                content,
                declared_size,
            };
            let record = state.hosted.pypi_upload(upload).await?;
            state.metrics.count_received(repo, 200, record.size);
            tracing::info!(repository = repo, file = %record.filename, digest = %record.digest, size = record.size, "uploaded");
            state.events.publish("upload", repo, Some(record.path.as_str())).await;
            let json = serde_json::json!({
                "repository": repo,
                "name": record.name,
                "version": record.version,
                "filename": record.filename,
                "path": record.path,
                "digest": record.digest.to_string(),
                "size": record.size,
            });
            return Ok(Response::builder()
                .status(StatusCode::OK)
                .content_type("application/json")
                .body(json.to_string()));
        }
        fields += 1;
        if fields > MAX_FIELDS {
            return Err(bad_form(format!("more than {MAX_FIELDS} form fields")));
        }
        let mut value = Vec::new();
        field
            .into_async_read()
            .take(MAX_FIELD_BYTES as u64 + 1)
            .read_to_end(&mut value)
            .await
            .map_err(|e| bad_form(format!("malformed multipart body: {e}")))?;
        if value.len() > MAX_FIELD_BYTES {
            return Err(bad_form(format!(
                "form field '{name:.64}' is larger than {MAX_FIELD_BYTES} bytes"
            )));
        }
        let value = String::from_utf8(value).map_err(|_| bad_form(format!("form field '{name:.64}' is not UTF-8")))?;
        form.set(&name, value);
    }
    Err(bad_form("the upload has no 'content' file"))
}

/// `PATCH` of a file with `{"yanked": "reason" | true | false}` (PEP 592).
pub async fn yank(
    body: Body,
    repo: &str,
    path: &crate::domain::path::ArtifactPath,
    state: &AppState,
) -> Result<Response, HttpError> {
    let bytes = body
        .into_bytes_limit(4096)
        .await
        .map_err(|e| bad_form(format!("expected a small JSON body: {e}")))?;
    let doc: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| bad_form(format!("expected JSON {{\"yanked\": ...}}: {e}")))?;
    let yanked = match doc.get("yanked") {
        Some(serde_json::Value::Bool(false)) | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Bool(true)) => Some(String::new()),
        Some(serde_json::Value::String(reason)) if reason.len() <= 1024 => Some(reason.clone()),
        _ => {
            return Err(bad_form(
                "'yanked' must be true, false or a reason (up to 1024 characters)",
            ));
        }
    };
    state.hosted.pypi_yank(repo, path, yanked).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
