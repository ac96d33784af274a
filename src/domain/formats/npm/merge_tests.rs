use serde_json::json;

use super::*;

fn doc(versions: &[(&str, &str)], tags: Value, modified: &str) -> Value {
    let mut v = Map::new();
    let mut time = Map::new();
    for (version, marker) in versions {
        v.insert((*version).into(), json!({"version": version, "from": marker}));
        time.insert((*version).into(), json!(format!("t-{marker}")));
    }
    time.insert("modified".into(), json!(modified));
    json!({"name": "left", "description": "d", "dist-tags": tags, "versions": v, "time": time})
}

#[test]
fn first_member_wins_on_versions_and_tags() {
    let local = doc(&[("1.0.0", "local")], json!({"latest": "1.0.0"}), "2026-01-01");
    let remote = doc(
        &[("1.0.0", "remote"), ("2.0.0", "remote")],
        json!({"latest": "2.0.0", "next": "2.0.0"}),
        "2026-02-01",
    );
    let merged = merge("left", vec![("local".into(), local), ("remote".into(), remote)], false).unwrap();
    assert_eq!(merged.doc["versions"]["1.0.0"]["from"], "local");
    assert_eq!(merged.doc["versions"]["2.0.0"]["from"], "remote");
    assert_eq!(merged.doc["dist-tags"], json!({"latest": "1.0.0", "next": "2.0.0"}));
    assert_eq!(merged.doc["time"]["1.0.0"], "t-local");
    assert_eq!(merged.doc["time"]["modified"], "2026-02-01");
    assert_eq!(merged.contributors, vec!["local", "remote"]);
}

#[test]
fn members_adding_nothing_are_not_contributors() {
    let a = doc(&[("1.0.0", "a")], json!({"latest": "1.0.0"}), "m");
    let b = doc(&[("1.0.0", "b")], json!({"latest": "1.0.0", "x": "1.0.0"}), "m");
    let merged = merge("left", vec![("a".into(), a), ("b".into(), b)], true).unwrap();
    assert_eq!(merged.contributors, vec!["a"]);
    assert_eq!(merged.doc["dist-tags"], json!({"latest": "1.0.0"}));
    assert!(merged.doc.get("time").is_none(), "abbreviated has no time");
    assert!(merge("left", vec![], false).is_none());
}

#[test]
fn member_links_parse_back() {
    assert_eq!(
        member_file("_member/loc/@t/u/-/u-1.0.0.tgz"),
        Some(MemberFile {
            member: "loc",
            package: "@t/u",
            path: "@t/u/-/u-1.0.0.tgz"
        })
    );
    assert_eq!(
        member_file("_member/rem/left/_files/abc/def"),
        Some(MemberFile {
            member: "rem",
            package: "left",
            path: "_files/abc/def"
        })
    );
    assert_eq!(member_file("left/-/left-1.0.0.tgz"), None);
    assert_eq!(member_file("_member/loc/left"), None);
    assert_eq!(
        remote_member_base("http://h/v/", "rem", "@t/u"),
        "http://h/v/_member/rem/@t/u/"
    );
    assert_eq!(local_member_base("http://h/v/", "loc"), "http://h/v/_member/loc/");
}
