use super::*;

#[test]
fn chart_yaml_is_validated() {
    let ok = parse_chart_yaml("apiVersion: v2\nname: demo\nversion: 1.2.3-rc.1+build.5\ndescription: d\n").unwrap();
    assert_eq!((ok.name.as_str(), ok.version.as_str()), ("demo", "1.2.3-rc.1+build.5"));
    assert_eq!(ok.metadata["description"], "d");
    let cases: &[(&str, &str)] = &[
        ("name: demo\nversion: 1.0.0\n", "lacks apiVersion"),
        ("apiVersion: v3\nname: demo\nversion: 1.0.0\n", "not v1 or v2"),
        ("apiVersion: v2\nversion: 1.0.0\n", "lacks name"),
        ("apiVersion: v2\nname: demo\n", "lacks version"),
        ("apiVersion: v2\nname: demo\nversion: 1.0\n", "not valid SemVer"),
        ("apiVersion: v2\nname: demo\nversion: v1.0.0\n", "not valid SemVer"),
        ("apiVersion: v2\nname: demo\nversion: 01.0.0\n", "not valid SemVer"),
        ("apiVersion: v2\nname: ../etc\nversion: 1.0.0\n", "not valid"),
        ("apiVersion: v2\nname: a/b\nversion: 1.0.0\n", "not valid"),
        ("apiVersion: v2\nname: -x\nversion: 1.0.0\n", "not valid"),
        ("- a list\n", "not a mapping"),
        ("name: [unclosed", "not valid YAML"),
    ];
    for (text, why) in cases {
        let err = parse_chart_yaml(text).unwrap_err();
        assert!(err.0.contains(why), "{text:?}: {err}");
    }
}

#[test]
fn file_names_must_match_the_chart() {
    let chart = parse_chart_yaml("apiVersion: v1\nname: my-chart\nversion: 0.1.0-alpha\n").unwrap();
    assert!(check_filename("my-chart-0.1.0-alpha.tgz", &chart).is_ok());
    for wrong in [
        "my-chart-0.1.0.tgz",
        "other-0.1.0-alpha.tgz",
        "my-chart-0.1.0-alpha.tar.gz",
    ] {
        assert!(check_filename(wrong, &chart).is_err(), "{wrong}");
    }
    assert!(check_upload_name("x-1.0.0.tgz").is_ok());
    for wrong in [".tgz", "x-1.0.0.zip", "x"] {
        assert!(check_upload_name(wrong).is_err(), "{wrong}");
    }
    assert_eq!(chart_path("my-chart", "0.1.0-alpha"), "charts/my-chart-0.1.0-alpha.tgz");
    assert_eq!(record_key("a", "1.0.0"), "a/1.0.0");
}

#[test]
fn only_the_top_chart_yaml_counts() {
    for (member, top) in [
        ("demo/Chart.yaml", true),
        ("./demo/Chart.yaml", true),
        ("Chart.yaml", false),
        ("demo/charts/sub/Chart.yaml", false),
        ("demo/templates/Chart.yaml", false),
        ("/Chart.yaml", false),
    ] {
        assert_eq!(chart_yaml_member(member), top, "{member}");
    }
}
