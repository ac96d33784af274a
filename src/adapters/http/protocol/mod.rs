//! Upload protocols of package clients, one file per protocol (DESIGN §10).
pub mod form;
pub mod helm;
pub mod npm;
pub mod puppet;
pub mod pypi;
