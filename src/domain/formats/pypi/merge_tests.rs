use super::*;
use crate::domain::formats::pypi::index::{Representation, render_project};

const SHA_A: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
const SHA_B: &str = "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9";

fn file(filename: &str, url: &str, sha: &str) -> IndexFile {
    IndexFile {
        filename: filename.into(),
        url: url.into(),
        sha256: Some(sha.into()),
        requires_python: None,
        core_metadata: None,
        yanked: None,
        size: None,
        upload_time: None,
        version: None,
    }
}

/// A remote's page as the remote rewrote it (HTML, signed links relative to its page).
const REMOTE_HTML: &str = r#"<!DOCTYPE html><html><body>
<a href="../../_files/sig1/fcde/https/files.example.invalid/p/demo_pkg-2.0-py3-none-any.whl#sha256=FCDE2B2EDBA56BF408601FB721FE9B5C338D10EE429EA04FAE5511B68FBF8FB9" data-requires-python="&gt;=3.9" data-core-metadata="sha256=abc" data-yanked="">demo_pkg-2.0-py3-none-any.whl</a><br/>
<a href='../../_files/sig2/-/https/files.example.invalid/p/demo_pkg-1.0.tar.gz' data-dist-info-metadata="sha256=def">demo_pkg-1.0.tar.gz</a>
<a href="mailto:someone@example.invalid">not a file</a>
</body></html>"#;

const REMOTE_JSON: &str = r#"{"meta":{"api-version":"1.1"},"name":"demo-pkg","versions":["1.0","2.0"],"files":[
 {"filename":"demo_pkg-2.0-py3-none-any.whl","url":"../../_files/s/x/https/h/demo_pkg-2.0-py3-none-any.whl","hashes":{"sha256":"fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9"},"requires-python":">=3.9","core-metadata":{"sha256":"abc"},"yanked":"bad build","size":10,"upload-time":"2026-01-01T00:00:00Z"},
 {"filename":"demo_pkg-1.0.tar.gz","url":"../../_files/s/-/https/h/demo_pkg-1.0.tar.gz","hashes":{},"dist-info-metadata":{"sha256":"def"},"yanked":false}
]}"#;

#[test]
fn html_member_pages_keep_every_attribute() {
    let page = parse_project(REMOTE_HTML.as_bytes(), Some("text/html")).unwrap();
    assert_eq!(page.files.len(), 3);
    let wheel = &page.files[0];
    assert_eq!(wheel.filename, "demo_pkg-2.0-py3-none-any.whl");
    assert!(wheel.url.starts_with("../../_files/sig1/") && !wheel.url.contains('#'));
    assert_eq!(wheel.sha256.as_deref(), Some(SHA_B));
    assert_eq!(wheel.requires_python.as_deref(), Some(">=3.9"));
    assert_eq!(wheel.core_metadata.as_deref(), Some("abc"));
    assert_eq!(wheel.yanked.as_deref(), Some(""));
    let sdist = &page.files[1];
    assert_eq!(
        (sdist.sha256.as_deref(), sdist.core_metadata.as_deref()),
        (None, Some("def"))
    );
    assert_eq!(sdist.yanked, None);
    assert_eq!(page.versions, vec!["2.0", "1.0"]);
}

#[test]
fn json_member_pages_keep_every_field() {
    let page = parse_project(REMOTE_JSON.as_bytes(), Some(crate::domain::formats::pypi::JSON_TYPE)).unwrap();
    assert_eq!(page.versions, vec!["1.0", "2.0"]);
    let wheel = &page.files[0];
    assert_eq!(wheel.sha256.as_deref(), Some(SHA_B));
    assert_eq!(wheel.yanked.as_deref(), Some("bad build"));
    assert_eq!(
        (wheel.size, wheel.upload_time.as_deref()),
        (Some(10), Some("2026-01-01T00:00:00Z"))
    );
    assert_eq!(wheel.core_metadata.as_deref(), Some("abc"));
    assert_eq!(page.files[1].core_metadata.as_deref(), Some("def"));
    assert_eq!(
        (page.files[1].sha256.as_ref(), page.files[1].yanked.as_ref()),
        (None, None)
    );
    assert!(parse_project(b"{not json", Some("application/json")).is_err());
    assert!(parse_project(&[0xff, 0xfe], Some("text/html")).is_err());
}

