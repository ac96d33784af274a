use super::*;
use crate::domain::digest::Digest;
use chrono::TimeZone;

fn record(name: &str, version: &str, second: u32) -> PackageRecord {
    PackageRecord {
        repo: "charts".into(),
        name: name.into(),
        version: version.into(),
        key: format!("{name}/{version}"),
        filename: format!("{name}-{version}.tgz"),
        path: format!("charts/{name}-{version}.tgz"),
        digest: Digest::of_bytes(format!("{name}{version}").as_bytes()),
        size: 10,
        meta: json!({"chart": {"apiVersion": "v2", "name": name, "version": version, "description": "about", "dependencies": [{"name": "dep", "version": "^1"}]}}),
        created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second).unwrap(),
    }
}

#[test]
fn index_lists_every_version_newest_first_with_digest_created_and_urls() {
    let records = [
        record("demo", "1.0.0", 1),
        record("demo", "1.10.0", 2),
        record("demo", "1.2.0-rc.1", 3),
        record("alpha", "0.1.0", 4),
    ];
    let entries: Vec<IndexEntry> = records.iter().map(|r| IndexEntry::from_record(r, "")).collect();
    let out = render_index(&entries);
    let doc: serde_yaml::Value = serde_yaml::from_slice(&out).unwrap();
    assert_eq!(doc["apiVersion"], "v1");
    assert_eq!(doc["generated"], "2026-01-01T00:00:04.000000000Z");
    let versions: Vec<&str> = doc["entries"]["demo"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.10.0", "1.2.0-rc.1", "1.0.0"]);
    let first = &doc["entries"]["alpha"][0];
    assert_eq!(first["digest"].as_str().unwrap(), Digest::of_bytes(b"alpha0.1.0").hex());
    assert_eq!(first["created"], "2026-01-01T00:00:04.000000000Z");
    assert_eq!(first["urls"][0], "charts/alpha-0.1.0.tgz");
    assert_eq!(first["description"], "about");
    assert_eq!(first["dependencies"][0]["name"], "dep");
    assert_eq!(render_index(&entries), out, "same records, same bytes");
}

#[test]
fn an_empty_repository_has_an_empty_index_and_urls_take_a_prefix() {
    let doc: serde_yaml::Value = serde_yaml::from_slice(&render_index(&[])).unwrap();
    assert_eq!(doc["apiVersion"], "v1");
    assert!(doc["entries"].as_mapping().unwrap().is_empty());
    let entry = IndexEntry::from_record(&record("demo", "1.0.0", 0), "_member/loc/");
    assert_eq!(entry.urls, ["_member/loc/charts/demo-1.0.0.tgz"]);
}
