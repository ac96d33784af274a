//! The in-process S3-compatible test server (s3s + s3s-fs, SigV4) as a standalone process, for
//! `scripts/bench.sh`. Prints `endpoint access_key secret_key` on one line, then serves until killed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../tests/support/s3.rs"]
mod s3;

#[tokio::main]
async fn main() {
    let server = s3::TestS3::start().await;
    println!("{} {} {}", server.endpoint, server.access_key, server.secret_key);
    let _ = tokio::signal::ctrl_c().await;
    drop(server);
}
