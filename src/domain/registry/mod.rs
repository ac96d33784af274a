//! OCI distribution: the pieces that exist so far (the upload state machine).
pub mod upload;
