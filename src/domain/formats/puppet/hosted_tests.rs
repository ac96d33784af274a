use super::*;

#[test]
fn metadata_json_is_validated() {
    let ok = parse_metadata(
        r#"{"name":"aa/demo","version":"1.2.3-rc.1","dependencies":[{"name":"bb-base","version_requirement":">= 1.0.0 < 2.0.0"}]}"#,
    )
    .unwrap();
    assert_eq!((ok.slug().as_str(), ok.version.as_str()), ("aa-demo", "1.2.3-rc.1"));
    assert_eq!(ok.release_slug(), "aa-demo-1.2.3-rc.1");
    assert_eq!(ok.metadata["dependencies"][0]["name"], "bb-base");
    let cases: &[(&str, &str)] = &[
        (r#"{"version":"1.0.0"}"#, "lacks name"),
        (r#"{"name":"aa-demo"}"#, "lacks version"),
        (r#"{"name":"aa-demo","version":"1.0"}"#, "not valid SemVer"),
        (r#"{"name":"aa-demo","version":"v1.0.0"}"#, "not valid SemVer"),
        (r#"{"name":"aa-demo","version":1}"#, "lacks version"),
        (r#"{"name":"demo","version":"1.0.0"}"#, "not valid"),
        (r#"{"name":"aa-Demo","version":"1.0.0"}"#, "not valid"),
        (r#"{"name":"a.a-demo","version":"1.0.0"}"#, "not valid"),
        (r#"{"name":"aa-../x","version":"1.0.0"}"#, "not valid"),
        (r#"{"name":"aa-1demo","version":"1.0.0"}"#, "not valid"),
        (
            r#"{"name":"aa-demo","version":"1.0.0","dependencies":{}}"#,
            "not a list",
        ),
        (
            r#"{"name":"aa-demo","version":"1.0.0","dependencies":[{"version_requirement":"1.x"}]}"#,
            "lacks name",
        ),
        (
            r#"{"name":"aa-demo","version":"1.0.0","dependencies":[{"name":"base"}]}"#,
            "not owner-module",
        ),
        (
            r#"{"name":"aa-demo","version":"1.0.0","dependencies":[{"name":"bb-base","version_requirement":"$(rm)"}]}"#,
            "invalid version_requirement",
        ),
        (r#"["a list"]"#, "not an object"),
        ("{unclosed", "not valid JSON"),
    ];
    for (text, why) in cases {
        let err = parse_metadata(text).unwrap_err();
        assert!(err.0.contains(why), "{text:?}: {err}");
    }
}

#[test]
fn slugs_file_names_and_paths() {
    assert_eq!(parse_slug("puppetlabs-stdlib"), Some(("puppetlabs", "stdlib")));
    assert_eq!(parse_slug("aa/my_mod2"), Some(("aa", "my_mod2")));
    assert_eq!(canonical_slug("aa/demo").as_deref(), Some("aa-demo"));
    assert_eq!(parse_slug("aa-"), None);
    assert_eq!(parse_slug("-demo"), None);
    assert_eq!(release_path("aa-demo", "1.0.0"), "v3/files/aa-demo-1.0.0.tar.gz");
    assert_eq!(record_key("aa-demo", "1.0.0"), "aa-demo/1.0.0");
    assert_eq!(
        split_release_slug("aa-demo-1.0.0-rc.1"),
        Some(("aa-demo".to_string(), "1.0.0-rc.1"))
    );
    assert_eq!(split_release_slug("aa-demo"), None);
    assert_eq!(split_release_slug("aa-demo-latest"), None);
    assert!(check_upload_name("aa-demo-1.0.0.tar.gz").is_ok());
    for bad in ["aa-demo-1.0.0.tgz", "demo-1.0.0.tar.gz", "aa-demo.tar.gz", ".tar.gz"] {
        assert!(check_upload_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn names_must_match_the_metadata() {
    let meta = parse_metadata(r#"{"name":"aa-demo","version":"1.0.0"}"#).unwrap();
    assert!(check_names("aa-demo-1.0.0", None, &meta).is_ok());
    assert!(check_names("aa-demo-1.0.0", Some("aa-demo-1.0.0.tar.gz"), &meta).is_ok());
    let table = [
        ("aa-demo-2.0.0", None, "directory"),
        ("aa-other-1.0.0", None, "directory"),
        ("aa-demo-1.0.0", Some("aa-demo-2.0.0.tar.gz"), "file name"),
        ("aa-demo-1.0.0", Some("bb-demo-1.0.0.tar.gz"), "file name"),
    ];
    for (top, filename, why) in table {
        let err = check_names(top, filename, &meta).unwrap_err();
        assert!(err.0.contains(why), "{top} {filename:?}: {err}");
    }
}

#[test]
fn members_that_escape_are_refused() {
    assert_eq!(member_top("aa-demo-1.0.0/manifests/init.pp").unwrap(), "aa-demo-1.0.0");
    assert_eq!(member_top("./aa-demo-1.0.0/").unwrap(), "aa-demo-1.0.0");
    for bad in [
        "../etc/passwd",
        "aa-demo-1.0.0/../../x",
        "/etc/passwd",
        "C:/x",
        "aa-demo-1.0.0\\..\\x",
        "a\0b",
        "./",
        "",
    ] {
        assert!(member_top(bad).is_err(), "{bad:?}");
    }
    assert!(metadata_member("aa-demo-1.0.0/metadata.json"));
    assert!(metadata_member("./aa-demo-1.0.0/metadata.json"));
    assert!(!metadata_member("aa-demo-1.0.0/spec/metadata.json"));
    assert!(!metadata_member("metadata.json"));
    let links = [
        ("aa-demo-1.0.0/files/link", "../templates/x", true),
        ("aa-demo-1.0.0/files/link", "same-dir", true),
        ("aa-demo-1.0.0/link", "../x", false),
        ("aa-demo-1.0.0/files/link", "../../x", false),
        ("aa-demo-1.0.0/files/link", "a/../../../x", false),
        ("aa-demo-1.0.0/files/link", "/etc/passwd", false),
    ];
    for (member, target, ok) in links {
        assert_eq!(safe_link(member, target), ok, "{member} -> {target}");
    }
}
