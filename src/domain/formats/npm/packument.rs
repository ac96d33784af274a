//! Packuments of hosted npm packages, rendered from the package's records: the full document
//! (`application/json`) and the abbreviated one npm installs from
//! (`application/vnd.npm.install-v1+json`), tarball links absolute on this server.
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::hosted::PACKAGE_RECORD_VERSION;
use crate::domain::package::PackageRecord;

/// Fields of a version the abbreviated packument keeps (npm's install-v1 set).
const ABBREVIATED_FIELDS: &[&str] = &[
    "name",
    "version",
    "deprecated",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "bundleDependencies",
    "bundledDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "acceptDependencies",
    "bin",
    "directories",
    "dist",
    "engines",
    "cpu",
    "os",
    "libc",
    "funding",
    "license",
    "_hasShrinkwrap",
    "hasInstallScript",
];

/// `-/package/<name>/dist-tags`, as npm addresses a package's tags.
pub fn tags_path(path: &str) -> Option<&str> {
    path.strip_prefix("-/package/")?.strip_suffix("/dist-tags")
}

/// The dist-tags a package record holds.
pub fn stored_tags(records: &[PackageRecord]) -> BTreeMap<String, String> {
    records
        .iter()
        .find(|r| r.version == PACKAGE_RECORD_VERSION)
        .and_then(|r| r.meta.get("dist-tags"))
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default()
}

/// The version records, oldest first.
pub fn versions(records: &[PackageRecord]) -> impl Iterator<Item = &PackageRecord> {
    records.iter().filter(|r| r.version != PACKAGE_RECORD_VERSION)
}

/// The highest release (a pre-release only when there is nothing else): `latest` when no tag says.
pub fn highest<'a>(versions: impl Iterator<Item = &'a str>) -> Option<String> {
    let parsed: Vec<semver::Version> = versions.filter_map(|v| semver::Version::parse(v).ok()).collect();
    let release = parsed.iter().filter(|v| v.pre.is_empty()).max();
    release.or_else(|| parsed.iter().max()).map(ToString::to_string)
}

/// Tags that name a stored version, with `latest` always present when a version is.
pub fn effective_tags(tags: &BTreeMap<String, String>, present: &[&str]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = tags
        .iter()
        .filter(|(_, v)| present.contains(&v.as_str()))
        .map(|(t, v)| (t.clone(), v.clone()))
        .collect();
    if !out.contains_key("latest")
        && let Some(latest) = highest(present.iter().copied())
    {
        out.insert("latest".into(), latest);
    }
    out
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One version's manifest as served: its identity, and a tarball link under `base` (the
/// repository's absolute URL, ending in `/`).
fn served_version(record: &PackageRecord, base: &str) -> Value {
    let mut manifest = match &record.meta {
        Value::Object(object) => object.clone(),
        _ => Map::new(),
    };
    manifest.insert("name".into(), Value::String(record.name.clone()));
    manifest.insert("version".into(), Value::String(record.version.clone()));
    manifest.insert(
        "_id".into(),
        Value::String(format!("{}@{}", record.name, record.version)),
    );
    let dist = manifest.entry("dist").or_insert_with(|| Value::Object(Map::new()));
    if let Some(dist) = dist.as_object_mut() {
        dist.insert("tarball".into(), Value::String(format!("{base}{}", record.path)));
    }
    Value::Object(manifest)
}

fn abbreviate(manifest: &Value) -> Value {
    let mut out = Map::new();
    if let Some(object) = manifest.as_object() {
        for field in ABBREVIATED_FIELDS {
            if let Some(value) = object.get(*field) {
                out.insert((*field).to_string(), value.clone());
            }
        }
    }
    Value::Object(out)
}

/// The packument of `name` from its records (`None` when it has no version).
pub fn render(name: &str, records: &[PackageRecord], base: &str, abbreviated: bool) -> Option<Value> {
    let versions: Vec<&PackageRecord> = versions(records).collect();
    let present: Vec<&str> = versions.iter().map(|r| r.version.as_str()).collect();
    let tags = effective_tags(&stored_tags(records), &present);
    let created = versions.iter().map(|r| r.created_at).min()?;
    let package_touched = records
        .iter()
        .find(|r| r.version == PACKAGE_RECORD_VERSION)
        .and_then(|r| r.meta.get("modified"))
        .and_then(Value::as_str)
        .and_then(|m| DateTime::parse_from_rfc3339(m).ok())
        .map(|m| m.with_timezone(&Utc));
    let modified = versions
        .iter()
        .map(|r| r.created_at)
        .chain(package_touched)
        .max()
        .unwrap_or(created);
    let mut served = Map::new();
    let mut time = Map::new();
    time.insert("created".into(), Value::String(timestamp(created)));
    time.insert("modified".into(), Value::String(timestamp(modified)));
    for record in &versions {
        let manifest = served_version(record, base);
        served.insert(
            record.version.clone(),
            if abbreviated { abbreviate(&manifest) } else { manifest },
        );
        time.insert(record.version.clone(), Value::String(timestamp(record.created_at)));
    }
    if abbreviated {
        return Some(json!({
            "name": name,
            "modified": timestamp(modified),
            "dist-tags": tags,
            "versions": served,
        }));
    }
    let latest = tags
        .get("latest")
        .and_then(|v| served.get(v))
        .cloned()
        .unwrap_or(Value::Null);
    let revision = crate::domain::digest::Digest::of_bytes(
        format!("{}|{:?}|{}", present.join(","), tags, timestamp(modified)).as_bytes(),
    );
    let mut doc = json!({
        "_id": name,
        "name": name,
        "_rev": format!("1-{}", &revision.hex()[..32]),
        "dist-tags": tags,
        "versions": served,
        "time": time,
    });
    for field in [
        "description",
        "readme",
        "license",
        "homepage",
        "repository",
        "keywords",
        "author",
        "bugs",
    ] {
        if let Some(value) = latest.get(field) {
            doc[field] = value.clone();
        }
    }
    Some(doc)
}

#[cfg(test)]
#[path = "packument_tests.rs"]
mod tests;
