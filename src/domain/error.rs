//! Domain error enums, one per use-case family. No HTTP here: the inbound adapter maps each
//! variant to a status and a stable code.
use super::path::PathError;

/// A validation failure that names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Managing repositories.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    #[error("invalid repository: {0}")]
    Invalid(FieldError),
    #[error("repository '{0}' not found")]
    NotFound(String),
    #[error("repository '{0}' already exists")]
    AlreadyExists(String),
    #[error("repository '{0}' is managed by the config file")]
    ManagedByConfig(String),
    #[error("repository '{name}' is a member of virtual repositories {by:?}; remove it there first or use force")]
    InUse { name: String, by: Vec<String> },
    /// Kind and package decide how stored data is read; changing them would hide it.
    #[error(
        "repository '{name}' holds {objects} objects; its kind and package cannot change while it holds any (delete its files, or flush a remote's cache with scope=all, first)"
    )]
    NotEmpty { name: String, objects: u64 },
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

/// Reading and writing files of a hosted (local) repository.
#[derive(Debug, thiserror::Error)]
pub enum HostedError {
    #[error("repository '{0}' not found")]
    RepositoryNotFound(String),
    #[error("repository '{name}' is not a {expected} repository")]
    WrongKind { name: String, expected: &'static str },
    #[error("repository '{0}' does not accept this operation for its package type")]
    UnsupportedPackage(String),
    #[error("invalid path: {0}")]
    InvalidPath(#[from] PathError),
    #[error("invalid checksum header: {0}")]
    InvalidChecksum(String),
    /// The file is not a valid package of the repository's type (its name or its content).
    #[error("invalid package: {0}")]
    InvalidPackage(String),
    #[error("checksum mismatch: expected {expected}, got {actual}")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("'{0}' already exists and the repository does not allow overwrite")]
    AlreadyExists(String),
    #[error("'{0}' not found")]
    NotFound(String),
    #[error("body is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The repository's `quota_bytes` has no room for the upload (413).
    #[error(transparent)]
    QuotaExceeded(#[from] super::quota::Exceeded),
    #[error("requested range not satisfiable (size {size})")]
    RangeNotSatisfiable { size: u64 },
    #[error("upload interrupted: {0}")]
    BodyInterrupted(String),
    /// The disk is full, or too full for this upload (507).
    #[error("insufficient storage: {0}")]
    InsufficientStorage(String),
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

/// Authentication and authorisation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required")]
    MissingToken,
    #[error("invalid or expired token")]
    InvalidToken,
    #[error("token lacks permission '{0}'")]
    Forbidden(&'static str),
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

/// Serving a remote repository (pull-through cache).
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("repository '{0}' not found")]
    RepositoryNotFound(String),
    #[error("repository '{name}' is not a {expected} repository")]
    WrongKind { name: String, expected: &'static str },
    #[error("remote repositories of package type '{0}' are not served yet")]
    UnsupportedPackage(String),
    #[error("access denied: {0}")]
    Forbidden(String),
    #[error("'{0}' not found upstream")]
    NotFound(String),
    #[error("'{0}' is not cached and the repository is offline")]
    NotCachedOffline(String),
    #[error("upstream failed: {0}")]
    UpstreamFailed(String),
    /// The upstream's TLS handshake failed (untrusted certificate, rejected client
    /// certificate) or the remote's TLS files cannot be loaded.
    #[error("upstream TLS failed: {0}")]
    UpstreamTls(String),
    /// The disk is full: the copy could not be stored (and was not passed through).
    #[error("insufficient storage: {0}")]
    InsufficientStorage(String),
    #[error("requested range not satisfiable (size {size})")]
    RangeNotSatisfiable { size: u64 },
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

/// Managing API tokens.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid token request: {0}")]
    Invalid(FieldError),
    #[error("token '{0}' not found")]
    NotFound(String),
    #[error("a token named '{0}' already exists")]
    AlreadyExists(String),
    #[error("the bootstrap admin token cannot be revoked through the API (use `artifactapi token reset-admin`)")]
    Protected,
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}

/// Browsing and evicting the objects of a repository.
#[derive(Debug, thiserror::Error)]
pub enum ObjectsError {
    #[error("repository '{0}' not found")]
    RepositoryNotFound(String),
    #[error("'{0}' not found")]
    NotFound(String),
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("invalid request: {0}")]
    Invalid(FieldError),
    #[error("backend unavailable: {0}")]
    Unavailable(String),
}
