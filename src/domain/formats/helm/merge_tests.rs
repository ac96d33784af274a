use super::*;

const REMOTE: &str = r#"apiVersion: v1
entries:
  demo:
  - name: demo
    version: 1.0.0
    digest: aaaa
    created: "2025-01-01T00:00:00Z"
    description: from the remote
    urls:
    - _files/sig/sha/http/127.0.0.1:8080/demo-1.0.0.tgz
    - mailto:someone
  - name: demo
    version: 0.9.0
    urls:
    - https://elsewhere.test/demo-0.9.0.tgz
  nginx:
  - name: nginx
    version: 2.0.0
    created: not a date
    urls:
    - charts/nginx-2.0.0.tgz
    - ../escape.tgz
    - /rooted.tgz
generated: "2025-01-01T00:00:00Z"
"#;

fn local(name: &str, version: &str) -> IndexEntry {
    IndexEntry {
        name: name.into(),
        version: version.into(),
        metadata: serde_json::json!({"description": "local"}),
        digest: Some("bbbb".into()),
        created: None,
        urls: vec![format!("charts/{name}-{version}.tgz")],
    }
}

#[test]
fn member_indexes_parse_with_what_they_have() {
    let entries = parse_member_index(REMOTE.as_bytes()).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].digest.as_deref(), Some("aaaa"));
    assert!(entries[0].created.is_some());
    assert_eq!(entries[1].digest, None);
    assert_eq!(
        entries[2].created, None,
        "an unparsable date is kept as text in the metadata"
    );
    assert_eq!(entries[2].metadata["created"], "not a date");
    assert!(parse_member_index(b"apiVersion: v1\n").unwrap().is_empty());
    assert!(parse_member_index(b"entries: [1, 2]").is_err());
    assert!(parse_member_index(b"entries: {unclosed").is_err());
}

#[test]
fn first_member_wins_and_every_url_goes_through_the_virtual() {
    let remote = parse_member_index(REMOTE.as_bytes()).unwrap();
    let merged = merge(vec![
        ("loc".into(), vec![local("demo", "1.0.0")]),
        ("rem".into(), remote),
        ("empty".into(), vec![]),
    ]);
    assert_eq!(merged.contributors, ["loc", "rem"]);
    let remote_demo = &parse_member_index(REMOTE.as_bytes()).unwrap()[0];
    let only = merge(vec![("rem".into(), vec![remote_demo.clone()])]);
    assert_eq!(
        only.entries[0].urls,
        ["_member/rem/demo/_files/sig/sha/http/127.0.0.1:8080/demo-1.0.0.tgz"],
        "a signed link with a port is routed; mailto: is not"
    );
    let listed: Vec<(&str, &str, &str)> = merged
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.version.as_str(), e.urls[0].as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("demo", "1.0.0", "_member/loc/demo/charts/demo-1.0.0.tgz"),
            ("nginx", "2.0.0", "_member/rem/nginx/charts/nginx-2.0.0.tgz"),
        ],
        "local wins 1.0.0; 0.9.0's absolute URL cannot be routed, so it is dropped"
    );
    assert_eq!(merged.entries[1].urls.len(), 1, "../ is not routed");
    assert_eq!(merged.entries[0].metadata["description"], "local");
}

#[test]
fn member_links_parse() {
    assert_eq!(
        member_file("_member/rem/demo/_files/sig/demo-1.0.0.tgz"),
        Some(MemberFile {
            member: "rem",
            chart: "demo",
            path: "_files/sig/demo-1.0.0.tgz"
        })
    );
    for bad in [
        "_member/rem/demo",
        "_member/rem",
        "charts/demo-1.0.0.tgz",
        "_member//demo/x",
    ] {
        assert_eq!(member_file(bad), None, "{bad}");
    }
}
