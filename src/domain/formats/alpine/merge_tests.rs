//! Merging members' APKINDEX blocks: first member wins per name and version, the guard keeps a
//! remote's package of a local name out, contributors are named.
use super::*;
use crate::domain::formats::alpine::index::parse_text;

fn member(name: &str, local: bool, text: &str) -> MemberIndex {
    MemberIndex {
        member: name.into(),
        local,
        entries: parse_text(text),
    }
}

#[test]
fn first_member_wins_and_the_guard_drops_remote_names_held_locally() {
    let members = [
        member("local", true, "C:Q1aaa=\nP:hello\nV:1.0-r0\n\n"),
        member(
            "remote",
            false,
            "C:Q1bbb=\nP:hello\nV:1.0-r0\n\nC:Q1ccc=\nP:hello\nV:2.0-r0\n\nC:Q1ddd=\nP:zlib\nV:1.3-r0\n\n",
        ),
    ];
    let merged = merge(&members, false);
    let listed: Vec<(&str, &str)> = merged
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.version.as_str()))
        .collect();
    assert_eq!(listed, [("hello", "1.0-r0"), ("hello", "2.0-r0"), ("zlib", "1.3-r0")]);
    assert!(merged.entries[0].text.contains("Q1aaa="));
    assert_eq!(merged.members, ["local", "remote"]);

    let guarded = merge(&members, true);
    let listed: Vec<&str> = guarded.entries.iter().map(|e| e.version.as_str()).collect();
    assert_eq!(listed, ["1.0-r0", "1.3-r0"]);
    assert!(guarded.entries[0].text.contains("Q1aaa="));
}

#[test]
fn package_names_come_from_file_names() {
    assert_eq!(package_name("py3-foo-bar-1.2.3-r4.apk"), Some("py3-foo-bar"));
    assert_eq!(package_name("hello-1.0-r0.apk"), Some("hello"));
    assert_eq!(package_name("hello.apk"), None);
    assert_eq!(package_name("hello-1.0-r0.tar"), None);
}
