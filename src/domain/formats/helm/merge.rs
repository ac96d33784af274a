//! Virtual Helm repositories: the members' `index.yaml` merged into one. Members come in order;
//! the first member that lists a chart name and version wins it. Every URL points back through
//! the virtual as `_member/{member}/{chart}/{member path}`, so the member that serves a chart is
//! named by its link (a remote member's signed `_files/` link stays signed and digest-checked),
//! and the chart a file belongs to is known when the dependency-confusion guard decides who may
//! serve it.
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::index::IndexEntry;

/// The prefix of links to a member's files.
pub const MEMBER_PREFIX: &str = "_member/";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("member index is not valid: {0}")]
pub struct MergeError(pub String);

/// The entries of a member's `index.yaml` (as its remote rewrote it: URLs relative to the
/// member's repository URL). Entries without a name, version or URL are skipped.
pub fn parse_member_index(body: &[u8]) -> Result<Vec<IndexEntry>, MergeError> {
    let doc: Value = serde_yaml::from_slice(body).map_err(|e| MergeError(e.to_string()))?;
    let Some(entries) = doc.get("entries") else {
        return Ok(Vec::new());
    };
    let entries = match entries {
        Value::Object(map) => map,
        Value::Null => return Ok(Vec::new()),
        _ => return Err(MergeError("'entries' is not a mapping".into())),
    };
    let mut out = Vec::new();
    for (name, versions) in entries {
        let Some(versions) = versions.as_array() else { continue };
        for version in versions {
            let text = |key: &str| version.get(key).and_then(Value::as_str).map(str::to_string);
            let Some(number) = text("version") else { continue };
            let urls: Vec<String> = version
                .get("urls")
                .and_then(Value::as_array)
                .map(|u| u.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            out.push(IndexEntry {
                name: name.clone(),
                version: number,
                metadata: version.clone(),
                digest: text("digest"),
                created: text("created")
                    .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
                    .map(|c| c.with_timezone(&Utc)),
                urls,
            });
        }
    }
    Ok(out)
}

/// Whether a link is relative to the member's repository (so it can be routed through the
/// virtual): no scheme (a `:` in the first segment), not host- or root-relative, no `..`.
/// A signed `_files/…/http/host:port/…` link has a `:` further on, which is fine.
fn routable(url: &str) -> bool {
    let first = url.split('/').next().unwrap_or_default();
    !first.is_empty() && !first.contains(':') && !url.split('/').any(|p| p == "..")
}

/// A merged index and the members whose charts it lists, in member order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Merged {
    pub entries: Vec<IndexEntry>,
    pub contributors: Vec<String>,
}

/// Merges the members' entries (in member order): the first member wins a name and version;
/// URLs go through the virtual; an entry none of whose URLs can be routed is dropped.
pub fn merge(members: Vec<(String, Vec<IndexEntry>)>) -> Merged {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut merged = Merged::default();
    for (member, entries) in members {
        for mut entry in entries {
            if seen.contains(&(entry.name.clone(), entry.version.clone())) {
                continue;
            }
            let prefix = format!("{MEMBER_PREFIX}{member}/{}/", entry.name);
            entry.urls = entry
                .urls
                .iter()
                .filter(|u| routable(u))
                .map(|u| format!("{prefix}{u}"))
                .collect();
            if entry.urls.is_empty() {
                continue;
            }
            seen.insert((entry.name.clone(), entry.version.clone()));
            if !merged.contributors.contains(&member) {
                merged.contributors.push(member.clone());
            }
            merged.entries.push(entry);
        }
    }
    merged
}

/// A `_member/` link of the virtual: the member, the chart, and the path in the member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberFile<'a> {
    pub member: &'a str,
    pub chart: &'a str,
    pub path: &'a str,
}

pub fn member_file(path: &str) -> Option<MemberFile<'_>> {
    let rest = path.strip_prefix(MEMBER_PREFIX)?;
    let (member, rest) = rest.split_once('/')?;
    let (chart, path) = rest.split_once('/')?;
    (!member.is_empty() && !chart.is_empty() && !path.is_empty()).then_some(MemberFile { member, chart, path })
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
