//! `TtlCache` adapters: in-process (embedded mode) and Redis (scale-out).
pub mod memory;
pub mod redis;
