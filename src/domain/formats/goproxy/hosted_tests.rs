use super::*;

#[test]
fn case_encoding_round_trips_and_refuses_capitals() {
    assert_eq!(unescape("github.com/!azure/!a!b").unwrap(), "github.com/Azure/AB");
    assert_eq!(escape("github.com/Azure/AB"), "github.com/!azure/!a!b");
    for bad in ["github.com/Azure", "x/!", "x/!1", "x/!!a"] {
        assert!(unescape(bad).is_err(), "{bad}");
    }
}

#[test]
fn paths_parse() {
    let file = |m: &str, v: &str, kind| GoPath::File {
        module: m.into(),
        version: v.into(),
        kind,
    };
    let table: &[(&str, Option<GoPath>)] = &[
        (
            "example.test/!a/@v/list",
            Some(GoPath::List {
                module: "example.test/A".into(),
            }),
        ),
        (
            "example.test/a/@latest",
            Some(GoPath::Latest {
                module: "example.test/a".into(),
            }),
        ),
        (
            "example.test/a/@v/v1.2.3.mod",
            Some(file("example.test/a", "v1.2.3", FileKind::Mod)),
        ),
        (
            "example.test/a/v2/@v/v2.0.0-rc.1.zip",
            Some(file("example.test/a/v2", "v2.0.0-rc.1", FileKind::Zip)),
        ),
        (
            "example.test/a/@v/v3.0.0+incompatible.info",
            Some(file("example.test/a", "v3.0.0+incompatible", FileKind::Info)),
        ),
    ];
    for (path, expected) in table {
        assert_eq!(GoPath::parse(path).map(Result::unwrap), *expected, "{path}");
    }
    assert!(GoPath::parse("example.test/a/@v/v1.2.3.txt").is_none());
    assert!(GoPath::parse("readme.md").is_none());
    for bad in [
        "example.test/A/@v/v1.0.0.mod",
        "example.test/a/@v/1.0.0.mod",
        "example.test/a/@v/v1.0.mod",
        "example.test/a/@v/v1.0.0+meta.mod",
        "example.test/../a/@v/v1.0.0.mod",
        "example.test//a/@v/list",
        "example.test/a b/@latest",
    ] {
        assert!(matches!(GoPath::parse(bad), Some(Err(_))), "{bad}");
    }
    assert_eq!(
        file_path("example.test/Azure", "v1.0.0-RC", FileKind::Zip),
        "example.test/!azure/@v/v1.0.0-!r!c.zip"
    );
}

#[test]
fn go_mod_and_info_must_name_the_upload() {
    let go_mod = "// comment\nmodule \"example.test/a\" // trailing\n\ngo 1.19\n";
    assert_eq!(module_directive(go_mod).as_deref(), Some("example.test/a"));
    assert!(check_go_mod(go_mod, "example.test/a", "v1.0.0").is_ok());
    assert!(check_go_mod(go_mod, "example.test/b", "v1.0.0").is_err());
    assert!(check_go_mod("go 1.19\n", "example.test/a", "v1.0.0").is_err());
    assert!(check_go_mod("", "example.test/a", "v2.0.0+incompatible").is_ok());
    assert!(check_go_mod("modules x\n", "x", "v1.0.0").is_err());
    assert!(check_info(r#"{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}"#, "v1.0.0").is_ok());
    assert!(check_info(r#"{"Version":"v1.0.1"}"#, "v1.0.0").is_err());
    assert!(check_info("nope", "v1.0.0").is_err());
}

#[test]
fn zip_members_stay_under_their_prefix() {
    let prefix = "example.test/a@v1.0.0/";
    assert_eq!(
        check_zip_member("example.test/a@v1.0.0/go.mod", prefix).unwrap(),
        "go.mod"
    );
    for bad in [
        "example.test/a@v1.0.1/go.mod",
        "go.mod",
        "example.test/a@v1.0.0/../../etc/passwd",
        "example.test/a@v1.0.0/",
        "example.test/a@v1.0.0/x//y",
        "example.test/a@v1.0.0/x\\y",
        "example.test/a@v1.0.0/./x",
    ] {
        assert!(check_zip_member(bad, prefix).is_err(), "{bad}");
    }
}

#[test]
fn versions_sort_and_latest_prefers_releases() {
    let mut v: Vec<String> = ["v1.10.0", "v1.2.0", "v2.0.0-rc.1", "v1.2.0-beta"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    sort_versions(&mut v);
    assert_eq!(v, ["v1.2.0-beta", "v1.2.0", "v1.10.0", "v2.0.0-rc.1"]);
    assert_eq!(latest(&v).unwrap(), "v1.10.0");
    let pre = vec!["v0.1.0-a".to_string(), "v0.1.0-b".to_string()];
    assert_eq!(latest(&pre).unwrap(), "v0.1.0-b");
    assert!(latest(&[]).is_none());
    let info: Value = serde_json::from_slice(&generated_info(
        "v1.0.0",
        DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
    ))
    .unwrap();
    assert_eq!(info, json!({"Version": "v1.0.0", "Time": "2023-11-14T22:13:20Z"}));
}
