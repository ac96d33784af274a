//! `BlobStore` adapters: the local filesystem and S3-compatible object storage.
pub mod fs;
mod key;
pub mod s3;
