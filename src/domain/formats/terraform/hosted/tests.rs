use super::*;
use crate::domain::formats::terraform::zip_check::TAIL;

/// A stored (uncompressed) zip of `entries`, laid out as zip writers do; CRCs are left zero
/// (the check does not read them).
pub(crate) fn zip(entries: &[(&str, &[u8])], comment: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut directory = Vec::new();
    for (name, body) in entries {
        let offset = out.len() as u32;
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(body);
        directory.extend_from_slice(b"PK\x01\x02");
        directory.extend_from_slice(&[20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        directory.extend_from_slice(&(body.len() as u32).to_le_bytes());
        directory.extend_from_slice(&(body.len() as u32).to_le_bytes());
        directory.extend_from_slice(&(name.len() as u16).to_le_bytes());
        directory.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        directory.extend_from_slice(&offset.to_le_bytes());
        directory.extend_from_slice(name.as_bytes());
    }
    let start = out.len() as u32;
    out.extend_from_slice(&directory);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(directory.len() as u32).to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&(comment.len() as u16).to_le_bytes());
    out.extend_from_slice(comment);
    out
}

fn check(body: &[u8], chunk: usize) -> Result<Vec<String>, String> {
    let mut check = ArchiveCheck::new("terraform-provider-random".into());
    for piece in body.chunks(chunk.max(1)) {
        check.push(piece);
    }
    check.finish()
}

#[test]
fn archive_paths() {
    let ok = ProviderArchive::parse_path("random/terraform-provider-random_1.2.3-beta.1_linux_amd64.zip").unwrap();
    assert_eq!(ok.provider, "random");
    assert_eq!(ok.version.as_str(), "1.2.3-beta.1");
    assert_eq!((ok.os.as_str(), ok.arch.as_str()), ("linux", "amd64"));
    assert_eq!(
        ok.path(),
        "random/terraform-provider-random_1.2.3-beta.1_linux_amd64.zip"
    );
    let cases = [
        ("terraform-provider-random_1.0.0_linux_amd64.zip", "expected {type}/"),
        (
            "random/terraform-provider-other_1.0.0_linux_amd64.zip",
            "is a 'other' provider",
        ),
        (
            "random/terraform-provider-random_1.0_linux_amd64.zip",
            "is not a version",
        ),
        (
            "random/terraform-provider-random_v1.0.0_linux_amd64.zip",
            "is not a version",
        ),
        (
            "random/terraform-provider-random_01.0.0_linux_amd64.zip",
            "is not a version",
        ),
        (
            "random/terraform-provider-random_1.0.0-_linux_amd64.zip",
            "is not a version",
        ),
        (
            "random/terraform-provider-random_1.0.0_plan9_amd64.zip",
            "not a known operating system",
        ),
        (
            "random/terraform-provider-random_1.0.0_linux_vax.zip",
            "not a known architecture",
        ),
        ("random/terraform-provider-random_1.0.0_linux_amd64.tar.gz", "expected"),
        ("random/terraform-provider-random_1.0.0_linux.zip", "expected"),
        (
            "Random/terraform-provider-Random_1.0.0_linux_amd64.zip",
            "not a provider type",
        ),
        ("random/sub/terraform-provider-random_1.0.0_linux_amd64.zip", "expected"),
    ];
    for (path, message) in cases {
        let err = ProviderArchive::parse_path(path).unwrap_err();
        assert!(err.contains(message), "{path}: {err}");
    }
}

#[test]
fn version_order() {
    let ordered = [
        "0.9.0",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0",
        "1.10.0",
    ];
    for pair in ordered.windows(2) {
        let (a, b) = (Version::parse(pair[0]).unwrap(), Version::parse(pair[1]).unwrap());
        assert!(a < b, "{} < {}", pair[0], pair[1]);
    }
}

#[test]
fn archive_check() {
    let binary: &[u8] = b"#!/bin/sh\n";
    let good = zip(
        &[("terraform-provider-random_v1.0.0", binary), ("LICENSE", b"MIT")],
        b"",
    );
    for chunk in [1, 3, 7, 4096] {
        assert_eq!(
            check(&good, chunk).unwrap(),
            vec!["terraform-provider-random_v1.0.0", "LICENSE"]
        );
    }
    let commented = zip(&[("terraform-provider-random", binary)], b"made by a test PK\x05\x06");
    assert!(check(&commented, 5).is_ok());
    let windows = zip(&[("terraform-provider-random.exe", binary)], b"");
    assert!(check(&windows, 64).is_ok());

    let mut truncated = good.clone();
    truncated.truncate(good.len() - 5);
    let mut shifted = b"junk".to_vec();
    shifted.extend_from_slice(&good[4..]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not a zip at all".to_vec(), "not a zip"),
        (Vec::new(), "not a zip"),
        (shifted, "not a zip"),
        (truncated, "no end of central directory"),
        (
            zip(&[("README.md", b"hi")], b""),
            "does not hold the provider executable",
        ),
        (
            zip(&[("bin/terraform-provider-random", binary)], b""),
            "does not hold the provider executable",
        ),
        (
            zip(&[("terraform-provider-randomness", binary)], b""),
            "does not hold the provider executable",
        ),
        (
            zip(&[("terraform-provider-random", binary), ("../evil", b"x")], b""),
            "unsafe path",
        ),
        (
            zip(&[("terraform-provider-random", binary), ("/etc/passwd", b"x")], b""),
            "unsafe path",
        ),
    ];
    for (body, message) in cases {
        let err = check(&body, 100).unwrap_err();
        assert!(err.contains(message), "{message}: {err}");
    }
}

#[test]
fn archive_check_keeps_only_the_tail() {
    let big = vec![7u8; 3 * TAIL];
    let body = zip(&[("terraform-provider-random", &big[..])], b"");
    let mut check = ArchiveCheck::new("terraform-provider-random".into());
    for piece in body.chunks(65536) {
        check.push(piece);
        assert!(check.held() <= 2 * TAIL + 65536 + 4);
    }
    assert!(check.finish().is_ok());
    // One chunk larger than the tail keeps working too.
    let mut whole = ArchiveCheck::new("terraform-provider-random".into());
    whole.push(&body);
    assert!(whole.finish().is_ok());
}

fn stored(path: &str, sha: &str) -> StoredArchive {
    StoredArchive {
        archive: ProviderArchive::parse_path(path).unwrap(),
        sha256: sha.repeat(64),
    }
}

#[test]
fn documents() {
    let versions = group_versions(vec![
        stored("random/terraform-provider-random_1.0.0_linux_amd64.zip", "a"),
        stored("random/terraform-provider-random_1.10.0_linux_amd64.zip", "b"),
        stored("random/terraform-provider-random_1.0.0_darwin_arm64.zip", "c"),
    ]);
    let protocols = parse_protocols("5.0, 6.0").unwrap();
    let doc = versions_document(&versions, &protocols);
    assert_eq!(
        doc,
        serde_json::json!({"versions": [
            {"version": "1.10.0", "protocols": ["5.0", "6.0"], "platforms": [{"os": "linux", "arch": "amd64"}]},
            {"version": "1.0.0", "protocols": ["5.0", "6.0"], "platforms": [
                {"os": "darwin", "arch": "arm64"}, {"os": "linux", "arch": "amd64"}]},
        ]})
    );
    assert_eq!(
        versions[1].shasums(),
        format!(
            "{}  terraform-provider-random_1.0.0_darwin_arm64.zip\n{}  terraform-provider-random_1.0.0_linux_amd64.zip\n",
            "c".repeat(64),
            "a".repeat(64)
        )
    );
    let archive = versions[1].archive("linux", "amd64").unwrap();
    assert!(versions[1].archive("windows", "amd64").is_none());
    let links = DownloadLinks {
        download_url: "https://h/d".into(),
        shasums_url: "https://h/s".into(),
        shasums_signature_url: "https://h/s.sig".into(),
    };
    let key = GpgPublicKey {
        key_id: "0123456789ABCDEF".into(),
        ascii_armor: "-----BEGIN PGP PUBLIC KEY BLOCK-----".into(),
    };
    let doc = download_document(archive, &protocols, &links, &key);
    assert_eq!(doc["filename"], "terraform-provider-random_1.0.0_linux_amd64.zip");
    assert_eq!(doc["shasum"], "a".repeat(64));
    assert_eq!(doc["shasums_signature_url"], "https://h/s.sig");
    assert_eq!(doc["signing_keys"]["gpg_public_keys"][0]["key_id"], "0123456789ABCDEF");
    assert_eq!(doc["protocols"], serde_json::json!(["5.0", "6.0"]));
}

#[test]
fn protocols() {
    assert_eq!(parse_protocols("5.0").unwrap(), vec!["5.0"]);
    for bad in ["", " , ", "5", "5.x", "v5.0"] {
        assert!(parse_protocols(bad).is_err(), "{bad}");
    }
}

#[test]
fn merged_versions_take_the_first_member() {
    let first = group_versions(vec![stored(
        "random/terraform-provider-random_1.0.0_linux_amd64.zip",
        "a",
    )]);
    let second = group_versions(vec![
        stored("random/terraform-provider-random_1.0.0_darwin_arm64.zip", "b"),
        stored("random/terraform-provider-random_2.0.0_linux_amd64.zip", "c"),
    ]);
    let merged = merge_versions(vec![first, second]);
    let summary: Vec<(usize, &str, usize)> = merged
        .iter()
        .map(|(m, v)| (*m, v.version.as_str(), v.archives.len()))
        .collect();
    assert_eq!(summary, vec![(1, "2.0.0", 1), (0, "1.0.0", 1)]);
    assert!(
        merged[1].1.archive("darwin", "arm64").is_none(),
        "a version comes whole from one member"
    );
}