#[test]
fn roots_merge_as_a_sorted_union_of_normalised_names() {
    let html = br#"<a href="Demo_Pkg/">Demo_Pkg</a><br/><a href="other/">other</a>"#;
    let json = br#"{"meta":{"api-version":"1.0"},"projects":[{"name":"demo-pkg"},{"name":"zeta"}]}"#;
    let a = parse_root(html, Some("text/html")).unwrap();
    let b = parse_root(json, Some("application/vnd.pypi.simple.v1+json")).unwrap();
    assert_eq!(merge_root(vec![a, b]), vec!["demo-pkg", "other", "zeta"]);
}

#[test]
fn first_member_wins_on_a_file_name_and_links_name_their_member() {
    let local = MemberPage {
        versions: vec!["1.0".into()],
        files: vec![file(
            "demo_pkg-1.0.tar.gz",
            "../../packages/demo-pkg/demo_pkg-1.0.tar.gz",
            SHA_A,
        )],
    };
    let remote = parse_project(REMOTE_HTML.as_bytes(), Some("text/html")).unwrap();
    let merged = merge_project(
        "Demo.Pkg",
        vec![("local-py".into(), local), ("remote-py".into(), remote)],
    );
    assert_eq!(merged.page.name, "demo-pkg");
    assert_eq!(merged.contributors, vec!["local-py", "remote-py"]);
    let table = [
        (
            "demo_pkg-1.0.tar.gz",
            "../../_member/local-py/demo-pkg/packages/demo-pkg/demo_pkg-1.0.tar.gz",
            Some(SHA_A),
        ),
        (
            "demo_pkg-2.0-py3-none-any.whl",
            "../../_member/remote-py/demo-pkg/_files/sig1/fcde/https/files.example.invalid/p/demo_pkg-2.0-py3-none-any.whl",
            Some(SHA_B),
        ),
    ];
    assert_eq!(
        merged.page.files.len(),
        table.len(),
        "the remote's sdist lost, mailto dropped"
    );
    for (f, (filename, url, sha)) in merged.page.files.iter().zip(table) {
        assert_eq!(
            (f.filename.as_str(), f.url.as_str(), f.sha256.as_deref()),
            (filename, url, sha)
        );
    }
    assert_eq!(merged.page.versions, vec!["1.0", "2.0"]);

    let html = String::from_utf8(render_project(&merged.page, Representation::Html)).unwrap();
    assert!(html.contains(&format!("demo_pkg-1.0.tar.gz#sha256={SHA_A}")), "{html}");
    assert!(html.contains("data-requires-python=\"&gt;=3.9\""), "{html}");
    assert!(html.contains("data-core-metadata=\"sha256=abc\""), "{html}");
    assert!(html.contains("data-yanked=\"\""), "{html}");
    let json: Value = serde_json::from_slice(&render_project(&merged.page, Representation::Json)).unwrap();
    assert_eq!(json["files"][1]["hashes"]["sha256"], SHA_B);
    assert_eq!(json["files"][1]["yanked"], true);
    assert_eq!(json["files"][1]["core-metadata"]["sha256"], "abc");
}

#[test]
fn member_paths_resolve_relative_to_the_member_page() {
    let table = [
        ("../../packages/p/f.whl", Some("packages/p/f.whl")),
        ("f.whl#sha256=00", Some("simple/p/f.whl")),
        ("/_files/a/b/https/h/f%20x.whl", Some("_files/a/b/https/h/f%20x.whl")),
        ("https://elsewhere.invalid/f.whl", None),
        ("http://member.invalid:8080/f.whl", None),
        ("mailto:x@y.invalid", None),
    ];
    for (link, expected) in table {
        assert_eq!(member_path("p", link).as_deref(), expected, "{link}");
    }
}

#[test]
fn member_file_links_name_member_project_and_path() {
    let ok = member_file("_member/remote-py/demo-pkg/_files/s/-/https/h/demo_pkg-2.0-py3-none-any.whl.metadata");
    assert_eq!(
        ok,
        Some(MemberFile {
            member: "remote-py".into(),
            project: "demo-pkg".into(),
            path: "_files/s/-/https/h/demo_pkg-2.0-py3-none-any.whl.metadata".into(),
        })
    );
    for bad in [
        "_member/remote-py/demo-pkg",
        "_member/remote-py/Demo_Pkg/packages/demo-pkg/demo_pkg-1.0.tar.gz",
        "_member//demo-pkg/x.whl",
        // A file of another project, put under this project's guard decision.
        "_member/remote-py/demo-pkg/_files/s/-/https/h/internal_tool-9.0.tar.gz",
        "packages/demo-pkg/demo_pkg-1.0.tar.gz",
    ] {
        assert_eq!(member_file(bad), None, "{bad}");
    }
}
