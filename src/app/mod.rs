//! Use cases, one per file. They hold `Arc<dyn Port>` and never name an adapter.
pub mod apply;
pub mod auth;
pub mod cas;
pub mod config;
pub mod disk;
pub mod events;
pub mod health;
pub mod hosted;
pub mod objects;
pub mod proxy;
pub mod registry;
pub mod registry_tokens;
pub mod repositories;
pub mod sessions;
pub mod stats;
pub mod terraform;
pub mod tokens;
