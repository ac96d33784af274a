//! The APKINDEX text and archive: blocks in apk-tools' field order, sorted; the archive's two
//! gzip streams (a signature segment without end blocks, then the signed tarball).
use super::*;
use crate::domain::formats::alpine::package::{ApkPackage, read_package};
use std::io::Cursor;

use crate::test_apk as apk;

fn package(name: &str, version: &str) -> ApkPackage {
    let extra = "depend = so:libc.musl-x86_64.so.1\ndepend = zlib\nprovides = cmd:x=1\n";
    read_package(&mut Cursor::new(
        apk::build(&apk::pkginfo(name, version, "x86_64", extra), true).bytes,
    ))
    .unwrap()
}

#[test]
fn index_paths_name_their_directory() {
    assert_eq!(index_dir("APKINDEX.tar.gz"), Some(""));
    assert_eq!(
        index_dir("v3.20/main/x86_64/APKINDEX.tar.gz"),
        Some("v3.20/main/x86_64")
    );
    assert_eq!(index_dir("x86_64/XAPKINDEX.tar.gz"), None);
    assert_eq!(index_dir("x86_64/hello-1.0-r0.apk"), None);
}

#[test]
fn blocks_follow_apk_tools_field_order_and_sort() {
    let p = package("hello", "1.0-r0");
    let text = render_text(&[Entry::of(&package("zed", "1-r0")), Entry::of(&p)]);
    let first = text.split("\n\n").next().unwrap();
    let keys: String = first.lines().map(|l| l.chars().next().unwrap()).collect();
    assert_eq!(keys, "CPVASITULotDp", "{first}");
    assert!(first.contains(&format!("C:{}\n", p.checksum)));
    assert!(first.contains(&format!("S:{}\n", p.size)));
    assert!(first.contains("D:so:libc.musl-x86_64.so.1 zlib\n"));
    assert!(text.ends_with("\n\n") && text.contains("\n\nC:"));
    let parsed = parse_text(&text);
    assert_eq!(
        parsed
            .iter()
            .map(|e| (e.name.as_str(), e.version.as_str()))
            .collect::<Vec<_>>(),
        [("hello", "1.0-r0"), ("zed", "1-r0")]
    );
    assert_eq!(render_text(&parsed), text);
}

#[test]
fn a_description_with_a_newline_stays_on_its_line() {
    let mut p = package("hello", "1.0-r0");
    p.description = "two\nlines".into();
    assert!(Entry::of(&p).text.contains("T:two lines\n"));
}

#[test]
fn the_archive_is_a_signature_segment_then_the_signed_tarball() {
    let text = render_text(&[Entry::of(&package("hello", "1.0-r0"))]);
    let index = index_stream("repo main", &text, 1_700_000_000).unwrap();
    let signature = signature_stream("artifactapi-0123abcd.rsa.pub", &[9u8; 256], 1_700_000_000).unwrap();
    let whole = [signature.clone(), index.clone()].concat();
    assert_eq!(apk::streams(&whole), [signature.clone(), index.clone()]);

    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(signature.as_slice()), &mut raw).unwrap();
    assert_eq!(raw.len(), 1024, "one header and one data block, no end blocks");
    let mut names = Vec::new();
    for entry in tar::Archive::new(raw.as_slice()).entries().unwrap() {
        let entry = entry.unwrap();
        assert_eq!(entry.header().mode().unwrap(), 0o644);
        assert_eq!(entry.size(), 256);
        names.push(entry.path().unwrap().to_string_lossy().into_owned());
    }
    assert_eq!(names, [".SIGN.RSA.artifactapi-0123abcd.rsa.pub"]);

    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(index.as_slice()), &mut raw).unwrap();
    assert!(raw.ends_with(&[0u8; 1024]), "the tarball ends the archive");
    let names: Vec<String> = tar::Archive::new(raw.as_slice())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["DESCRIPTION", "APKINDEX"]);

    assert_eq!(read_index(&whole, MAX_MEMBER_INDEX).unwrap(), text);
    assert_eq!(read_index(&index, MAX_MEMBER_INDEX).unwrap(), text);
    assert!(read_index(&whole, 100).is_err(), "cut at the limit");
    assert!(read_index(b"garbage", MAX_MEMBER_INDEX).is_err());
    assert_eq!(
        index,
        index_stream("repo main", &text, 1_700_000_000).unwrap(),
        "deterministic"
    );
}
