use super::super::hosted::read_package;
use super::*;
use std::io::Read;

const FIXTURE: &[u8] = include_bytes!("testdata/aafix-1.5-3.noarch.rpm");
/// createrepo_c's output for the fixture alone.
const PRIMARY: &str = include_str!("testdata/aafix-primary.xml");
const FILELISTS: &str = include_str!("testdata/aafix-filelists.xml");
const OTHER: &str = include_str!("testdata/aafix-other.xml");

fn with_fixture<T>(f: impl FnOnce(&[Entry<'_>]) -> T) -> T {
    let package = read_package(&mut std::io::Cursor::new(FIXTURE)).unwrap();
    let sha256 = Digest::of_bytes(FIXTURE);
    let entry = Entry {
        package: &package,
        sha256: sha256.hex(),
        size: FIXTURE.len() as u64,
        location: "aafix-1.5-3.noarch.rpm",
        time: 1796620607,
    };
    f(&[entry])
}

#[test]
fn the_data_files_are_what_createrepo_writes() {
    with_fixture(|entries| {
        assert_eq!(primary(entries), PRIMARY);
        assert_eq!(filelists(entries), FILELISTS);
        assert_eq!(other(entries), OTHER);
    });
}

#[test]
fn repomd_names_each_file_by_its_checksum() {
    let files = with_fixture(|entries| render_data(entries).unwrap());
    assert_eq!(
        files.iter().map(|f| f.kind).collect::<Vec<_>>(),
        ["primary", "filelists", "other"]
    );
    let repomd = render_repomd(&files, 1796620607);
    for file in &files {
        let mut xml = String::new();
        flate2::read::GzDecoder::new(file.gz.as_slice())
            .read_to_string(&mut xml)
            .unwrap();
        assert_eq!(Digest::of_bytes(xml.as_bytes()), file.open_sha256);
        assert_eq!(Digest::of_bytes(&file.gz), file.sha256);
        assert!(is_data_path(&file.path()), "{}", file.path());
        assert!(repomd.contains(&format!("<location href=\"{}\"/>", file.path())));
        assert!(repomd.contains(&format!("<checksum type=\"sha256\">{}</checksum>", file.sha256.hex())));
        assert!(repomd.contains(&format!("<size>{}</size>", file.gz.len())));
    }
    assert!(repomd.contains("<revision>1796620607</revision>"));
    // The same records give the same bytes (what lets replicas agree and old repomds resolve).
    assert_eq!(with_fixture(|entries| render_data(entries).unwrap()), files);
}

#[test]
fn an_empty_repository_has_empty_data_files() {
    let files = render_data(&[]).unwrap();
    assert!(render_repomd(&files, 0).contains("<data type=\"other\">"));
    assert!(primary(&[]).contains("packages=\"0\""));
}

#[test]
fn data_paths() {
    let hash = "a".repeat(64);
    assert!(is_data_path(&format!("repodata/{hash}-primary.xml.gz")));
    for bad in [
        format!("repodata/{hash}-comps.xml.gz"),
        format!("repodata/{}-primary.xml.gz", "a".repeat(63)),
        "repodata/repomd.xml".to_string(),
        format!("x/repodata/{hash}-primary.xml.gz"),
    ] {
        assert!(!is_data_path(&bad), "{bad}");
    }
}

#[test]
fn escape_drops_what_xml_cannot_carry() {
    assert_eq!(escape("a<b>&\"'\u{1}\tz"), "a&lt;b&gt;&amp;&quot;&apos;\tz");
}

#[test]
fn signatures_are_armored_with_their_crc() {
    // RFC 4880 §6.1's CRC-24 of "123456789" is 0x21cf02 (the standard check value).
    assert_eq!(crc24(b"123456789"), 0x0021_cf02);
    let armored = armor_signature(&[0xab; 100]);
    let lines: Vec<&str> = armored.lines().collect();
    assert_eq!(lines[0], "-----BEGIN PGP SIGNATURE-----");
    assert_eq!(lines[1], "");
    assert_eq!(lines[2].len(), 64);
    assert!(lines[lines.len() - 2].starts_with('=') && lines[lines.len() - 2].len() == 5);
    assert_eq!(lines[lines.len() - 1], "-----END PGP SIGNATURE-----");
}

#[test]
fn superseded_data_files_go_once_replaced_for_the_grace_period() {
    use chrono::{TimeDelta, TimeZone, Utc};
    let at = |minute: u32| Utc.with_ymd_and_hms(2026, 12, 7, 12, minute, 0).unwrap();
    let path = |c: char, kind: &str| format!("repodata/{}-{kind}.xml.gz", c.to_string().repeat(64));
    let stored = vec![
        (path('a', "primary"), at(0)),  // replaced by b at 5: goes
        (path('b', "primary"), at(5)),  // replaced by c at 28, under the grace: stays
        (path('c', "primary"), at(28)), // current
        (path('a', "other"), at(0)),    // the newest other: stays though not current
        ("repodata/repomd.xml".to_string(), at(0)),
        ("Packages/x.rpm".to_string(), at(0)),
    ];
    let current = vec![path('c', "primary")];
    let gone = superseded(&stored, &current, at(30), TimeDelta::minutes(10));
    assert_eq!(gone, vec![path('a', "primary")]);
    // Later, b is old news too; the current file never goes.
    let gone = superseded(&stored, &current, at(40), TimeDelta::minutes(10));
    assert_eq!(gone, vec![path('a', "primary"), path('b', "primary")]);
    assert_eq!(data_kind(&path('f', "filelists")), Some("filelists"));
}
