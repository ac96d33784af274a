//! ArtifactAPI: a caching proxy and artifact repository.
//!
//! Layers (inner to outer): `domain` (pure) ← `ports` (traits) ← `app` (use cases)
//! ← `adapters` (backends and HTTP) ← `bootstrap` (composition root) ← `main`.
pub mod adapters;
pub mod app;
pub mod bootstrap;
pub mod domain;
pub mod ports;
pub mod tui;
