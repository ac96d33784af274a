use super::*;
use crate::domain::digest::Digest;
use chrono::TimeZone;

const SHA: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

fn record(filename: &str, version: &str, meta: Value) -> PackageRecord {
    PackageRecord {
        repo: "py".into(),
        name: "demo-pkg".into(),
        version: version.into(),
        key: filename.into(),
        filename: filename.into(),
        path: file_path("Demo_Pkg", filename),
        digest: Digest::from_sha256_hex(SHA).unwrap(),
        size: 1234,
        meta,
        created_at: chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
    }
}

fn records() -> Vec<PackageRecord> {
    let mut yanked = record_meta(None, None, "sdist");
    yanked["yanked"] = json!("broken <build>");
    vec![
        record(
            "demo_pkg-1.0-py3-none-any.whl",
            "1.0",
            record_meta(Some(">=3.8"), Some(SHA), "bdist_wheel"),
        ),
        record("demo_pkg-1.0.tar.gz", "1.0", yanked),
        record("demo_pkg-0.9.tar.gz", "0.9", record_meta(None, None, "sdist")),
    ]
}

#[test]
fn negotiation_follows_quality() {
    let table = [
        (None, Representation::LegacyHtml),
        (Some("text/html"), Representation::LegacyHtml),
        (
            Some("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"),
            Representation::Json,
        ),
        (
            Some("application/vnd.pypi.simple.v1+html, application/vnd.pypi.simple.v1+json;q=0.5"),
            Representation::Html,
        ),
        (
            Some("application/vnd.pypi.simple.v1+json;q=0, text/html"),
            Representation::LegacyHtml,
        ),
        (Some("application/json"), Representation::LegacyHtml),
    ];
    for (accept, repr) in table {
        assert_eq!(Representation::negotiate(accept), repr, "{accept:?}");
    }
}

#[test]
fn pages_and_their_canonical_paths() {
    let table = [
        ("simple", Some(IndexPage::Root), "simple/"),
        ("simple/", Some(IndexPage::Root), "simple/"),
        (
            "simple/Demo_Pkg",
            Some(IndexPage::Project("Demo_Pkg".into())),
            "simple/demo-pkg/",
        ),
        (
            "simple/demo-pkg/",
            Some(IndexPage::Project("demo-pkg".into())),
            "simple/demo-pkg/",
        ),
    ];
    for (path, page, canonical) in table {
        let parsed = IndexPage::of(path);
        assert_eq!(parsed, page, "{path}");
        assert_eq!(parsed.unwrap().canonical_path(), canonical);
    }
    for other in ["simplex", "simple/a/b", "packages/demo/x.whl", "simple//"] {
        assert_eq!(IndexPage::of(other), None, "{other}");
    }
}

#[test]
fn html_project_page() {
    let page = ProjectPage::from_records("Demo_Pkg", &records());
    let html = String::from_utf8(render_project(&page, Representation::LegacyHtml)).unwrap();
    assert!(html.contains("<meta name=\"pypi:repository-version\" content=\"1.1\">"));
    assert!(html.contains(&format!(
        "<a href=\"../../packages/demo-pkg/demo_pkg-1.0-py3-none-any.whl#sha256={SHA}\" data-requires-python=\"&gt;=3.8\" data-dist-info-metadata=\"sha256={SHA}\" data-core-metadata=\"sha256={SHA}\">demo_pkg-1.0-py3-none-any.whl</a>"
    )), "{html}");
    assert!(html.contains("data-yanked=\"broken &lt;build&gt;\""), "{html}");
    assert_eq!(html.matches("<a ").count(), 3);
    assert!(html.contains("Links for demo-pkg"));
}

#[test]
fn json_project_page() {
    let page = ProjectPage::from_records("demo-pkg", &records());
    let doc: Value = serde_json::from_slice(&render_project(&page, Representation::Json)).unwrap();
    assert_eq!(doc["meta"]["api-version"], "1.1");
    assert_eq!(doc["name"], "demo-pkg");
    assert_eq!(doc["versions"], json!(["1.0", "0.9"]));
    let wheel = &doc["files"][0];
    assert_eq!(wheel["url"], "../../packages/demo-pkg/demo_pkg-1.0-py3-none-any.whl");
    assert_eq!(wheel["hashes"]["sha256"], SHA);
    assert_eq!(wheel["requires-python"], ">=3.8");
    assert_eq!(wheel["core-metadata"]["sha256"], SHA);
    assert_eq!(wheel["yanked"], false);
    assert_eq!(wheel["size"], 1234);
    assert_eq!(wheel["upload-time"], "2026-01-02T03:04:05.000000Z");
    assert_eq!(doc["files"][1]["yanked"], "broken <build>");
    assert_eq!(doc["files"][1]["core-metadata"], false);
    let mut no_reason = records()[2].clone();
    no_reason.meta["yanked"] = json!("");
    let doc: Value = serde_json::from_slice(&render_project(
        &ProjectPage::from_records("demo", &[no_reason]),
        Representation::Json,
    ))
    .unwrap();
    assert_eq!(doc["files"][0]["yanked"], true);
}

#[test]
fn root_page() {
    let projects = vec!["a-b".to_string(), "demo".to_string()];
    let html = String::from_utf8(render_root(&projects, Representation::Html)).unwrap();
    assert!(html.contains("<a href=\"a-b/\">a-b</a>") && html.contains("<a href=\"demo/\">demo</a>"));
    let doc: Value = serde_json::from_slice(&render_root(&projects, Representation::Json)).unwrap();
    assert_eq!(doc["projects"], json!([{"name": "a-b"}, {"name": "demo"}]));
    assert_eq!(doc["meta"]["api-version"], "1.1");
}
