use super::super::hosted::read_package;
use super::super::repodata::{Entry, filelists, other, primary};
use super::*;
use crate::domain::digest::Digest;

const FIXTURE: &[u8] = include_bytes!("testdata/aafix-1.5-3.noarch.rpm");
/// createrepo_c's documents for the fixture: what a remote member's upstream serves.
const PRIMARY: &str = include_str!("testdata/aafix-primary.xml");
const FILELISTS: &str = include_str!("testdata/aafix-filelists.xml");
const OTHER: &str = include_str!("testdata/aafix-other.xml");

fn remote(member: &str) -> MemberData {
    MemberData {
        member: member.into(),
        local: false,
        primary: PRIMARY.into(),
        filelists: FILELISTS.into(),
        other: OTHER.into(),
    }
}

/// A local member holding the fixture rebuilt under another checksum and `release`.
fn local(member: &str, release: &str) -> MemberData {
    let mut package = read_package(&mut std::io::Cursor::new(FIXTURE)).unwrap();
    package.release = release.into();
    let sha = Digest::of_bytes(release.as_bytes());
    let entry = Entry {
        package: &package,
        sha256: sha.hex(),
        size: 1,
        location: "Packages/aafix.rpm",
        time: 0,
    };
    let entries = [entry];
    MemberData {
        member: member.into(),
        local: true,
        primary: primary(&entries),
        filelists: filelists(&entries),
        other: other(&entries),
    }
}

fn count(doc: &str) -> usize {
    doc.matches("<package ").count()
}

#[test]
fn packages_are_relocated_to_their_member() {
    let merged = merge(&[local("loc", "9"), remote("rem")], false);
    assert_eq!(
        (count(&merged.primary), count(&merged.filelists), count(&merged.other)),
        (2, 2, 2)
    );
    assert!(merged.primary.contains("packages=\"2\""));
    assert!(
        merged
            .primary
            .contains("<location href=\"_member/loc/Packages/aafix.rpm\"/>")
    );
    assert!(
        merged
            .primary
            .contains("<location href=\"_member/rem/aafix-1.5-3.noarch.rpm\"/>")
    );
    assert_eq!(merged.members, ["loc", "rem"]);
    // The rest of each package is kept as the member wrote it.
    assert!(
        merged
            .primary
            .contains("<rpm:entry name=\"aalib\" flags=\"GE\" epoch=\"0\" ver=\"1.0\"/>")
    );
    assert!(merged.other.contains("- second entry"));
}

#[test]
fn the_first_member_wins_on_a_nevra() {
    let merged = merge(&[remote("a"), remote("b")], false);
    assert_eq!(
        (count(&merged.primary), count(&merged.filelists), count(&merged.other)),
        (1, 1, 1)
    );
    assert!(merged.primary.contains("_member/a/"));
    assert_eq!(merged.members, ["a"]);
}

#[test]
fn the_guard_keeps_remote_packages_of_local_names_out() {
    let guarded = merge(&[local("loc", "9"), remote("rem")], true);
    assert_eq!(count(&guarded.primary), 1);
    assert!(!guarded.primary.contains("_member/rem/"));
    assert_eq!(count(&guarded.filelists), 1);
    // A remote listed first still loses to the local name under the guard.
    let guarded = merge(&[remote("rem"), local("loc", "9")], true);
    assert!(!guarded.primary.contains("_member/rem/"));
}

#[test]
fn repomd_hrefs_and_member_paths() {
    let repomd = "<repomd><data type=\"primary\"><checksum type=\"sha256\">x</checksum>\
        <location href=\"repodata/x-primary.xml.gz\"/></data><data type=\"other\">\
        <location href=\"repodata/a&amp;b-other.xml.gz\"/></data></repomd>";
    assert_eq!(
        repomd_hrefs(repomd),
        vec![
            ("primary".to_string(), "repodata/x-primary.xml.gz".to_string()),
            ("other".to_string(), "repodata/a&b-other.xml.gz".to_string()),
        ]
    );
    assert_eq!(
        member_file("_member/loc/Packages/a.rpm"),
        Some(("loc", "Packages/a.rpm"))
    );
    assert_eq!(member_file("_member/loc/"), None);
    assert_eq!(member_file("Packages/a.rpm"), None);
    assert_eq!(member_href("m", "a/b.rpm"), "_member/m/a/b.rpm");
}

#[test]
fn garbage_members_contribute_nothing() {
    let junk = MemberData {
        member: "junk".into(),
        local: false,
        primary: "<package type=\"rpm\"><name>x</name></package><package ".into(),
        filelists: "not xml".into(),
        other: String::new(),
    };
    let merged = merge(&[junk], false);
    assert_eq!(count(&merged.primary), 0);
    assert!(merged.members.is_empty());
}
