use serde_json::json;

use super::*;

fn release(module: &str, version: &str, uri: &str) -> Release {
    Release {
        module: module.into(),
        version: version.into(),
        metadata: json!({"name": module, "version": version}),
        file_uri: uri.into(),
        file_size: Some(1),
        file_md5: None,
        file_sha256: Some("a".repeat(64)),
        created_at: None,
    }
}

#[test]
fn a_member_page_is_parsed_with_its_next_link() {
    let body = json!({
        "pagination": {"next": "/v3/releases?module=bb-base&offset=20"},
        "results": [
            {"slug": "bb-base-1.0.0", "version": "1.0.0", "module": {"slug": "bb-base"},
             "metadata": {"name": "bb-base", "version": "1.0.0"}, "file_uri": "/_files/sig/x.tar.gz",
             "file_size": 7, "file_md5": "m", "file_sha256": "s", "created_at": "2024-01-02 03:04:05 -0800"},
            {"metadata": {"name": "bb/base", "version": "0.9.0"}, "file_uri": "/v3/files/bb-base-0.9.0.tar.gz"},
            {"version": "0.1.0", "metadata": {"name": "bb-base"}},
            {"version": "0.2.0", "file_uri": "/x"}
        ]
    });
    let (releases, next) = parse_member_page(body.to_string().as_bytes()).unwrap();
    assert_eq!(next.as_deref(), Some("/v3/releases?module=bb-base&offset=20"));
    assert_eq!(releases.len(), 2, "no file_uri, no module: skipped");
    assert_eq!(releases[0].module, "bb-base");
    assert_eq!(releases[0].file_size, Some(7));
    assert_eq!(
        releases[0].created_at.map(|c| c.to_rfc3339()),
        Some("2024-01-02T11:04:05+00:00".into())
    );
    assert_eq!(
        (releases[1].module.as_str(), releases[1].version.as_str()),
        ("bb-base", "0.9.0")
    );
    assert_eq!(parse_member_page(b"{}").unwrap(), (vec![], None));
    assert!(parse_member_page(b"not json").is_err());
    assert!(parse_member_page(br#"{"results": {}}"#).is_err());
}

#[test]
fn the_first_member_wins_and_links_go_through_the_virtual() {
    let merged = merge(vec![
        (
            "local".into(),
            vec![release("aa-demo", "1.0.0", "/v3/files/aa-demo-1.0.0.tar.gz")],
        ),
        (
            "rem".into(),
            vec![
                release("aa-demo", "1.0.0", "/_files/sig/other.tar.gz"),
                release(
                    "aa-demo",
                    "2.0.0",
                    "/_files/sig/sha/http/127.0.0.1:9/v3/files/aa-demo-2.0.0.tar.gz",
                ),
                release("aa-demo", "3.0.0", "http://elsewhere.invalid/x.tar.gz"),
                release("aa-demo", "4.0.0", "/../x.tar.gz"),
            ],
        ),
        ("empty".into(), vec![]),
    ]);
    let listed: Vec<(&str, &str)> = merged
        .releases
        .iter()
        .map(|r| (r.version.as_str(), r.file_uri.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("1.0.0", "/_member/local/aa-demo/v3/files/aa-demo-1.0.0.tar.gz"),
            (
                "2.0.0",
                "/_member/rem/aa-demo/_files/sig/sha/http/127.0.0.1:9/v3/files/aa-demo-2.0.0.tar.gz"
            ),
        ]
    );
    assert_eq!(merged.contributors, ["local", "rem"]);
    let file = member_file("_member/rem/aa-demo/_files/sig/x.tar.gz").unwrap();
    assert_eq!(
        (file.member, file.chart, file.path),
        ("rem", "aa-demo", "_files/sig/x.tar.gz")
    );
}

#[test]
fn only_a_next_releases_page_is_followed() {
    assert_eq!(
        next_page_query("/v3/releases?module=bb-base&offset=20"),
        Some("module=bb-base&offset=20")
    );
    assert_eq!(next_page_query("v3/releases?offset=1"), Some("offset=1"));
    for other in [
        "/v3/modules/bb-base?x=1",
        "/v3/releases",
        "/v3/releases?",
        "http://elsewhere.invalid/v3/x?a=1",
    ] {
        assert_eq!(next_page_query(other), None, "{other}");
    }
}
