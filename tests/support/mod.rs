//! Shared test helpers: real backends (PostgreSQL, Redis, in-process S3) and skip rules.
#![allow(dead_code)]

pub mod apk;
pub mod data;
pub mod distribution;
pub mod go;
pub mod helm;
pub mod npm;
pub mod oci;
pub mod packages;
pub mod postgres;
pub mod proxy;
pub mod puppet;
pub mod python;
pub mod redis;
pub mod rpm;
pub mod s3;
pub mod server;
pub mod skopeo;
pub mod terraform;
pub mod tls;
pub mod tmpfs;
pub mod upstream;

/// Under `ARTIFACTAPI_REQUIRE_BACKENDS=1` (set by `scripts/test.sh`), a missing backend fails the
/// run instead of skipping its tests.
pub fn require_backends() -> bool {
    std::env::var("ARTIFACTAPI_REQUIRE_BACKENDS").is_ok_and(|v| v == "1")
}

/// Skips (returns `None`) or fails, depending on `require_backends()`.
pub fn backend_or_skip<T>(what: &str, found: Option<T>) -> Option<T> {
    match found {
        Some(v) => Some(v),
        None if require_backends() => panic!("{what} is required (ARTIFACTAPI_REQUIRE_BACKENDS=1) but not reachable"),
        None => {
            eprintln!("skipping: {what} not reachable");
            None
        }
    }
}

pub fn test_database_url() -> String {
    std::env::var("ARTIFACTAPI_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn test_redis_url() -> String {
    std::env::var("ARTIFACTAPI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The environment of a server on PostgreSQL + S3 (bucket `bucket` of `s3`) + Redis, with the
/// secret key replicas must share.
pub fn shared_backends_env(database_url: String, s3: &s3::TestS3, bucket: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ARTIFACTAPI_DATABASE_URL", database_url),
        (
            "ARTIFACTAPI_BLOB_STORE",
            format!("s3://{bucket}?endpoint={}&region=us-east-1", s3.endpoint),
        ),
        ("ARTIFACTAPI_S3_ACCESS_KEY", s3.access_key.clone()),
        ("ARTIFACTAPI_S3_SECRET_KEY", s3.secret_key.clone()),
        ("ARTIFACTAPI_CACHE_URL", test_redis_url()),
        (
            "ARTIFACTAPI_SECRET_KEY",
            "shared-secret-key-for-both-replicas".to_string(),
        ),
    ]
}
