use serde_json::json;

use super::*;

fn publish_doc(name: &str, version: &str) -> Value {
    json!({
        "_id": name,
        "name": name,
        "dist-tags": {"latest": version},
        "versions": {version: {
            "name": name, "version": version, "_id": format!("{name}@{version}"),
            "dependencies": {"left": "^1.0.0"},
            "dist": {"integrity": format!("sha512-{}", "A".repeat(86) + "=="), "shasum": "0123456789abcdef0123456789abcdef01234567",
                     "tarball": "http://elsewhere.invalid/x.tgz"}
        }},
    })
}

#[test]
fn names_follow_npm_rules() {
    for ok in ["left-pad", "a", "@team/util", "x.y_z~1", "@a-b/c.d"] {
        assert_eq!(check_name(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        "Left",
        ".hidden",
        "_private",
        "@team",
        "@team/",
        "@/x",
        "a/b",
        "a b",
        "node_modules",
        "../x",
        "@t/../x",
    ] {
        assert!(check_name(bad).is_err(), "{bad}");
    }
    assert!(check_name(&"a".repeat(215)).is_err());
}

#[test]
fn versions_and_tags() {
    assert_eq!(
        check_version("1.2.3-beta.1").map(|v| v.to_string()),
        Ok("1.2.3-beta.1".into())
    );
    assert!(check_version("1.2").is_err());
    assert!(check_version("01.2.3").is_err());
    assert_eq!(check_tag("beta"), Ok(()));
    assert!(check_tag("1.x").is_err(), "a range is not a tag");
    assert!(check_tag("a/b").is_err());
    assert!(check_tag("").is_err());
}

#[test]
fn paths_of_scoped_and_plain_packages() {
    assert_eq!(tarball_path("@team/util", "1.0.0"), "@team/util/-/util-1.0.0.tgz");
    assert_eq!(tarball_path("left", "2.0.0"), "left/-/left-2.0.0.tgz");
    assert_eq!(tarball_package("@team/util/-/util-1.0.0.tgz"), Some("@team/util"));
    assert_eq!(tarball_package("left/-/left-2.0.0.tgz"), Some("left"));
    assert_eq!(tarball_package("left"), None);
}

#[test]
fn a_publish_is_checked_and_its_tarball_link_dropped() {
    let publish = check_publish("left", &publish_doc("left", "1.0.0"), "left-1.0.0.tgz").unwrap();
    assert_eq!(publish.version, "1.0.0");
    assert_eq!(publish.tags.get("latest").map(String::as_str), Some("1.0.0"));
    assert_eq!(
        publish.shasum.as_deref(),
        Some("0123456789abcdef0123456789abcdef01234567")
    );
    assert_eq!(publish.sha512, Some("00".repeat(64)));
    assert!(publish.manifest["dist"].get("tarball").is_none());
    assert_eq!(publish.manifest["dependencies"]["left"], "^1.0.0");
    let scoped = publish_doc("@team/util", "2.0.0");
    for attachment in ["@team/util-2.0.0.tgz", "util-2.0.0.tgz"] {
        assert!(check_publish("@team/util", &scoped, attachment).is_ok(), "{attachment}");
    }
    assert!(check_publish("@team/util", &scoped, "@other/util-2.0.0.tgz").is_err());
}

#[test]
fn a_publish_that_disagrees_with_itself_is_refused() {
    let doc = publish_doc("left", "1.0.0");
    assert!(check_publish("right", &doc, "left-1.0.0.tgz").is_err(), "URL name");
    assert!(
        check_publish("left", &doc, "left-1.0.1.tgz").is_err(),
        "attachment name"
    );
    let mut two = doc.clone();
    two["versions"]["1.0.1"] = doc["versions"]["1.0.0"].clone();
    assert!(check_publish("left", &two, "left-1.0.0.tgz").is_err(), "two versions");
    let mut other = doc.clone();
    other["versions"]["1.0.0"]["name"] = json!("right");
    assert!(
        check_publish("left", &other, "left-1.0.0.tgz").is_err(),
        "manifest name"
    );
    let mut tag = doc.clone();
    tag["dist-tags"]["latest"] = json!("9.9.9");
    assert!(
        check_publish("left", &tag, "left-1.0.0.tgz").is_err(),
        "tag names another version"
    );
    let bad_version = publish_doc("left", "1.0");
    assert!(check_publish("left", &bad_version, "left-1.0.tgz").is_err());
    let mut huge = doc.clone();
    huge["versions"]["1.0.0"]["readme"] = json!("x".repeat(MAX_MANIFEST_BYTES + 1));
    assert!(check_publish("left", &huge, "left-1.0.0.tgz").is_err(), "huge manifest");
}

#[test]
fn dist_is_what_the_server_computed() {
    let manifest = with_dist(json!({"dist": {"integrity": "sha512-forged"}}), "00ff", &"a".repeat(40));
    assert_eq!(manifest["dist"]["integrity"], "sha512-AP8=");
    assert_eq!(manifest["dist"]["shasum"], "a".repeat(40));
}

#[test]
fn the_tarball_must_describe_the_publish() {
    assert_eq!(
        check_package_json(r#"{"name":"left","version":"1.0.0"}"#, "left", "1.0.0"),
        Ok(())
    );
    assert!(check_package_json(r#"{"name":"right","version":"1.0.0"}"#, "left", "1.0.0").is_err());
    assert!(check_package_json("not json", "left", "1.0.0").is_err());
}

#[test]
fn updates_carry_deprecations_and_tags() {
    let doc = json!({"name": "left", "dist-tags": {"latest": "1.0.0"}, "versions": {
        "1.0.0": {"deprecated": "use right"}, "1.0.1": {"deprecated": ""}, "1.0.2": {}}});
    let update = parse_update("left", &doc).unwrap();
    assert_eq!(update.versions["1.0.0"].as_deref(), Some("use right"));
    assert_eq!(update.versions["1.0.1"], None);
    assert_eq!(update.versions["1.0.2"], None);
    assert_eq!(update.tags.unwrap()["latest"], "1.0.0");
    assert!(parse_update("right", &doc).is_err());
    assert!(parse_update("left", &json!({"name": "left"})).is_err());
}
