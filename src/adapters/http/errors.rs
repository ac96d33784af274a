//! Every domain error variant mapped to a status and a stable machine code. Internal causes are
//! logged here and never sent to the client.
use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::error::{AuthError, HostedError, RepositoryError};

/// `{"code": "...", "message": "...", "field": "..."}`
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

#[derive(Debug)]
pub struct HttpError {
    pub status: StatusCode,
    pub body: ErrorBody,
    /// Extra headers (WWW-Authenticate, Content-Range).
    pub headers: Vec<(header::HeaderName, String)>,
}

impl HttpError {
    /// A path whose percent-encoded bytes are not UTF-8.
    pub fn invalid_utf8_path() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "INVALID_PATH",
            "the path is not valid UTF-8 once percent-decoded",
        )
    }

    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                field: None,
            },
            headers: vec![],
        }
    }

    fn unavailable(cause: &str) -> Self {
        tracing::error!(cause, "backend unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "BACKEND_UNAVAILABLE",
            "a storage backend is unavailable; try again later",
        )
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string(&self.body)
            .unwrap_or_else(|_| r#"{"code":"INTERNAL","message":"error"}"#.to_string());
        let mut response = Response::builder()
            .status(self.status)
            .content_type("application/json")
            .body(body);
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().append(name, v);
            }
        }
        response
    }
}

/// The challenge sent with every 401: Bearer for API clients, Basic so that pip, npm and
/// curl prompt for (or send) the token as a password.
pub fn challenges() -> Vec<(header::HeaderName, String)> {
    vec![
        (header::WWW_AUTHENTICATE, r#"Bearer realm="artifactapi""#.to_string()),
        (header::WWW_AUTHENTICATE, r#"Basic realm="artifactapi""#.to_string()),
    ]
}

impl From<AuthError> for HttpError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::MissingToken | AuthError::InvalidToken => {
                let mut err = HttpError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", e.to_string());
                err.headers = challenges();
                err
            }
            AuthError::Forbidden(_) => HttpError::new(StatusCode::FORBIDDEN, "FORBIDDEN", e.to_string()),
            AuthError::Unavailable(cause) => HttpError::unavailable(&cause),
        }
    }
}

impl From<HostedError> for HttpError {
    fn from(e: HostedError) -> Self {
        let message = e.to_string();
        match e {
            HostedError::RepositoryNotFound(_) => {
                HttpError::new(StatusCode::NOT_FOUND, "REPOSITORY_NOT_FOUND", message)
            }
            HostedError::WrongKind { .. } => HttpError::new(StatusCode::NOT_FOUND, "REPOSITORY_KIND_MISMATCH", message),
            HostedError::UnsupportedPackage(_) => {
                HttpError::new(StatusCode::NOT_IMPLEMENTED, "NOT_IMPLEMENTED", message)
            }
            HostedError::InvalidPath(_) => HttpError::new(StatusCode::BAD_REQUEST, "INVALID_PATH", message),
            HostedError::InvalidChecksum(_) => HttpError::new(StatusCode::BAD_REQUEST, "INVALID_CHECKSUM", message),
            HostedError::InvalidPackage(_) => HttpError::new(StatusCode::BAD_REQUEST, "INVALID_PACKAGE", message),
            HostedError::ChecksumMismatch { .. } => {
                HttpError::new(StatusCode::BAD_REQUEST, "CHECKSUM_MISMATCH", message)
            }
            HostedError::AlreadyExists(_) => HttpError::new(StatusCode::CONFLICT, "ALREADY_EXISTS", message),
            HostedError::NotFound(_) => HttpError::new(StatusCode::NOT_FOUND, "NOT_FOUND", message),
            HostedError::TooLarge { .. } => HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, "TOO_LARGE", message),
            HostedError::QuotaExceeded(_) => HttpError::new(StatusCode::PAYLOAD_TOO_LARGE, "QUOTA_EXCEEDED", message),
            HostedError::RangeNotSatisfiable { size } => {
                let mut err = HttpError::new(StatusCode::RANGE_NOT_SATISFIABLE, "RANGE_NOT_SATISFIABLE", message);
                err.headers.push((header::CONTENT_RANGE, format!("bytes */{size}")));
                err
            }
            HostedError::BodyInterrupted(_) => HttpError::new(StatusCode::BAD_REQUEST, "BODY_INTERRUPTED", message),
            HostedError::InsufficientStorage(cause) => {
                tracing::warn!(cause, "write refused: insufficient storage");
                HttpError::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "INSUFFICIENT_STORAGE",
                    "not enough free disk space to store this; delete something or try later",
                )
            }
            HostedError::Unavailable(cause) => HttpError::unavailable(&cause),
        }
    }
}

impl From<RepositoryError> for HttpError {
    fn from(e: RepositoryError) -> Self {
        let message = e.to_string();
        match e {
            RepositoryError::Invalid(field) => {
                let mut err = HttpError::new(StatusCode::BAD_REQUEST, "INVALID_FIELD", field.to_string());
                err.body.field = Some(field.field);
                err
            }
            RepositoryError::NotFound(_) => HttpError::new(StatusCode::NOT_FOUND, "REPOSITORY_NOT_FOUND", message),
            RepositoryError::AlreadyExists(_) => HttpError::new(StatusCode::CONFLICT, "REPOSITORY_EXISTS", message),
            RepositoryError::ManagedByConfig(_) => HttpError::new(StatusCode::CONFLICT, "MANAGED_BY_CONFIG", message),
            RepositoryError::InUse { .. } => HttpError::new(StatusCode::CONFLICT, "REPOSITORY_IN_USE", message),
            RepositoryError::NotEmpty { .. } => HttpError::new(StatusCode::CONFLICT, "REPOSITORY_NOT_EMPTY", message),
            RepositoryError::Unavailable(cause) => HttpError::unavailable(&cause),
        }
    }
}
