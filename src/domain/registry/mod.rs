//! OCI distribution: `/v2` path parsing, the upload state machine, manifest validation, error
//! codes, the row layout of registry state, and registry bearer tokens.
pub mod error;
pub mod keys;
pub mod manifest;
pub mod path;
pub mod token;
pub mod upload;
