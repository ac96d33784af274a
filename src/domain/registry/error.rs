//! Registry failures with their OCI distribution error codes (spec "Error Codes" table). The
//! HTTP adapter maps each code to a status; the code strings are part of the protocol.
use super::path::PathError;
use super::upload::UploadTransitionError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("blob unknown to registry: {0}")]
    BlobUnknown(String),
    #[error("blob upload invalid: {0}")]
    BlobUploadInvalid(String),
    #[error("blob upload unknown to registry")]
    BlobUploadUnknown,
    /// A chunk that does not start at the current offset; carries that offset (HTTP 416).
    #[error("chunk starts at {got}, expected {expected}")]
    RangeInvalid { expected: u64, got: u64 },
    #[error("provided digest did not match uploaded content: {0}")]
    DigestInvalid(String),
    #[error("blob unknown to registry: manifest references {0}")]
    ManifestBlobUnknown(String),
    #[error("manifest invalid: {0}")]
    ManifestInvalid(String),
    #[error("manifest unknown: {0}")]
    ManifestUnknown(String),
    #[error("invalid repository name: {0}")]
    NameInvalid(String),
    #[error("repository name not known to registry: {0}")]
    NameUnknown(String),
    #[error("provided length did not match content length: {0}")]
    SizeInvalid(String),
    #[error("requested access to the resource is denied: {0}")]
    Denied(String),
    /// A docker remote's upstream failed and nothing is cached (HTTP 502).
    #[error("upstream registry failed: {0}")]
    Upstream(String),
    /// The docker remote's upstream TLS handshake failed (HTTP 502).
    #[error("upstream registry TLS failed: {0}")]
    UpstreamTls(String),
    #[error("the operation is unsupported: {0}")]
    Unsupported(String),
    #[error("upload is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The local repository's `quota_bytes` has no room for the push (413).
    #[error(transparent)]
    QuotaExceeded(#[from] crate::domain::quota::Exceeded),
    #[error("requested range not satisfiable (size {size})")]
    RangeNotSatisfiable { size: u64 },
    /// The disk is full, or too full for this blob (507).
    #[error("insufficient storage: {0}")]
    InsufficientStorage(String),
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

impl RegistryError {
    /// The spec's machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::BlobUnknown(_) => "BLOB_UNKNOWN",
            RegistryError::BlobUploadInvalid(_) | RegistryError::RangeInvalid { .. } => "BLOB_UPLOAD_INVALID",
            RegistryError::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            RegistryError::DigestInvalid(_) => "DIGEST_INVALID",
            RegistryError::ManifestBlobUnknown(_) => "MANIFEST_BLOB_UNKNOWN",
            RegistryError::ManifestInvalid(_) => "MANIFEST_INVALID",
            RegistryError::ManifestUnknown(_) => "MANIFEST_UNKNOWN",
            RegistryError::NameInvalid(_) => "NAME_INVALID",
            RegistryError::NameUnknown(_) => "NAME_UNKNOWN",
            RegistryError::SizeInvalid(_) | RegistryError::TooLarge { .. } => "SIZE_INVALID",
            RegistryError::Denied(_) => "DENIED",
            RegistryError::Upstream(_) => "UPSTREAM_FAILED",
            RegistryError::UpstreamTls(_) => "UPSTREAM_TLS",
            RegistryError::Unsupported(_) | RegistryError::RangeNotSatisfiable { .. } => "UNSUPPORTED",
            RegistryError::InsufficientStorage(_) => "INSUFFICIENT_STORAGE",
            // Not in the spec's table (no quota there); clients show the message.
            RegistryError::QuotaExceeded(_) => "QUOTA_EXCEEDED",
            RegistryError::Unavailable(_) => "UNAVAILABLE",
        }
    }
}

impl From<PathError> for RegistryError {
    fn from(e: PathError) -> Self {
        match e {
            PathError::NameInvalid(_) | PathError::TagInvalid(_) => RegistryError::NameInvalid(e.to_string()),
            PathError::DigestInvalid(_) => RegistryError::DigestInvalid(e.to_string()),
            PathError::UploadIdInvalid => RegistryError::BlobUploadUnknown,
            PathError::Unsupported => RegistryError::Unsupported(e.to_string()),
        }
    }
}

impl From<UploadTransitionError> for RegistryError {
    fn from(e: UploadTransitionError) -> Self {
        match e {
            UploadTransitionError::OutOfOrder { expected, got } => RegistryError::RangeInvalid { expected, got },
            UploadTransitionError::Finished(_) => RegistryError::BlobUploadUnknown,
        }
    }
}
