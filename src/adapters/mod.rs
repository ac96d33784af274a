//! Adapters: implementations of the ports (outbound) and the HTTP surface (inbound).
pub mod apk_rsa;
pub mod blob;
pub mod cache;
pub mod clock;
pub mod disk;
pub mod hot;
pub mod http;
pub mod instance_key;
pub mod management_client;
pub mod meta;
pub mod openpgp;
pub mod tls;
pub mod upstream;
