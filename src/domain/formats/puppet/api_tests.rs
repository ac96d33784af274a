use super::*;

fn release(module: &str, version: &str, created: i64) -> Release {
    Release {
        module: module.into(),
        version: version.into(),
        metadata: json!({"name": module, "version": version, "dependencies": []}),
        file_uri: format!("/v3/files/{module}-{version}.tar.gz"),
        file_size: Some(10),
        file_md5: Some("0".repeat(32)),
        file_sha256: Some("a".repeat(64)),
        created_at: DateTime::from_timestamp(created, 0),
    }
}

fn body(bytes: Vec<u8>) -> Value {
    serde_json::from_slice(&bytes).unwrap()
}

fn versions(doc: &Value) -> Vec<String> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slug"].as_str().unwrap().to_string())
        .collect()
}

fn all() -> Vec<Release> {
    vec![
        release("aa-demo", "1.0.0", 100),
        release("aa-demo", "1.10.0", 300),
        release("aa-demo", "1.2.0", 400),
        release("aa-demo", "2.0.0-rc.1", 200),
        release("bb-base", "0.1.0", 50),
    ]
}

#[test]
fn releases_are_filtered_and_sorted() {
    let table: &[(&str, &[&str], usize)] = &[
        (
            "module=aa-demo&sort_by=version",
            &["aa-demo-2.0.0-rc.1", "aa-demo-1.10.0", "aa-demo-1.2.0", "aa-demo-1.0.0"],
            4,
        ),
        (
            "module=aa/demo",
            &["aa-demo-1.2.0", "aa-demo-1.10.0", "aa-demo-2.0.0-rc.1", "aa-demo-1.0.0"],
            4,
        ),
        ("owner=bb", &["bb-base-0.1.0"], 1),
        ("module=zz-none", &[], 0),
        ("module=../etc", &[], 0),
        (
            "sort_by=module&limit=2&offset=3",
            &["aa-demo-1.0.0", "bb-base-0.1.0"],
            5,
        ),
    ];
    for (query, expected, total) in table {
        let doc = body(render_releases(&all(), &ReleaseQuery::parse(Some(query))));
        assert_eq!(versions(&doc), *expected, "{query}");
        assert_eq!(doc["pagination"]["total"], *total, "{query}");
    }
}

#[test]
fn pagination_links_walk_every_release_once() {
    let query = "module=aa-demo&sort_by=version&exclude_fields=readme,changelog&limit=3";
    let first = body(render_releases(&all(), &ReleaseQuery::parse(Some(query))));
    let pagination = &first["pagination"];
    assert_eq!(pagination["limit"], 3);
    assert_eq!(pagination["total"], 4);
    assert_eq!(pagination["previous"], Value::Null);
    let next = pagination["next"].as_str().unwrap();
    assert!(next.starts_with("/v3/releases?"), "{next}");
    assert!(next.contains("exclude_fields=readme%2Cchangelog"), "{next}");
    let second = body(render_releases(
        &all(),
        &ReleaseQuery::parse(next.strip_prefix("/v3/releases?")),
    ));
    assert_eq!(versions(&second), ["aa-demo-1.0.0"]);
    assert_eq!(second["pagination"]["next"], Value::Null);
    assert!(second["pagination"]["previous"].as_str().unwrap().contains("offset=0"));

    for (query, limit) in [("limit=0", 1), ("limit=1000", MAX_LIMIT), ("limit=x", DEFAULT_LIMIT)] {
        assert_eq!(ReleaseQuery::parse(Some(query)).limit, limit, "{query}");
    }
    assert_eq!(ReleaseQuery::parse(Some("offset=-1")).offset, 0);
}

#[test]
fn a_release_has_what_puppet_reads() {
    let r = release("aa-demo", "1.0.0", 0);
    let v = r.to_value();
    assert_eq!(v["slug"], "aa-demo-1.0.0");
    assert_eq!(v["file_uri"], "/v3/files/aa-demo-1.0.0.tar.gz");
    assert_eq!(v["file_sha256"], "a".repeat(64));
    assert_eq!(v["file_md5"], "0".repeat(32));
    assert_eq!(v["metadata"]["name"], "aa-demo");
    assert_eq!(v["module"]["owner"]["username"], "aa");
    assert_eq!(v["module"]["name"], "demo");
    assert_eq!(v["module"]["deprecated_at"], Value::Null);
    assert_eq!(v["created_at"], "1970-01-01 00:00:00 +0000");
    assert_eq!(body(render_release(&r)), v);
}

#[test]
fn a_module_names_its_current_release() {
    let doc = body(render_module(&all()[..4]).unwrap());
    assert_eq!(doc["slug"], "aa-demo");
    assert_eq!(doc["current_release"]["version"], "2.0.0-rc.1");
    let listed: Vec<&str> = doc["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["2.0.0-rc.1", "1.10.0", "1.2.0", "1.0.0"]);
    assert!(render_module(&[]).is_none());
}

#[test]
fn api_paths() {
    let table = [
        ("v3/releases", Some(ApiPath::Releases)),
        ("v3/releases/", Some(ApiPath::Releases)),
        (
            "v3/releases/aa-demo-1.0.0",
            Some(ApiPath::Release {
                module: "aa-demo".into(),
                version: "1.0.0".into(),
            }),
        ),
        ("v3/modules/aa-demo", Some(ApiPath::Module("aa-demo".into()))),
        ("v3/modules/aa/demo", Some(ApiPath::Module("aa-demo".into()))),
        (
            "v3/files/aa-demo-1.0.0.tar.gz",
            Some(ApiPath::File {
                module: "aa-demo".into(),
                version: "1.0.0".into(),
            }),
        ),
        ("v3/files/aa-demo-1.0.0.tgz", None),
        ("v3/releases/aa-demo", None),
        ("v3/modules/demo", None),
        ("v3/users/aa", None),
        ("index.yaml", None),
    ];
    for (path, expected) in table {
        assert_eq!(ApiPath::of(path), expected, "{path}");
    }
}
