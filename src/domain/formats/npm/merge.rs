//! Packuments merged across a virtual npm repository's members: the union of versions, the
//! first member wins on a version and on each dist-tag, `time` follows the versions kept.
//! Members' documents arrive with their tarball links already pointing through the virtual.
use serde_json::{Map, Value};

/// A member's packument is refused past this size (the public registry's largest are tens of MiB).
pub const MAX_MEMBER_PACKUMENT: usize = 64 * 1024 * 1024;

/// The merged document, and the members whose versions it lists.
pub struct Merged {
    pub doc: Value,
    pub contributors: Vec<String>,
}

fn object(doc: &Value, field: &str) -> Map<String, Value> {
    doc.get(field).and_then(Value::as_object).cloned().unwrap_or_default()
}

/// Merges `(member, packument)` pairs, first member first; `None` when none lists a version.
pub fn merge(name: &str, docs: Vec<(String, Value)>, abbreviated: bool) -> Option<Merged> {
    let mut versions = Map::new();
    let mut tags = Map::new();
    let mut time = Map::new();
    let mut contributors = Vec::new();
    let mut first: Option<Value> = None;
    let mut modified: Option<String> = None;
    for (member, doc) in docs {
        let member_versions = object(&doc, "versions");
        let member_time = object(&doc, "time");
        let mut contributed = false;
        for (version, manifest) in member_versions {
            if versions.contains_key(&version) {
                continue;
            }
            if let Some(at) = member_time.get(&version) {
                time.insert(version.clone(), at.clone());
            }
            versions.insert(version, manifest);
            contributed = true;
        }
        if !contributed {
            continue;
        }
        for (tag, version) in object(&doc, "dist-tags") {
            let known = version.as_str().is_some_and(|v| versions.contains_key(v));
            if known && !tags.contains_key(&tag) {
                tags.insert(tag, version);
            }
        }
        let member_modified = doc
            .get("modified")
            .or_else(|| member_time.get("modified"))
            .and_then(Value::as_str)
            .map(str::to_string);
        if member_modified > modified {
            modified = member_modified;
        }
        if let Some(created) = member_time.get("created")
            && time.get("created").is_none_or(|c| c.as_str() > created.as_str())
        {
            time.insert("created".into(), created.clone());
        }
        contributors.push(member);
        first.get_or_insert(doc);
    }
    let first = first?;
    if let Some(modified) = &modified {
        time.insert("modified".into(), Value::String(modified.clone()));
    }
    let mut merged = Map::new();
    merged.insert("name".into(), Value::String(name.to_string()));
    if abbreviated {
        if let Some(modified) = modified {
            merged.insert("modified".into(), Value::String(modified));
        }
    } else {
        merged.insert("_id".into(), Value::String(name.to_string()));
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
            if let Some(value) = first.get(field) {
                merged.insert(field.into(), value.clone());
            }
        }
        merged.insert("time".into(), Value::Object(time));
    }
    merged.insert("dist-tags".into(), Value::Object(tags));
    merged.insert("versions".into(), Value::Object(versions));
    Some(Merged {
        doc: Value::Object(merged),
        contributors,
    })
}

/// A file link through a virtual: `_member/<member>/<path>`, where `<path>` is a local member's
/// own tarball path (`name/-/file.tgz`) or, for a remote member, `name/_files/…` (its signed
/// link, rendered below the package's name so the dependency-confusion guard can see it).
#[derive(Debug, PartialEq)]
pub struct MemberFile<'a> {
    pub member: &'a str,
    /// The package the file belongs to (for the dependency-confusion guard).
    pub package: &'a str,
    /// The path to ask the member for.
    pub path: &'a str,
}

pub const MEMBER_PREFIX: &str = "_member/";

/// The base a local member's tarball links are rendered under.
pub fn local_member_base(virtual_base: &str, member: &str) -> String {
    format!("{virtual_base}{MEMBER_PREFIX}{member}/")
}

/// The base a remote member is asked to render its links under.
pub fn remote_member_base(virtual_base: &str, member: &str, package: &str) -> String {
    format!("{virtual_base}{MEMBER_PREFIX}{member}/{package}/")
}

/// Parses a `_member/` link of the virtual.
pub fn member_file(path: &str) -> Option<MemberFile<'_>> {
    let rest = path.strip_prefix(MEMBER_PREFIX)?;
    let (member, rest) = rest.split_once('/')?;
    if let Some(at) = rest.find("/_files/") {
        return Some(MemberFile {
            member,
            package: &rest[..at],
            path: &rest[at + 1..],
        });
    }
    Some(MemberFile {
        member,
        package: super::hosted::tarball_package(rest)?,
        path: rest,
    })
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
