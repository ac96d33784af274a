//! Virtual alpine repositories: the members' APKINDEX blocks merged into one index. The first
//! member wins on a name and version. Blocks are kept as their member wrote them: `C:` is the
//! checksum of the package file, which the virtual serves unchanged from that member (apk
//! fetches `<name>-<version>.apk` next to the index, and the virtual asks members in order).
use std::collections::{BTreeSet, HashSet};

use super::index::Entry;

/// One member's index blocks for the directory asked.
pub struct MemberIndex {
    pub member: String,
    pub local: bool,
    pub entries: Vec<Entry>,
}

/// The merged blocks and the members that contributed some.
pub struct Merged {
    pub entries: Vec<Entry>,
    pub members: Vec<String>,
}

/// Merges in member order; with `guard` (dependency-confusion guard) a remote member's package
/// is dropped when a local member has a package of that name.
pub fn merge(members: &[MemberIndex], guard: bool) -> Merged {
    let local_names: HashSet<&str> = members
        .iter()
        .filter(|m| m.local)
        .flat_map(|m| m.entries.iter().map(|e| e.name.as_str()))
        .collect();
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    let mut contributors = BTreeSet::new();
    for (i, m) in members.iter().enumerate() {
        for entry in &m.entries {
            if guard && !m.local && local_names.contains(entry.name.as_str()) {
                continue;
            }
            if !seen.insert((entry.name.as_str(), entry.version.as_str())) {
                continue;
            }
            contributors.insert(i);
            entries.push(entry.clone());
        }
    }
    Merged {
        entries,
        members: contributors.into_iter().map(|i| members[i].member.clone()).collect(),
    }
}

/// The package name of an apk file name (`<name>-<version>-r<release>.apk`), as far as it can
/// be told without its index: versions end in `-r<n>`, names may hold dashes.
pub fn package_name(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_suffix(".apk")?;
    let mut parts = stem.rsplitn(3, '-');
    let (_release, _version, name) = (parts.next()?, parts.next()?, parts.next()?);
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
