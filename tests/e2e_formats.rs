//! End to end over HTTP, following each client's documented request sequence: rpm (dnf) and
//! alpine (apk) remotes, and the Terraform provider registry protocol through a terraform remote.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

async fn remote(server: &Server, name: &str, package: &str, base_url: String) {
    let created = reqwest::Client::new()
        .post(server.url("/api/v2/repositories"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"name": name, "kind": "remote", "package": package, "base_url": base_url}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
}

async fn get(url: String) -> (StatusCode, String, Bytes) {
    let r = reqwest::get(url).await.unwrap();
    let source = r
        .headers()
        .get("x-artifact-source")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status(), source, r.bytes().await.unwrap())
}

#[tokio::test]
async fn rpm_and_alpine_sequences_and_offline_replay() {
    let upstream = FakeUpstream::start().await;
    let repomd =
        Bytes::from_static(b"<repomd><data type=\"primary\"><location href=\"repodata/p.xml.gz\"/></data></repomd>");
    upstream.put("el/repodata/repomd.xml", FakeFile::Bytes(repomd.clone()));
    upstream.put("el/repodata/p.xml.gz", FakeFile::Bytes(Bytes::from_static(b"primary")));
    upstream.put(
        "el/Packages/t/tool-1.0-1.x86_64.rpm",
        FakeFile::Bytes(Bytes::from_static(b"rpm bytes")),
    );
    upstream.put(
        "alpine/v3.20/main/x86_64/APKINDEX.tar.gz",
        FakeFile::Bytes(Bytes::from_static(b"index")),
    );
    upstream.put(
        "alpine/v3.20/main/x86_64/tool-1.0-r0.apk",
        FakeFile::Bytes(Bytes::from_static(b"apk bytes")),
    );
    let server = Server::start(&[]).await;
    remote(&server, "el", "rpm", format!("{}/el", upstream.base)).await;
    remote(&server, "alpine", "alpine", format!("{}/alpine", upstream.base)).await;
    let rpm = |p: &str| server.url(&format!("/api/v1/remote/el/{p}"));
    let apk = |p: &str| server.url(&format!("/api/v1/remote/alpine/v3.20/main/x86_64/{p}"));

    for url in [
        rpm("repodata/repomd.xml"),
        rpm("repodata/p.xml.gz"),
        rpm("Packages/t/tool-1.0-1.x86_64.rpm"),
    ] {
        assert_eq!(get(url.clone()).await.1, "remote", "{url}");
    }
    for url in [apk("APKINDEX.tar.gz"), apk("tool-1.0-r0.apk")] {
        assert_eq!(get(url.clone()).await.1, "remote", "{url}");
    }
    upstream.stop().await;
    assert_eq!(get(rpm("repodata/repomd.xml")).await.2, repomd);
    assert_eq!(
        get(rpm("Packages/t/tool-1.0-1.x86_64.rpm")).await.2.as_ref(),
        b"rpm bytes"
    );
    assert_eq!(get(apk("APKINDEX.tar.gz")).await.0, StatusCode::OK);
    assert_eq!(get(apk("tool-1.0-r0.apk")).await.2.as_ref(), b"apk bytes");
}

#[tokio::test]
async fn terraform_provider_download_goes_through_the_remote_and_is_verified() {
    let archive = Bytes::from_static(b"provider zip");
    let sha = hex::encode(sha2::Sha256::digest(&archive));
    let upstream = FakeUpstream::start().await;
    let versions = json!({"versions": [{"version": "1.0.0", "protocols": ["5.0"], "platforms": [{"os": "linux", "arch": "amd64"}]}]});
    upstream.put(
        "tf/v1/providers/acme/thing/versions",
        FakeFile::Bytes(Bytes::from(versions.to_string())),
    );
    let download = |name: &str, shasum: &str| {
        json!({
            "protocols": ["5.0"], "os": "linux", "arch": "amd64", "filename": name,
            "download_url": format!("{}/releases/{name}", upstream.base),
            "shasums_url": format!("{}/releases/SHA256SUMS", upstream.base),
            "shasums_signature_url": format!("{}/releases/SHA256SUMS.sig", upstream.base),
            "shasum": shasum,
            "signing_keys": {"gpg_public_keys": []}
        })
    };
    let good = download("terraform-provider-thing_1.0.0_linux_amd64.zip", &sha);
    upstream.put(
        "tf/v1/providers/acme/thing/1.0.0/download/linux/amd64",
        FakeFile::Bytes(Bytes::from(good.to_string())),
    );
    let bad = download("terraform-provider-thing_0.9.0_linux_amd64.zip", &"0".repeat(64));
    upstream.put(
        "tf/v1/providers/acme/thing/0.9.0/download/linux/amd64",
        FakeFile::Bytes(Bytes::from(bad.to_string())),
    );
    upstream.put(
        "releases/terraform-provider-thing_1.0.0_linux_amd64.zip",
        FakeFile::Bytes(archive.clone()),
    );
    upstream.put(
        "releases/terraform-provider-thing_0.9.0_linux_amd64.zip",
        FakeFile::Bytes(archive.clone()),
    );
    upstream.put(
        "releases/SHA256SUMS",
        FakeFile::Bytes(Bytes::from(format!(
            "{sha}  terraform-provider-thing_1.0.0_linux_amd64.zip\n"
        ))),
    );
    let server = Server::start(&[]).await;
    remote(&server, "tf", "terraform", format!("{}/tf", upstream.base)).await;
    let api = |p: &str| server.url(&format!("/api/v1/remote/tf/v1/providers/acme/thing/{p}"));

    let (status, _, body) = get(api("versions")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["versions"][0]["version"],
        "1.0.0"
    );
    let (_, _, body) = get(api("1.0.0/download/linux/amd64")).await;
    let doc: Value = serde_json::from_slice(&body).unwrap();
    let download_url = doc["download_url"].as_str().unwrap().to_string();
    assert!(
        download_url.starts_with(&server.url("/api/v1/remote/tf/_files/")),
        "{download_url}"
    );
    assert_eq!(get(download_url.clone()).await.2, archive);
    let sums = get(doc["shasums_url"].as_str().unwrap().to_string()).await.2;
    assert!(String::from_utf8_lossy(&sums).contains(&sha));

    let (_, _, body) = get(api("0.9.0/download/linux/amd64")).await;
    let bad_url = serde_json::from_slice::<Value>(&body).unwrap()["download_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        get(bad_url).await.0,
        StatusCode::BAD_GATEWAY,
        "an archive that fails its shasum is refused"
    );

    upstream.stop().await;
    assert_eq!(
        get(download_url).await.2,
        archive,
        "served from cache with the upstream gone"
    );
}
