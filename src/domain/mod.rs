//! The pure core: value types, validation and decisions. No IO, no async, no frameworks.
pub mod access;
pub mod cache_policy;
pub mod cursor;
pub mod digest;
pub mod error;
pub mod formats;
pub mod package;
pub mod path;
pub mod quota;
pub mod range;
pub mod registry;
pub mod repository;
pub mod repository_plan;
pub mod retention;
pub mod session;
pub mod token;
pub mod upstream_tls;
