/// What any port can fail with. Adapters translate their backend errors (SQL, S3, Redis, IO) into
/// these variants; the backend's own message goes into `Backend` for logs, never to clients.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("not found")]
    NotFound,
    /// A create-only write found the key already present.
    #[error("already exists")]
    Conflict,
    /// The backend is unreachable or failed.
    #[error("backend error: {0}")]
    Backend(String),
    /// The TLS handshake with the backend failed: an untrusted or invalid certificate, a
    /// rejected client certificate, or TLS material (CA bundle, key) that cannot be loaded.
    #[error("TLS: {0}")]
    Tls(String),
    /// A body stream failed mid-way (client disconnect, upstream cut).
    #[error("stream interrupted: {0}")]
    Interrupted(String),
    /// Not attempted: a policy forbids it (an upstream host in `upstream_deny_networks`).
    #[error("refused: {0}")]
    Refused(String),
    /// The backend has no room left (a full disk: ENOSPC, SQLite "database or disk is full",
    /// PostgreSQL `disk_full`).
    #[error("storage full: {0}")]
    StorageFull(String),
}

impl PortError {
    pub fn backend(e: impl std::fmt::Display) -> Self {
        PortError::Backend(e.to_string())
    }

    /// An IO failure: `StorageFull` when the disk (or a quota) is full, else `Backend`.
    pub fn io(context: impl std::fmt::Display, e: &std::io::Error) -> Self {
        if is_storage_full(e) {
            PortError::StorageFull(format!("{context}: {e}"))
        } else {
            PortError::Backend(format!("{context}: {e}"))
        }
    }
}

/// ENOSPC or EDQUOT.
pub fn is_storage_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}
