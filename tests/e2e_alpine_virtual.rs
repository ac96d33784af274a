//! End to end: a virtual alpine repository over a local member and a remote member (a fake
//! upstream on 127.0.0.1 serving an APKINDEX.tar.gz built here, signed with a key the server
//! does not know). The merged index lists both members' packages, is signed with the
//! instance's key (verified with the key the virtual serves), and every package it names is
//! served through the virtual byte-identical to the member's file, with the `C:` and `S:` of
//! that file. The dependency-confusion guard keeps a remote package of a local name out of the
//! index and its file away; with the guard off it is listed (the first member still wins on an
//! exact name and version).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::json;
use support::apk::{self, Apk, blocks, field, verify_index};
use support::rpm::put;
use support::server::{ADMIN_TOKEN, Server};
use support::upstream::{FakeFile, FakeUpstream};

const DIR: &str = "v3.20/main/x86_64/";
const VIRTUAL: &str = "/api/v1/virtual/alpv/";

/// An upstream's APKINDEX.tar.gz of `packages`: a signature segment by a foreign key, then the
/// index tarball (as apk-tools writes it).
fn upstream_index(packages: &[&Apk]) -> Vec<u8> {
    let mut text = String::new();
    for p in packages {
        let info = String::from_utf8(apk::entries(&p.control)[0].1.clone()).unwrap();
        let value = |key: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = ")))
                .unwrap()
                .to_string()
        };
        text.push_str(&format!(
            "C:{}\nP:{}\nV:{}\nA:{}\nS:{}\nI:4096\nT:upstream\n\n",
            apk::q1(&p.control),
            value("pkgname"),
            value("pkgver"),
            value("arch"),
            p.bytes.len()
        ));
    }
    let gzip = |tar: Vec<u8>| {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        gz.finish().unwrap()
    };
    let index = gzip(apk::tar(
        &[("DESCRIPTION", b"upstream"), ("APKINDEX", text.as_bytes())],
        true,
    ));
    let signature = gzip(apk::tar(&[(".SIGN.RSA.upstream-1.rsa.pub", &[5u8; 256])], false));
    [signature, index].concat()
}

async fn merged(server: &Server, key: &(String, String)) -> (String, String) {
    let r = server.get(&format!("{VIRTUAL}{DIR}APKINDEX.tar.gz")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/gzip");
    let members = r.headers()["x-artifact-member"].to_str().unwrap().to_string();
    let body = r.bytes().await.unwrap();
    (verify_index(&body, &key.1, &key.0), members)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_virtual_merges_local_and_remote_indexes_and_signs_them() {
    let zlib = apk::simple("zlib", "1.3.1-r0", "x86_64");
    let same = apk::simple("hello", "1.0-r0", "x86_64");
    let impostor = apk::simple("hello", "9.0-r0", "x86_64");
    let upstream = FakeUpstream::start().await;
    upstream.put(
        &format!("alpine/{DIR}APKINDEX.tar.gz"),
        FakeFile::Bytes(Bytes::from(upstream_index(&[&zlib, &same, &impostor]))),
    );
    for (name, p) in [
        ("zlib-1.3.1-r0.apk", &zlib),
        ("hello-1.0-r0.apk", &same),
        ("hello-9.0-r0.apk", &impostor),
    ] {
        upstream.put(
            &format!("alpine/{DIR}{name}"),
            FakeFile::Bytes(Bytes::from(p.bytes.clone())),
        );
    }

    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "alp-local", "kind": "local", "package": "alpine"}))
        .await;
    server
        .create_repository(json!({"name": "alp-remote", "kind": "remote", "package": "alpine",
            "base_url": format!("{}/alpine", upstream.base)}))
        .await;
    server
        .create_repository(json!({"name": "alpv", "kind": "virtual", "package": "alpine",
            "members": ["alp-local", "alp-remote"]}))
        .await;
    let hello = apk::build(&apk::pkginfo("hello", "1.0-r0", "x86_64", "pkgdesc = ours\n"), true);
    let r = put(
        &server,
        "/api/v1/local/alp-local/",
        &format!("{DIR}hello-1.0-r0.apk"),
        hello.bytes.clone(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());

    let name = server.get(&format!("{VIRTUAL}keys/")).await.text().await.unwrap();
    let name = name.trim().to_string();
    let pem = server.get(&format!("{VIRTUAL}keys/{name}")).await;
    assert_eq!(pem.status(), StatusCode::OK);
    let key = (name, pem.text().await.unwrap());

    let (text, members) = merged(&server, &key).await;
    assert_eq!(members, "alp-local, alp-remote");
    let listed: Vec<String> = blocks(&text)
        .iter()
        .map(|b| format!("{}-{}", field(b, 'P'), field(b, 'V')))
        .collect();
    assert_eq!(
        listed,
        ["hello-1.0-r0", "zlib-1.3.1-r0"],
        "the guard keeps hello-9.0 out"
    );
    for (block, file) in blocks(&text).iter().zip([&hello, &zlib]) {
        assert_eq!(field(block, 'C'), apk::q1(&file.control));
        assert_eq!(field(block, 'S'), file.bytes.len().to_string());
        let path = format!("{VIRTUAL}{DIR}{}-{}.apk", field(block, 'P'), field(block, 'V'));
        let r = server.get(&path).await;
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), file.bytes.as_slice(), "{path}");
    }
    assert!(
        text.contains("T:ours\n"),
        "the local member wins on hello-1.0-r0: {text}"
    );
    let impostor_path = format!("{VIRTUAL}{DIR}hello-9.0-r0.apk");
    assert_eq!(server.get(&impostor_path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(upstream.hits(&format!("alpine/{DIR}hello-9.0-r0.apk")), 0);
    assert_eq!(upstream.hits(&format!("alpine/{DIR}hello-1.0-r0.apk")), 0);

    // With the guard off the remote's hello-9.0 is listed and served; hello-1.0 still ours.
    let r = reqwest::Client::new()
        .patch(server.url("/api/v2/repositories/alpv"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"dependency_confusion_guard": false}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let (text, _) = merged(&server, &key).await;
    assert!(text.contains("V:9.0-r0\n") && text.contains("T:ours\n"), "{text}");
    let r = server.get(&impostor_path).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), impostor.bytes.as_slice());
}
