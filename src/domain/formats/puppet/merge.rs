//! Virtual Puppet repositories: the members' releases of a module merged into one list. Members
//! come in order; the first member that has a module's version wins it. Every `file_uri` points
//! back through the virtual as `/_member/{member}/{module}/{member path}` (the same link shape as
//! the Helm virtual's), so the member that serves a release is named by its link (a remote
//! member's signed `_files/` link stays signed and digest-checked), and the module a file belongs
//! to is known when the dependency-confusion guard decides who may serve it.
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::api::Release;
use super::hosted::canonical_slug;
pub use crate::domain::formats::helm::merge::{MEMBER_PREFIX, MemberFile, member_file};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("member answer is not valid: {0}")]
pub struct MergeError(pub String);

/// One page of a member's `v3/releases` answer (as its remote rewrote it): the releases, and
/// the `pagination.next` link (relative to the member's URL) when there are more. Releases
/// without a module, version or `file_uri` are skipped.
pub fn parse_member_page(body: &[u8]) -> Result<(Vec<Release>, Option<String>), MergeError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| MergeError(e.to_string()))?;
    let results = match doc.get("results") {
        Some(Value::Array(results)) => results,
        None | Some(Value::Null) => return Ok((Vec::new(), None)),
        Some(_) => return Err(MergeError("'results' is not a list".into())),
    };
    let releases = results.iter().filter_map(parse_release).collect();
    let next = doc
        .get("pagination")
        .and_then(|p| p.get("next"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok((releases, next))
}

/// The query of a member page's `pagination.next` link, when it is another `v3/releases` page
/// (anything else ends the walk).
pub fn next_page_query(next: &str) -> Option<&str> {
    let (path, query) = next.split_once('?')?;
    (path.trim_start_matches('/') == "v3/releases" && !query.is_empty()).then_some(query)
}

fn parse_release(value: &Value) -> Option<Release> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let metadata = value.get("metadata").cloned().unwrap_or(Value::Null);
    let module = text(value.get("module").and_then(|m| m.get("slug")))
        .or_else(|| text(metadata.get("name")))
        .and_then(|m| canonical_slug(&m))?;
    let version = text(value.get("version")).or_else(|| text(metadata.get("version")))?;
    Some(Release {
        module,
        version,
        metadata,
        file_uri: text(value.get("file_uri"))?,
        file_size: value.get("file_size").and_then(Value::as_u64),
        file_md5: text(value.get("file_md5")),
        file_sha256: text(value.get("file_sha256")),
        created_at: text(value.get("created_at"))
            .and_then(|c| DateTime::parse_from_str(&c, "%Y-%m-%d %H:%M:%S %z").ok())
            .map(|c| c.with_timezone(&Utc)),
    })
}

/// A `file_uri` relative to the member's repository URL, as a path in the member: root-relative
/// (`/v3/files/…`, `/_files/…`), no scheme or host, no `..`.
fn member_path(uri: &str) -> Option<&str> {
    let path = uri.strip_prefix('/')?;
    let first = path.split('/').next().unwrap_or_default();
    (!first.is_empty() && !first.contains(':') && !path.split('/').any(|p| p == "..")).then_some(path)
}

/// A merged release list and the members whose releases it holds, in member order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Merged {
    pub releases: Vec<Release>,
    pub contributors: Vec<String>,
}

/// Merges the members' releases (in member order): the first member wins a module and version;
/// `file_uri` goes through the virtual; a release whose `file_uri` cannot be routed is dropped.
pub fn merge(members: Vec<(String, Vec<Release>)>) -> Merged {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut merged = Merged::default();
    for (member, releases) in members {
        for mut release in releases {
            if seen.contains(&(release.module.clone(), release.version.clone())) {
                continue;
            }
            let Some(path) = member_path(&release.file_uri) else {
                continue;
            };
            release.file_uri = format!("/{MEMBER_PREFIX}{member}/{}/{path}", release.module);
            seen.insert((release.module.clone(), release.version.clone()));
            if !merged.contributors.contains(&member) {
                merged.contributors.push(member.clone());
            }
            merged.releases.push(release);
        }
    }
    merged
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
