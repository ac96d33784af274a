//! OCI distribution: the pieces that exist so far (the upload state machine, `/v2` path parsing).
pub mod path;
pub mod upload;
