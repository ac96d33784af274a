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

/// .apk files built as abuild lays them out, shared by the unit tests and the e2e tests.
#[cfg(test)]
#[path = "../tests/support/apk.rs"]
pub(crate) mod test_apk;
