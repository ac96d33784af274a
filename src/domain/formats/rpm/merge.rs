//! Virtual rpm repositories: the members' repodata merged into one. Each member's `primary`,
//! `filelists` and `other` documents (a local member's rendered from its records, a remote
//! member's as its upstream wrote them) are cut into their `<package>` elements, which never
//! nest; the first member wins on a name-epoch-version-release-arch, and every package's
//! `location` is rewritten to `_member/<member>/<href>` so dnf fetches it through the virtual
//! from the member the entry came from.
use std::collections::{BTreeSet, HashSet};

use super::repodata::escape;

/// The largest member document (uncompressed) a merge reads; a larger member is skipped.
pub const MAX_MEMBER_DOCUMENT: u64 = 128 * 1024 * 1024;
/// The largest member repomd.xml read.
pub const MAX_MEMBER_REPOMD: usize = 1024 * 1024;
pub const MEMBER_PREFIX: &str = "_member/";

/// One member's three documents.
pub struct MemberData {
    pub member: String,
    pub local: bool,
    pub primary: String,
    pub filelists: String,
    pub other: String,
}

/// The merged documents and the members that contributed packages.
pub struct Merged {
    pub primary: String,
    pub filelists: String,
    pub other: String,
    pub members: Vec<String>,
}

/// `_member/<member>/<href>`: a member's file through the virtual.
pub fn member_href(member: &str, href: &str) -> String {
    format!("{MEMBER_PREFIX}{member}/{href}")
}

/// The member and path a `_member/` path of the virtual names.
pub fn member_file(path: &str) -> Option<(&str, &str)> {
    let (member, rest) = path.strip_prefix(MEMBER_PREFIX)?.split_once('/')?;
    (!member.is_empty() && !rest.is_empty()).then_some((member, rest))
}

/// The `(type, href)` of each data file a repomd.xml lists.
pub fn repomd_hrefs(repomd: &str) -> Vec<(String, String)> {
    elements(repomd, "<data ", "</data>")
        .filter_map(|data| {
            let kind = attr(data, "<data ", "type")?;
            let href = attr(data, "<location ", "href")?;
            Some((kind.to_string(), unescape(href)))
        })
        .collect()
}

/// The elements of `xml` that open with `open` and close with `close`.
fn elements<'a>(xml: &'a str, open: &'a str, close: &'a str) -> impl Iterator<Item = &'a str> {
    let mut rest = xml;
    std::iter::from_fn(move || {
        let start = rest.find(open)?;
        let end = rest[start..].find(close)? + start + close.len();
        let element = &rest[start..end];
        rest = &rest[end..];
        Some(element)
    })
}

/// The value of `name` in the first tag of `element` that starts with `tag`.
fn attr<'a>(element: &'a str, tag: &str, name: &str) -> Option<&'a str> {
    let start = element.find(tag)?;
    let tag_text = &element[start..start + element[start..].find('>')?];
    let needle = format!(" {name}=\"");
    let at = tag_text.find(&needle)? + needle.len();
    let len = tag_text[at..].find('"')?;
    Some(&tag_text[at..at + len])
}

/// The character data of the first `<tag>` (with or without attributes) in `element`.
fn text<'a>(element: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}");
    let mut from = 0;
    while let Some(found) = element[from..].find(&open) {
        let at = from + found + open.len();
        if element[at..].starts_with([' ', '>']) {
            let body = at + element[at..].find('>')? + 1;
            let len = element[body..].find('<')?;
            return Some(&element[body..body + len]);
        }
        from = at;
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// A primary `<package>`'s identity: name, arch and the raw `<version .../>` tag.
fn nevra(package: &str) -> Option<(String, String, String)> {
    let name = text(package, "name")?;
    let arch = text(package, "arch")?;
    let start = package.find("<version ")?;
    let version = &package[start..start + package[start..].find("/>")?];
    Some((name.to_string(), arch.to_string(), version.to_string()))
}

/// The package's `location` pointed at `member`; an `xml:base` (a location elsewhere) is dropped
/// with it, since the member serves its files at its own paths.
fn relocate(package: &str, member: &str) -> Option<String> {
    let start = package.find("<location ")?;
    let end = start + package[start..].find("/>")? + 2;
    let href = unescape(attr(&package[start..end], "<location ", "href")?);
    Some(format!(
        "{}<location href=\"{}\"/>{}",
        &package[..start],
        escape(&member_href(member, &href)),
        &package[end..]
    ))
}

/// Merges the members' documents in member order. With `guard` (the dependency-confusion
/// guard), a name any local member has never comes from a remote member.
pub fn merge(members: &[MemberData], guard: bool) -> Merged {
    let local_names: HashSet<String> = members
        .iter()
        .filter(|m| m.local)
        .flat_map(|m| {
            elements(&m.primary, "<package ", "</package>").filter_map(|p| text(p, "name").map(str::to_string))
        })
        .collect();
    let mut seen = HashSet::new();
    let mut kept: HashSet<(usize, String)> = HashSet::new();
    let mut primary = Vec::new();
    let mut contributors = BTreeSet::new();
    for (i, m) in members.iter().enumerate() {
        for package in elements(&m.primary, "<package ", "</package>") {
            let (Some(id), Some(pkgid)) = (nevra(package), text(package, "checksum")) else {
                continue;
            };
            if guard && !m.local && local_names.contains(&id.0) {
                continue;
            }
            if !seen.insert(id) {
                continue;
            }
            let Some(relocated) = relocate(package, &m.member) else {
                continue;
            };
            kept.insert((i, pkgid.to_string()));
            contributors.insert(i);
            primary.push(relocated);
        }
    }
    let pick = |doc: fn(&MemberData) -> &str| -> Vec<String> {
        let mut out = Vec::new();
        for (i, m) in members.iter().enumerate() {
            for package in elements(doc(m), "<package ", "</package>") {
                if attr(package, "<package ", "pkgid").is_some_and(|id| kept.contains(&(i, id.to_string()))) {
                    out.push(package.to_string());
                }
            }
        }
        out
    };
    let filelists = pick(|m| &m.filelists);
    let other = pick(|m| &m.other);
    Merged {
        primary: document(
            "<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\"",
            "</metadata>",
            &primary,
        ),
        filelists: document(
            "<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\"",
            "</filelists>",
            &filelists,
        ),
        other: document(
            "<otherdata xmlns=\"http://linux.duke.edu/metadata/other\"",
            "</otherdata>",
            &other,
        ),
        members: contributors.into_iter().map(|i| members[i].member.clone()).collect(),
    }
}

fn document(open: &str, close: &str, packages: &[String]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{open} packages=\"{}\">\n",
        packages.len()
    );
    for p in packages {
        out.push_str(p);
        out.push('\n');
    }
    out.push_str(close);
    out
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
