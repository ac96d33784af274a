//! `Upstream` adapters: outbound HTTP to upstream registries.
pub mod http;
