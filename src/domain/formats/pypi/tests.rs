use super::*;
use crate::domain::formats::links::LinkSigner;

const SHA: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

fn ctx<'a>(signer: &'a LinkSigner, page_path: &'a str, page_url: &'a str) -> IndexContext<'a> {
    IndexContext {
        repo: "pypi",
        base_url: "http://127.0.0.1:7000/pypi",
        page_url,
        page_path,
        signer,
        public_base: None,
    }
}

#[test]
fn classification() {
    let table = [
        ("simple/", CacheClass::Mutable),
        ("simple/demo/", CacheClass::Mutable),
        ("packages/ab/demo-1.0-py3-none-any.whl", CacheClass::Immutable),
        ("packages/ab/demo-1.0.tar.gz", CacheClass::Immutable),
        ("packages/ab/demo-1.0-py3-none-any.whl.metadata", CacheClass::Immutable),
        ("_files/sig/-/https/h/x.zip", CacheClass::Immutable),
    ];
    for (path, class) in table {
        assert_eq!(Pypi.classify(path), class, "{path}");
    }
    let accept = Some("application/vnd.pypi.simple.v1+json, text/html;q=0.01");
    assert_eq!(Pypi.variant("simple/demo/", accept, None).as_deref(), Some("pep691"));
    assert_eq!(Pypi.variant("simple/demo/", Some("text/html"), None), None);
    assert_eq!(Pypi.variant("packages/x.whl", Some(JSON_TYPE), None), None);
}

#[test]
fn html_links_go_through_the_remote_and_keep_hashes_and_attributes() {
    let signer = LinkSigner::new(b"k");
    let page = format!(
        r#"<!DOCTYPE html>
<html><body>
<a href="https://files.test/packages/ab/demo-1.0-py3-none-any.whl#sha256={SHA}" data-requires-python="&gt;=3.8" data-dist-info-metadata="sha256={SHA}">demo-1.0-py3-none-any.whl</a>
<a href='../../packages/cd/demo-0.9.tar.gz#sha256={SHA}' data-yanked="broken build">demo-0.9.tar.gz</a>
<a href="../../packages/cd/demo-0.8.tar.gz">demo-0.8.tar.gz</a>
<a href="/pypi/simple/other/">other</a>
<a href="mailto:a@b">mail</a>
</body></html>"#
    );
    let c = ctx(&signer, "simple/demo/", "http://127.0.0.1:7000/pypi/simple/demo/");
    let out = rewrite_html(&page, &c).unwrap();
    let hrefs: Vec<String> = href_pattern()
        .unwrap()
        .captures_iter(&out)
        .map(|c| c.get(3).or_else(|| c.get(4)).unwrap().as_str().to_string())
        .collect();
    assert!(
        hrefs[0].starts_with("../../_files/") && hrefs[0].ends_with(&format!("#sha256={SHA}")),
        "{}",
        hrefs[0]
    );
    let external = hrefs[0].trim_start_matches("../../").split('#').next().unwrap();
    let resolved = signer.resolve("pypi", external).unwrap();
    assert_eq!(resolved.url, "https://files.test/packages/ab/demo-1.0-py3-none-any.whl");
    assert_eq!(resolved.expected.unwrap().hex(), SHA);
    // On the index's own host too, a promised digest is carried by a signed link and verified.
    let (own, fragment) = hrefs[1].trim_start_matches("../../").split_once('#').unwrap();
    assert_eq!(fragment, format!("sha256={SHA}"));
    let resolved = signer.resolve("pypi", own).unwrap();
    assert_eq!(resolved.url, "http://127.0.0.1:7000/pypi/packages/cd/demo-0.9.tar.gz");
    assert_eq!(resolved.expected.unwrap().hex(), SHA);
    assert_eq!(
        hrefs[2], "../../packages/cd/demo-0.8.tar.gz",
        "a same-host link without a digest maps onto the repo"
    );
    assert_eq!(hrefs[3], "../../simple/other/");
    assert_eq!(hrefs[4], "mailto:a@b");
    for kept in [
        r#"data-requires-python="&gt;=3.8""#,
        r#"data-yanked="broken build""#,
        "data-dist-info-metadata",
    ] {
        assert!(out.contains(kept), "{kept} kept");
    }
    assert!(!out.contains("https://files.test"), "no direct upstream link is left");
}

#[test]
fn json_urls_are_rewritten_and_hashes_signed_in() {
    let signer = LinkSigner::new(b"k");
    let body = format!(
        r#"{{"meta":{{"api-version":"1.1"}},"name":"demo","versions":["1.0"],"files":[
        {{"filename":"demo-1.0-py3-none-any.whl","url":"https://files.test/packages/ab/demo-1.0-py3-none-any.whl",
          "hashes":{{"sha256":"{SHA}"}},"requires-python":">=3.8","core-metadata":{{"sha256":"{SHA}"}},"yanked":false}}]}}"#
    );
    let c = ctx(&signer, "simple/demo/", "http://127.0.0.1:7000/pypi/simple/demo/");
    let out = Pypi.rewrite_index(body.as_bytes(), Some(JSON_TYPE), &c).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let url = doc["files"][0]["url"].as_str().unwrap();
    assert!(url.starts_with("../../_files/") && !url.contains('#'), "{url}");
    let resolved = signer.resolve("pypi", url.trim_start_matches("../../")).unwrap();
    assert_eq!(
        resolved.expected.unwrap().hex(),
        SHA,
        "PEP 691 hash is verified on download"
    );
    assert_eq!(doc["files"][0]["requires-python"], ">=3.8");
    assert_eq!(doc["files"][0]["core-metadata"]["sha256"], SHA);
    assert_eq!(doc["meta"]["api-version"], "1.1");
}

#[test]
fn bad_indexes_are_refused() {
    let signer = LinkSigner::new(b"k");
    let c = ctx(&signer, "simple/demo/", "http://127.0.0.1:7000/pypi/simple/demo/");
    assert!(matches!(
        Pypi.rewrite_index(b"{not json", Some(JSON_TYPE), &c),
        Err(RewriteError::Invalid(_))
    ));
    assert!(matches!(
        Pypi.rewrite_index(&[0xff, 0xfe], Some("text/html"), &c),
        Err(RewriteError::Invalid(_))
    ));
    let huge = vec![b' '; MAX_INDEX_BYTES + 1];
    assert_eq!(
        Pypi.rewrite_index(&huge, Some("text/html"), &c),
        Err(RewriteError::TooLarge)
    );
}
