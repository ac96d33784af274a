//! Helm has no client here: these helpers build chart archives as `helm package` lays them out,
//! ChartMuseum uploads, and walk a repository the way Helm does (`index.yaml`, then every URL of
//! every entry resolved against the repository URL, its sha256 checked against `digest`).
use std::io::Read;

use sha2::Digest;

/// A gzipped tar with the given members; names go into the raw header, so hostile ones (`..`)
/// are written as an attacker would.
pub fn tgz(members: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        tar.append(&header, *data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// A chart archive whose `Chart.yaml` says `name` and `version` (plus `extra` YAML lines).
pub fn chart(name: &str, version: &str, extra: &str) -> Vec<u8> {
    let yaml = format!("apiVersion: v2\nname: {name}\nversion: {version}\ndescription: {name} chart\n{extra}");
    tgz(&[
        (&format!("{name}/Chart.yaml"), yaml.as_bytes()),
        (&format!("{name}/values.yaml"), b"replicaCount: 1\n"),
        (&format!("{name}/templates/cm.yaml"), b"kind: ConfigMap\n"),
    ])
}

/// The `Chart.yaml` inside a chart archive.
pub fn chart_yaml_of(archive: &[u8]) -> serde_yaml::Value {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().to_string();
        if path.split('/').nth(1) == Some("Chart.yaml") && path.matches('/').count() == 1 {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            return serde_yaml::from_str(&text).unwrap();
        }
    }
    panic!("no Chart.yaml")
}

/// A `multipart/form-data` body with one file part: (content type, body).
pub fn multipart(field: &str, filename: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----helmchartboundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: application/gzip\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// One chart version as a client sees it after following the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub name: String,
    pub version: String,
    pub url: String,
    pub sha256: String,
}

/// Fetches `index.yaml` under `repo_url` (ending in `/`), checks its shape, then downloads every
/// URL of every entry: each must answer 200 with bytes whose sha256 is the entry's `digest` and
/// whose `Chart.yaml` names the entry. Returns the index text and what was fetched.
pub async fn follow_index(repo_url: &str, token: Option<&str>) -> (String, Vec<Fetched>) {
    let client = reqwest::Client::new();
    let get = |url: String| {
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let response = get(format!("{repo_url}index.yaml")).await.unwrap();
    assert_eq!(response.status(), 200, "index.yaml");
    assert_eq!(response.headers()["content-type"], "application/x-yaml");
    assert!(response.headers().contains_key("etag"));
    let text = response.text().await.unwrap();
    let index: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(index["apiVersion"], "v1", "{text}");
    assert!(index["generated"].is_string(), "{text}");
    let mut fetched = Vec::new();
    let base = url::Url::parse(repo_url).unwrap();
    for (name, versions) in index["entries"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        for entry in versions.as_sequence().unwrap() {
            assert_eq!(entry["name"].as_str(), Some(name), "{text}");
            let version = entry["version"].as_str().unwrap();
            let digest = entry["digest"].as_str().unwrap();
            // Helm needs no `created` (an upstream may omit it); when there, it is RFC 3339.
            if let Some(created) = entry["created"].as_str() {
                assert!(chrono::DateTime::parse_from_rfc3339(created).is_ok(), "{text}");
            }
            let urls = entry["urls"].as_sequence().unwrap();
            assert!(!urls.is_empty(), "{text}");
            for url in urls {
                let url = base.join(url.as_str().unwrap()).unwrap().to_string();
                let response = get(url.clone()).await.unwrap();
                assert_eq!(response.status(), 200, "{url}");
                let bytes = response.bytes().await.unwrap();
                let sha256 = hex::encode(sha2::Sha256::digest(&bytes));
                assert_eq!(sha256, digest, "{url}");
                let chart = chart_yaml_of(&bytes);
                assert_eq!(
                    (chart["name"].as_str(), chart["version"].as_str()),
                    (Some(name), Some(version))
                );
                fetched.push(Fetched {
                    name: name.to_string(),
                    version: version.to_string(),
                    url,
                    sha256,
                });
            }
        }
    }
    (text, fetched)
}
