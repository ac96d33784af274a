use super::*;

const PREFIX: &str = "api/v1/local/npm/";

#[test]
fn writes_are_classified_as_npm_sends_them() {
    assert_eq!(classify(false, "left", PREFIX), Some(NpmWrite::Packument("left")));
    assert_eq!(classify(false, "@t/u", PREFIX), Some(NpmWrite::Packument("@t/u")));
    assert_eq!(
        classify(false, "@t/u/-rev/3-abc", PREFIX),
        Some(NpmWrite::Revision("@t/u"))
    );
    assert_eq!(
        classify(true, "left/-rev/1-x", PREFIX),
        Some(NpmWrite::Unpublish("left"))
    );
    assert_eq!(
        classify(true, "left/-/left-1.0.0.tgz/-rev/1-x", PREFIX),
        Some(NpmWrite::Tarball("left/-/left-1.0.0.tgz".into()))
    );
    assert_eq!(
        classify(true, "api/v1/local/npm/@t/u/-/u-1.0.0.tgz/-rev/2-y", PREFIX),
        Some(NpmWrite::Tarball("@t/u/-/u-1.0.0.tgz".into())),
        "npm repeats the registry's path in unpublish"
    );
    assert_eq!(
        classify(false, "-/package/@t/u/dist-tags/beta", PREFIX),
        Some(NpmWrite::SetTag {
            name: "@t/u",
            tag: "beta"
        })
    );
    assert_eq!(
        classify(true, "-/package/left/dist-tags/beta", PREFIX),
        Some(NpmWrite::RemoveTag {
            name: "left",
            tag: "beta"
        })
    );
    assert_eq!(classify(true, "left", PREFIX), None, "a bare DELETE of a packument");
    assert_eq!(
        classify(false, "left/-/left-1.0.0.tgz", PREFIX),
        None,
        "tarballs are not PUT"
    );
    assert_eq!(classify(false, "-/whoami", PREFIX), None);
    assert_eq!(
        classify(
            true,
            "api/v1/virtual/npmv/_member/npml/@t/u/-/u-1.0.0.tgz/-rev/2-y",
            "api/v1/virtual/npmv/"
        ),
        Some(NpmWrite::Tarball("@t/u/-/u-1.0.0.tgz".into())),
        "through a virtual, the tarball link names its member"
    );
}

fn body(data_b64: &str, length: u64) -> String {
    format!(
        r#"{{"_id":"left","name":"left","versions":{{"1.0.0":{{"name":"left","version":"1.0.0"}}}},
        "_attachments":{{"left-1.0.0.tgz":{{"content_type":"application/octet-stream","data":"{data_b64}","length":{length}}}}}}}"#
    )
}

#[test]
fn the_tarball_is_decoded_apart_from_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let (doc, tarball) = parse_publish(body("aGVsbG8=", 5).as_bytes(), dir.path(), 100).unwrap();
    assert_eq!(doc["name"], "left");
    assert!(doc.get("_attachments").is_none());
    let mut tarball = tarball.unwrap();
    assert_eq!(tarball.filename, "left-1.0.0.tgz");
    assert_eq!(tarball.size, 5);
    assert_eq!(tarball.sha1, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
    let mut text = String::new();
    tarball.file.read_to_string(&mut text).unwrap();
    assert_eq!(text, "hello");
}

#[test]
fn bad_bodies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |b: &str, limit| parse_publish(b.as_bytes(), dir.path(), limit).err().map(|e| e.status);
    assert_eq!(
        refused(&body("aGVsbG8=", 6), 100),
        Some(StatusCode::BAD_REQUEST),
        "length lies"
    );
    assert_eq!(
        refused(&body("!!!!", 3), 100),
        Some(StatusCode::BAD_REQUEST),
        "not base64"
    );
    assert_eq!(refused(&body("aGVsbG8=", 5), 4), Some(StatusCode::PAYLOAD_TOO_LARGE));
    assert_eq!(refused("{\"name\": ", 100), Some(StatusCode::BAD_REQUEST), "truncated");
    assert_eq!(refused("[]", 100), Some(StatusCode::BAD_REQUEST));
    let huge = format!("{{\"readme\":\"{}\"}}", "x".repeat(MAX_DOCUMENT_BYTES as usize + 10));
    assert_eq!(
        refused(&huge, 100),
        Some(StatusCode::BAD_REQUEST),
        "document past its bound"
    );
    let two = r#"{"_attachments":{"a.tgz":{"data":"aGVsbG8="},"b.tgz":{"data":"aGVsbG8="}}}"#;
    assert_eq!(refused(two, 100), Some(StatusCode::BAD_REQUEST));
    let (_, none) = parse_publish(br#"{"name":"left","versions":{}}"#.as_slice(), dir.path(), 100).unwrap();
    assert!(none.is_none());
}
