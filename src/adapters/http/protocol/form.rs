//! The one file part of a `multipart/form-data` upload (ChartMuseum's `chart`, the Forge's
//! `file`), streamed into the content store as it arrives: parts before it are skipped unread
//! (a handful at most), and a form without it is a 400.
use poem::http::StatusCode;
use poem::web::{Multipart, RequestBody};
use poem::{Body, FromRequest, Request};

use super::super::errors::HttpError;
use crate::ports::ByteStream;

/// More form parts than any upload form here has.
const MAX_PARTS: usize = 8;

pub fn bad_form(message: impl Into<String>) -> HttpError {
    HttpError::new(StatusCode::BAD_REQUEST, "INVALID_PACKAGE", message)
}

/// The body of the form's `field` file part, and the request's declared length (an upper bound
/// on the part's).
pub async fn file_part(req: &Request, body: Body, field: &str) -> Result<(ByteStream, Option<u64>), HttpError> {
    let declared_size = req
        .headers()
        .get(poem::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut multipart = Multipart::from_request(req, &mut RequestBody::new(body))
        .await
        .map_err(|e| {
            bad_form(format!(
                "expected a multipart/form-data upload with a '{field}' file: {e}"
            ))
        })?;
    let mut parts = 0usize;
    while let Some(part) = multipart
        .next_field()
        .await
        .map_err(|e| bad_form(format!("malformed multipart body: {e}")))?
    {
        parts += 1;
        if parts > MAX_PARTS {
            break;
        }
        if part.name() == Some(field) {
            let body: ByteStream = Box::pin(tokio_util::io::ReaderStream::new(part.into_async_read()));
            return Ok((body, declared_size));
        }
    }
    Err(bad_form(format!("the upload has no '{field}' file")))
}
