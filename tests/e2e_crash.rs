//! End to end: what a SIGKILL leaves behind is cleaned up at the next start: the temp files of
//! uploads that were in flight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;
use std::time::{Duration, Instant};
use support::server::{ADMIN_TOKEN, Server};

/// `ingest-*` files in `<data>/tmp` and their total size.
fn temp_files(data: &std::path::Path) -> (usize, u64) {
    let Ok(entries) = std::fs::read_dir(data.join("tmp")) else {
        return (0, 0);
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("ingest-"))
        .fold((0, 0), |(n, size), e| {
            (n + 1, size + e.metadata().map_or(0, |m| m.len()))
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temp_files_of_killed_uploads_are_swept_at_start() {
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "files", "kind": "local", "package": "generic"}))
        .await;
    // An upload that sends 4 MiB and then never ends.
    let chunks = (0..4).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![7u8; 1024 * 1024])));
    let body = futures::stream::iter(chunks).chain(futures::stream::pending());
    let url = server.url("/api/v1/local/files/big.bin");
    let upload = tokio::spawn(async move {
        let _ = reqwest::Client::new()
            .put(url)
            .bearer_auth(ADMIN_TOKEN)
            .body(reqwest::Body::wrap_stream(body))
            .send()
            .await;
    });
    let data = server.data_dir();
    let deadline = Instant::now() + Duration::from_secs(30);
    while temp_files(&data).1 < 1024 * 1024 {
        assert!(Instant::now() < deadline, "the upload never reached its temp file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let dir = server.kill();
    upload.abort();
    assert_eq!(
        temp_files(&dir.path().join("data")).0,
        1,
        "SIGKILL leaves the temp file"
    );
    let server = Server::start_in(dir, &[], &[]).await;
    assert_eq!(temp_files(&server.data_dir()), (0, 0), "swept at start");
    assert!(server.log().contains("abandoned temp files swept"), "{}", server.log());
}
