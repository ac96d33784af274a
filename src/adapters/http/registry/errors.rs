//! OCI error responses: `{"errors":[{"code","message","detail"}]}` with the spec's status for
//! each code. Internal causes are logged, never sent.
use poem::http::{HeaderValue, StatusCode, header};
use poem::{IntoResponse, Response};
use serde_json::json;

use crate::domain::error::AuthError;
use crate::domain::registry::error::RegistryError;

pub struct OciError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub headers: Vec<(header::HeaderName, String)>,
}

impl OciError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            headers: vec![],
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// 401 with the Bearer challenge docker, podman and skopeo follow to `/v2/token`.
    pub fn unauthorized(realm_base: &str, scope: Option<String>) -> Self {
        let mut challenge = format!(r#"Bearer realm="{realm_base}/v2/token",service="artifactapi""#);
        if let Some(scope) = scope {
            challenge.push_str(&format!(r#",scope="{scope}""#));
        }
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required")
            .with_header(header::WWW_AUTHENTICATE, challenge)
    }

    /// Maps an authorisation failure; `scope` is the token scope the request needs.
    pub fn from_auth(e: AuthError, realm_base: &str, scope: Option<String>) -> Self {
        match e {
            AuthError::MissingToken | AuthError::InvalidToken => Self::unauthorized(realm_base, scope),
            AuthError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, "DENIED", e.to_string()),
            AuthError::Unavailable(cause) => unavailable(&cause),
        }
    }
}

fn unavailable(cause: &str) -> OciError {
    tracing::error!(cause, "backend unavailable");
    OciError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "a storage backend is unavailable; try again later",
    )
}

impl From<RegistryError> for OciError {
    fn from(e: RegistryError) -> Self {
        let code = e.code();
        let message = e.to_string();
        let status = match &e {
            RegistryError::BlobUnknown(_)
            | RegistryError::BlobUploadUnknown
            | RegistryError::ManifestUnknown(_)
            | RegistryError::NameUnknown(_) => StatusCode::NOT_FOUND,
            RegistryError::RangeInvalid { .. } | RegistryError::RangeNotSatisfiable { .. } => {
                StatusCode::RANGE_NOT_SATISFIABLE
            }
            RegistryError::TooLarge { .. } | RegistryError::QuotaExceeded(_) => StatusCode::PAYLOAD_TOO_LARGE,
            RegistryError::Denied(_) => StatusCode::FORBIDDEN,
            RegistryError::Upstream(_) | RegistryError::UpstreamTls(_) => StatusCode::BAD_GATEWAY,
            RegistryError::Unsupported(_) => StatusCode::METHOD_NOT_ALLOWED,
            RegistryError::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            RegistryError::Unavailable(cause) => return unavailable(cause),
            RegistryError::BlobUploadInvalid(_)
            | RegistryError::DigestInvalid(_)
            | RegistryError::ManifestBlobUnknown(_)
            | RegistryError::ManifestInvalid(_)
            | RegistryError::NameInvalid(_)
            | RegistryError::SizeInvalid(_) => StatusCode::BAD_REQUEST,
        };
        let mut err = OciError::new(status, code, message);
        match e {
            // The offset the client must resume from (`Range: 0-<last byte>`).
            RegistryError::RangeInvalid { expected, .. } => {
                err.headers
                    .push((header::RANGE, format!("0-{}", expected.saturating_sub(1))));
            }
            RegistryError::RangeNotSatisfiable { size } => {
                err.headers.push((header::CONTENT_RANGE, format!("bytes */{size}")));
            }
            _ => {}
        }
        err
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let body = json!({"errors": [{"code": self.code, "message": self.message, "detail": null}]});
        let mut response = Response::builder()
            .status(self.status)
            .content_type("application/json")
            .body(body.to_string());
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().append(name, v);
            }
        }
        response
    }
}
