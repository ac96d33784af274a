use super::*;
use std::io::Cursor;

/// Built by rpmbuild from a spec with an epoch, versioned and `Requires(pre)` dependencies, a
/// directory and two changelog entries; the expectations are what createrepo_c says of it.
const FIXTURE: &[u8] = include_bytes!("testdata/aafix-1.5-3.noarch.rpm");

fn fixture() -> RpmPackage {
    read_package(&mut Cursor::new(FIXTURE)).unwrap()
}

#[test]
fn reads_what_createrepo_reads() {
    let p = fixture();
    assert_eq!(
        (
            p.name.as_str(),
            p.epoch,
            p.version.as_str(),
            p.release.as_str(),
            p.arch.as_str()
        ),
        ("aafix", 2, "1.5", "3", "noarch")
    );
    assert_eq!((p.header_start, p.header_end), (4504, 6553));
    assert_eq!((p.installed_size, p.archive_size), (13, 524));
    assert_eq!(p.summary, "Fixture <rpm> & co");
    assert_eq!(p.sourcerpm, "aafix-1.5-3.src.rpm");
    assert_eq!(p.file_name(), "aafix-1.5-3.noarch.rpm");
    assert_eq!(p.nevra(), "aafix-2:1.5-3.noarch");
    assert_eq!(p.evr(), "2:1.5-3");
    let aalib = p.requires.iter().find(|d| d.name == "aalib").unwrap();
    assert_eq!(
        (
            aalib.flags.as_deref(),
            aalib.epoch.as_deref(),
            aalib.ver.as_deref(),
            aalib.rel.as_deref()
        ),
        (Some("GE"), Some("0"), Some("1.0"), None)
    );
    assert!(
        p.requires
            .iter()
            .any(|d| d.name == "/bin/sh" && d.pre && d.flags.is_none())
    );
    assert!(
        !p.requires.iter().any(|d| d.name.starts_with("rpmlib(")),
        "rpmlib() is rpm's own"
    );
    assert!(
        p.provides
            .iter()
            .any(|d| d.name == "aafix-feature" && d.ver.as_deref() == Some("7"))
    );
    assert_eq!(
        p.files,
        vec![
            FileItem {
                path: "/opt/aafix".into(),
                kind: Some("dir".into())
            },
            FileItem {
                path: "/opt/aafix/data.txt".into(),
                kind: None
            },
            FileItem {
                path: "/usr/bin/aafix".into(),
                kind: None
            },
        ]
    );
    assert_eq!(p.changelog.len(), 2);
    assert_eq!(p.changelog[0].text, "- second entry", "newest first");
}

#[test]
fn the_record_meta_round_trips() {
    let p = fixture();
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(serde_json::from_value::<RpmPackage>(json).unwrap(), p);
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    let mut truncated = FIXTURE[..5000].to_vec();
    let mut garbage = FIXTURE.to_vec();
    garbage[..4].copy_from_slice(b"PK\x03\x04");
    // A main header that claims 4 GiB of index entries.
    let mut huge = FIXTURE.to_vec();
    huge[4504 + 8..4504 + 12].copy_from_slice(&[0x0f, 0xff, 0xff, 0xff]);
    let mut bad_magic = FIXTURE.to_vec();
    bad_magic[4504] = 0;
    let table: [(&mut Vec<u8>, &str); 4] = [
        (&mut truncated, "not a"),
        (&mut garbage, "no lead magic"),
        (&mut huge, "more than"),
        (&mut bad_magic, "no header magic"),
    ];
    for (bytes, reason) in table {
        let err = read_package(&mut Cursor::new(bytes.as_slice())).unwrap_err();
        assert!(err.contains(reason), "{err}");
    }
    assert!(read_package(&mut Cursor::new(&b""[..])).is_err());
}

#[test]
fn file_names_must_match_the_header() {
    let p = fixture();
    assert!(p.check_file_name("aafix-1.5-3.noarch.rpm").is_ok());
    for wrong in ["aafix-1.5-4.noarch.rpm", "other-1.5-3.noarch.rpm", "aafix.rpm"] {
        assert!(p.check_file_name(wrong).unwrap_err().contains("aafix-1.5-3.noarch.rpm"));
    }
}

#[test]
fn upload_paths() {
    let table = [
        ("a-1-1.noarch.rpm", Ok("a-1-1.noarch.rpm")),
        ("Packages/a/a-1-1.noarch.rpm", Ok("a-1-1.noarch.rpm")),
        ("repodata/a-1-1.noarch.rpm", Err(())),
        ("el9/repodata/repomd.xml", Err(())),
        ("a-1-1.noarch.deb", Err(())),
        (".rpm", Err(())),
    ];
    for (path, expected) in table {
        assert_eq!(check_upload_path(path).map_err(|_| ()), expected, "{path}");
    }
}

#[test]
fn evr_splits_as_repodata_writes_it() {
    let s = |v: Option<&str>| v.map(str::to_string);
    let table = [
        ("1.0", (s(Some("0")), s(Some("1.0")), None)),
        ("1.0-2", (s(Some("0")), s(Some("1.0")), s(Some("2")))),
        ("3:1.0-2.el9", (s(Some("3")), s(Some("1.0")), s(Some("2.el9")))),
        ("1.0-rc-2", (s(Some("0")), s(Some("1.0-rc")), s(Some("2")))),
    ];
    for (evr, expected) in table {
        assert_eq!(split_evr(evr), expected, "{evr}");
    }
}
