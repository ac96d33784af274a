//! apk parsing against packages laid out as abuild writes them: fields, `C:` (the control
//! stream's sha1), `S:`; truncated, garbage, tampered and oversized packages are refused.
use super::*;
use std::io::Cursor;

use crate::test_apk as apk;

fn read(bytes: &[u8]) -> Result<ApkPackage, String> {
    read_package(&mut Cursor::new(bytes))
}

#[test]
fn a_signed_and_an_unsigned_package_are_read() {
    let extra = "maintainer = A <a@127.0.0.1>\ncommit = abc\ndepend = so:libc.musl-x86_64.so.1\n\
                 depend = zlib>=1.2\nprovides = cmd:hello=1.0-r0\ninstall_if = base lang\n\
                 provider_priority = 10\nreplaces = other\n";
    for signed in [true, false] {
        let built = apk::build(&apk::pkginfo("hello", "1.0-r0", "x86_64", extra), signed);
        let p = read(&built.bytes).unwrap();
        assert_eq!(p.checksum, apk::q1(&built.control), "signed: {signed}");
        assert_eq!(p.size, built.bytes.len() as u64);
        assert_eq!(
            (p.name.as_str(), p.version.as_str(), p.arch.as_str()),
            ("hello", "1.0-r0", "x86_64")
        );
        assert_eq!(p.installed_size, 4096);
        assert_eq!(p.build_time, Some(1_700_000_000));
        assert_eq!(p.provider_priority, Some(10));
        assert_eq!(p.depends, ["so:libc.musl-x86_64.so.1", "zlib>=1.2"]);
        assert_eq!(p.provides, ["cmd:hello=1.0-r0"]);
        assert_eq!(p.install_if, ["base", "lang"]);
        assert_eq!(p.maintainer, "A <a@127.0.0.1>");
        assert_eq!(p.description, "hello for tests");
    }
}

#[test]
fn broken_packages_are_refused_with_a_reason() {
    let good = apk::simple("hello", "1.0-r0", "x86_64").bytes;
    let mut trailing = good.clone();
    trailing.extend(b"junk");
    let unhashed = apk::build_hashed(&apk::pkginfo("hello", "1.0-r0", "x86_64", ""), true, false).bytes;
    assert_eq!(read(&unhashed).unwrap().name, "hello");
    let mut unhashed_trailing = unhashed.clone();
    unhashed_trailing.extend(b"junk");
    let mut tampered_data = good.clone();
    let last = tampered_data.len() - 20;
    tampered_data[last] ^= 0xff;
    let no_name = apk::build("pkgver = 1\narch = x86_64\n", true).bytes;
    let bad_name = apk::build(&apk::pkginfo("he llo", "1", "x86_64", ""), true).bytes;
    let bad_size = apk::build("pkgname = a\npkgver = 1\narch = x86_64\nsize = big\n", true).bytes;
    let huge = apk::build(
        &apk::pkginfo(
            "hello",
            "1.0-r0",
            "x86_64",
            &format!("pkgdesc = {}\n", "x".repeat(2 << 20)),
        ),
        true,
    )
    .bytes;
    let table: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "garbage",
            b"not an apk at all".to_vec(),
            "does not start with a gzip stream",
        ),
        ("empty", Vec::new(), "does not start with a gzip stream"),
        ("truncated", good[..good.len() - 30].to_vec(), "truncated or altered"),
        ("control only", good[..good.len() / 2].to_vec(), "not"),
        ("trailing bytes", trailing, "truncated or altered"),
        (
            "truncated, no datahash",
            unhashed[..unhashed.len() - 30].to_vec(),
            "not a complete gzip stream",
        ),
        (
            "trailing bytes, no datahash",
            unhashed_trailing,
            "follow the data tarball",
        ),
        ("tampered data", tampered_data, "not"),
        ("no name", no_name, "has no pkgname"),
        ("bad name", bad_name, "not a valid pkgname"),
        ("bad size", bad_size, "not a number"),
        ("oversized .PKGINFO", huge, "allowed"),
    ];
    for (what, bytes, reason) in table {
        let err = read(&bytes).unwrap_err();
        assert!(err.contains(reason), "{what}: {err}");
    }
}

#[test]
fn a_data_tarball_that_is_not_the_one_the_control_names_is_refused() {
    let a = apk::simple("hello", "1.0-r0", "x86_64");
    let at = a
        .bytes
        .windows(a.control.len())
        .position(|w| w == a.control.as_slice())
        .unwrap();
    // a's signature and control, then the data stream of another (unsigned) package.
    let mut spliced = a.bytes[..at + a.control.len()].to_vec();
    let other = apk::build("pkgname = z\npkgver = 9\narch = x86_64\n", false);
    spliced.extend(&other.bytes[other.control.len()..]);
    let err = read(&spliced).unwrap_err();
    assert!(err.contains("datahash"), "{err}");
}

#[test]
fn upload_paths_name_an_arch_directory_and_the_package() {
    assert_eq!(
        check_upload_path("v3.20/main/x86_64/hello-1.0-r0.apk").unwrap(),
        ("v3.20/main/x86_64", "hello-1.0-r0.apk")
    );
    for bad in [
        "hello-1.0-r0.apk",
        "x86_64/hello.txt",
        "x86_64/.apk",
        "keys/x86_64/a-1-r0.apk",
    ] {
        assert!(check_upload_path(bad).is_err(), "{bad}");
    }
    let p = read(&apk::simple("hello", "1.0-r0", "x86_64").bytes).unwrap();
    assert!(p.check_path("main/x86_64", "hello-1.0-r0.apk").is_ok());
    assert!(
        p.check_path("main/aarch64", "hello-1.0-r0.apk")
            .unwrap_err()
            .contains("x86_64")
    );
    assert!(
        p.check_path("main/x86_64", "hello-1.0-r1.apk")
            .unwrap_err()
            .contains("hello-1.0-r0.apk")
    );
    let noarch = read(&apk::simple("docs", "2-r0", "noarch").bytes).unwrap();
    assert!(noarch.check_path("main/aarch64", "docs-2-r0.apk").is_ok());
}
