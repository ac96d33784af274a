use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::domain::digest::Digest;

fn version(name: &str, v: &str, minute: u32, meta: Value) -> PackageRecord {
    PackageRecord {
        repo: "npm".into(),
        name: name.into(),
        version: v.into(),
        key: format!("{name}@{v}"),
        filename: format!("{}-{v}.tgz", super::super::hosted::basename(name)),
        path: super::super::hosted::tarball_path(name, v),
        digest: Digest::of_bytes(v.as_bytes()),
        size: 10,
        meta,
        created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, minute, 0).unwrap(),
    }
}

fn package(name: &str, tags: Value) -> PackageRecord {
    let mut record = version(name, "", 0, json!({"dist-tags": tags}));
    record.key = name.into();
    record.path = String::new();
    record
}

const BASE: &str = "http://h:1/api/v1/local/npm/";

#[test]
fn full_packument_lists_versions_tags_and_time() {
    let records = vec![
        package("@t/u", json!({"latest": "1.0.0", "beta": "2.0.0-beta.1"})),
        version(
            "@t/u",
            "1.0.0",
            1,
            json!({"description": "one", "dist": {"integrity": "sha512-x"}}),
        ),
        version(
            "@t/u",
            "2.0.0-beta.1",
            2,
            json!({"description": "two", "deprecated": "no"}),
        ),
    ];
    let doc = render("@t/u", &records, BASE, false).unwrap();
    assert_eq!(doc["name"], "@t/u");
    assert_eq!(doc["dist-tags"], json!({"latest": "1.0.0", "beta": "2.0.0-beta.1"}));
    assert_eq!(
        doc["versions"]["1.0.0"]["dist"]["tarball"],
        format!("{BASE}@t/u/-/u-1.0.0.tgz")
    );
    assert_eq!(doc["versions"]["1.0.0"]["dist"]["integrity"], "sha512-x");
    assert_eq!(doc["versions"]["1.0.0"]["_id"], "@t/u@1.0.0");
    assert_eq!(doc["versions"]["2.0.0-beta.1"]["deprecated"], "no");
    assert_eq!(doc["description"], "one", "from the latest version");
    assert_eq!(doc["time"]["created"], "2026-01-01T00:01:00.000Z");
    assert_eq!(doc["time"]["modified"], "2026-01-01T00:02:00.000Z");
    assert_eq!(doc["time"]["2.0.0-beta.1"], "2026-01-01T00:02:00.000Z");
    assert!(doc["_rev"].as_str().unwrap().starts_with("1-"));
}

#[test]
fn abbreviated_keeps_only_install_fields() {
    let records = vec![version(
        "left",
        "1.0.0",
        1,
        json!({"readme": "long", "dependencies": {"a": "1"}, "scripts": {"x": "y"}}),
    )];
    let doc = render("left", &records, BASE, true).unwrap();
    let v = &doc["versions"]["1.0.0"];
    assert_eq!(v["dependencies"], json!({"a": "1"}));
    assert!(v.get("readme").is_none() && v.get("scripts").is_none());
    assert!(doc.get("time").is_none() && doc.get("_rev").is_none());
    assert_eq!(doc["modified"], "2026-01-01T00:01:00.000Z");
}

#[test]
fn latest_falls_back_to_the_highest_release_and_stale_tags_go() {
    let records = vec![
        package("left", json!({"old": "0.1.0"})),
        version("left", "1.0.0", 1, json!({})),
        version("left", "1.10.0", 2, json!({})),
        version("left", "2.0.0-rc.1", 3, json!({})),
    ];
    let doc = render("left", &records, BASE, true).unwrap();
    assert_eq!(doc["dist-tags"], json!({"latest": "1.10.0"}));
    assert_eq!(highest(["2.0.0-rc.1"].into_iter()), Some("2.0.0-rc.1".into()));
}

#[test]
fn no_versions_no_packument() {
    assert!(render("left", &[package("left", json!({}))], BASE, false).is_none());
}
