//! A hosted Helm repository's `index.yaml` (apiVersion v1), rendered from its package records:
//! each entry is the chart's `Chart.yaml` plus `digest` (sha256 of the archive), `created` and
//! `urls` (relative to the repository URL, as Helm resolves them). Entries are grouped by name
//! and ordered newest SemVer first, as `helm repo index` writes them; `generated` is the newest
//! `created`, so the same records always render the same bytes (and the same ETag).
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::domain::package::PackageRecord;

/// The content type Helm repositories serve `index.yaml` with.
pub const INDEX_TYPE: &str = "application/x-yaml";

/// One chart version as the index lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexEntry {
    pub name: String,
    pub version: String,
    /// `Chart.yaml` as JSON.
    pub metadata: Value,
    /// sha256 hex of the archive (a remote member's entry may lack it).
    pub digest: Option<String>,
    /// `None`: whatever the entry's metadata says (a remote member's entry).
    pub created: Option<DateTime<Utc>>,
    pub urls: Vec<String>,
}

impl IndexEntry {
    /// The entry of a record, its URL `prefix` + the stored path (`""` on the repository itself).
    pub fn from_record(record: &PackageRecord, prefix: &str) -> IndexEntry {
        IndexEntry {
            name: record.name.clone(),
            version: record.version.clone(),
            metadata: record.meta.get("chart").cloned().unwrap_or_else(|| json!({})),
            digest: Some(record.digest.hex().to_string()),
            created: Some(record.created_at),
            urls: vec![format!("{prefix}{}", record.path)],
        }
    }

    fn to_value(&self) -> Value {
        let mut entry = match &self.metadata {
            Value::Object(map) => map.clone(),
            _ => serde_json::Map::new(),
        };
        entry.insert("name".into(), json!(self.name));
        entry.insert("version".into(), json!(self.version));
        if let Some(digest) = &self.digest {
            entry.insert("digest".into(), json!(digest));
        }
        if let Some(created) = self.created {
            entry.insert("created".into(), json!(rfc3339(created)));
        }
        entry.insert("urls".into(), json!(self.urls));
        Value::Object(entry)
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Newest SemVer first; a version that does not parse sorts last, by text.
fn newest_first(a: &IndexEntry, b: &IndexEntry) -> std::cmp::Ordering {
    match (semver::Version::parse(&a.version), semver::Version::parse(&b.version)) {
        (Ok(x), Ok(y)) => y.cmp(&x),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.version.cmp(&b.version),
    }
}

/// Renders `index.yaml` from entries (any order; one per name and version expected).
pub fn render_index(entries: &[IndexEntry]) -> Vec<u8> {
    let mut by_name: BTreeMap<&str, Vec<&IndexEntry>> = BTreeMap::new();
    for entry in entries {
        by_name.entry(entry.name.as_str()).or_default().push(entry);
    }
    let mut rendered = serde_json::Map::new();
    for (name, mut versions) in by_name {
        versions.sort_by(|a, b| newest_first(a, b));
        rendered.insert(
            name.to_string(),
            Value::Array(versions.iter().map(|e| e.to_value()).collect()),
        );
    }
    let generated = entries
        .iter()
        .filter_map(|e| e.created)
        .max()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let doc = json!({
        "apiVersion": "v1",
        "entries": rendered,
        "generated": rfc3339(generated),
    });
    // A JSON value with string keys always serialises as YAML.
    serde_yaml::to_string(&doc).unwrap_or_default().into_bytes()
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
