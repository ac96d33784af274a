//! `artifactapi tui --endpoint URL [--token T]`: a terminal UI for operators, talking to a
//! running server's management API over HTTP (it is a client, like `apply`): repositories with
//! live counters, an object browser (prefix search, evict, flush, probe), health, and a live,
//! reconnecting event tail with a filter.
//!
//! `state` is the pure model and update, `view` draws it, `client` speaks HTTP, `sse` parses the
//! event stream, `run` owns the terminal.
pub mod client;
pub mod run;
pub mod sse;
pub mod state;
pub mod view;

pub use run::run;
