//! End to end on a real full disk (a small tmpfs as the data directory): uploads that do not fit
//! are `507 INSUFFICIENT_STORAGE` and leave nothing; at 100% deletes still work (the reserve is
//! released for them); readiness reports the low space; a remote miss larger than the free space
//! is passed through whole, uncached.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use futures::StreamExt;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::server::{ADMIN_TOKEN, Server};
use support::tmpfs::SmallDisk;
use support::upstream::{FakeFile, FakeUpstream};

const MIB: u64 = 1024 * 1024;

async fn code(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or_else(|e| panic!("{status}: not JSON: {e}"));
    (status, body["code"].as_str().unwrap_or_default().to_string())
}

fn temp_files(data: &std::path::Path) -> usize {
    std::fs::read_dir(data.join("tmp")).map_or(0, |d| d.count())
}

async fn readiness(server: &Server) -> (StatusCode, Value) {
    let r = reqwest::get(server.url("/api/v2/health/ready")).await.unwrap();
    (r.status(), r.json().await.unwrap())
}

fn disk_entry(report: &Value) -> Value {
    report["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "disk")
        .cloned()
        .unwrap_or_else(|| panic!("no disk entry: {report}"))
}

/// PUTs 64 MiB (with a Content-Length, or chunked) while reading the response, and returns its
/// status and body: the server may answer, and close, before the body has been sent.
async fn raw_upload(addr: &str, path: &str, declared: bool) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let length = if declared {
        format!("Content-Length: {}", 64 * MIB)
    } else {
        "Transfer-Encoding: chunked".to_string()
    };
    let head = format!(
        "PUT /api/v1/local/files/{path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n{length}\r\n\r\n"
    );
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        let chunk = vec![0x42u8; MIB as usize];
        for _ in 0..64 {
            if !declared {
                write.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await?;
            }
            write.write_all(&chunk).await?;
            if !declared {
                write.write_all(b"\r\n").await?;
            }
        }
        if !declared {
            write.write_all(b"0\r\n\r\n").await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut response = Vec::new();
    let read_all = read.read_to_end(&mut response);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(60), read_all).await;
    writer.abort();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    (status, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_clearly_and_keeps_deletes_working() {
    let Some(disk) = support::backend_or_skip("a tmpfs mount (root)", SmallDisk::mount(48)) else {
        return;
    };
    let data = disk.path().join("data");
    let upstream = FakeUpstream::start().await;
    upstream.put(
        "files/huge.bin",
        FakeFile::Generated {
            seed: 3,
            size: 64 * MIB,
        },
    );
    let server = Server::start(&[
        ("ARTIFACTAPI_DATA_DIR", data.display().to_string()),
        ("ARTIFACTAPI_DISK_RESERVE", (4 * MIB).to_string()),
    ])
    .await;
    server
        .create_repository(json!({"name": "files", "kind": "local", "package": "generic"}))
        .await;
    server
        .create_repository(
            json!({"name": "up", "kind": "remote", "package": "generic", "base_url": format!("{}/files", upstream.base)}),
        )
        .await;
    let client = Client::new();
    let put = |path: &str| {
        client
            .put(server.url(&format!("/api/v1/local/files/{path}")))
            .bearer_auth(ADMIN_TOKEN)
    };
    for path in ["keep.txt", "victim.txt"] {
        assert_eq!(
            put(path).body("small").send().await.unwrap().status(),
            StatusCode::CREATED
        );
    }
    assert_eq!(readiness(&server).await.0, StatusCode::OK);

    // Too large for the disk, declared or not. The server answers before it has read the
    // whole body, so the upload goes over a raw socket that reads the answer meanwhile.
    let (status, body) = raw_upload(&server.addr, "big-declared.bin", true).await;
    assert_eq!(status, 507, "{body}");
    assert!(body.contains("INSUFFICIENT_STORAGE"), "{body}");
    let (status, body) = raw_upload(&server.addr, "big-streamed.bin", false).await;
    assert_eq!(status, 507, "{body}");
    assert!(body.contains("INSUFFICIENT_STORAGE"), "{body}");
    assert_eq!(temp_files(&data), 0, "no temp file left behind");

    // A remote miss larger than the free space is passed through, whole, and not cached.
    for _ in 0..2 {
        let r = client
            .get(server.url("/api/v1/remote/up/huge.bin"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-artifact-source"], "remote");
        let mut hasher = Sha256::new();
        let mut body = r.bytes_stream();
        while let Some(chunk) = body.next().await {
            hasher.update(chunk.unwrap());
        }
        assert_eq!(hex::encode(hasher.finalize()), support::data::sha256_hex(3, 64 * MIB));
    }
    assert_eq!(upstream.hits("files/huge.bin"), 2);
    assert_eq!(temp_files(&data), 0);

    // Now fill the disk to 100% from outside.
    let filler = disk.fill("filler");
    let (status, report) = readiness(&server).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{report}");
    assert_eq!(report["status"], "low_space", "{report}");
    let entry = disk_entry(&report);
    assert_eq!(entry["ok"], false, "{report}");
    assert!(entry["free_bytes"].as_u64().is_some(), "{report}");
    let refused = put("small.txt").body("x").send().await.unwrap();
    assert_eq!(
        code(refused).await,
        (StatusCode::INSUFFICIENT_STORAGE, "INSUFFICIENT_STORAGE".into())
    );
    let deleted = client
        .delete(server.url("/api/v1/local/files/victim.txt"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT, "deletes work on a full disk");
    let gone = client
        .get(server.url("/api/v1/local/files/victim.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let kept = client
        .get(server.url("/api/v1/local/files/keep.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(kept.text().await.unwrap(), "small", "reads work on a full disk");

    // Space back: ready again, and writes go through.
    std::fs::remove_file(filler).unwrap();
    let (status, report) = readiness(&server).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        put("after.txt").body("x").send().await.unwrap().status(),
        StatusCode::CREATED
    );
}
