//! `Upstream` adapters: outbound HTTP to upstream registries.
mod clients;
pub mod deny;
pub mod http;
