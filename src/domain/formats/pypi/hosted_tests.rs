use super::*;

#[test]
fn names_normalise_per_pep_503() {
    for (name, normal) in [
        ("Django", "django"),
        ("zope.interface", "zope-interface"),
        ("Foo__Bar-.baz", "foo-bar-baz"),
        ("a", "a"),
    ] {
        assert_eq!(normalize(name), normal, "{name}");
    }
    for (name, ok) in [
        ("demo", true),
        ("Demo_Pkg.x", true),
        ("a", true),
        ("-demo", false),
        ("demo-", false),
        ("de mo", false),
        ("", false),
        ("dé", false),
    ] {
        assert_eq!(valid_name(name), ok, "{name}");
    }
}

#[test]
fn versions_canonicalise_per_pep_440() {
    let table = [
        ("1.0", Some("1.0")),
        ("v1.0", Some("1.0")),
        ("1.0.0RC1", Some("1.0.0rc1")),
        ("1.0-alpha.2", Some("1.0a2")),
        ("1.0.preview", Some("1.0rc0")),
        ("1.0-1", Some("1.0.post1")),
        ("1.0.rev", Some("1.0.post0")),
        ("2!1.01.dev3", Some("2!1.1.dev3")),
        ("1.0+Ubuntu-1", Some("1.0+ubuntu.1")),
        ("0!1", Some("1")),
        ("1.0..0", None),
        ("latest", None),
        ("1.0+", None),
        ("", None),
    ];
    for (version, canonical) in table {
        assert_eq!(canonical_version(version).as_deref(), canonical, "{version}");
    }
    assert!(same_version("1.0", "1.0.0"));
    assert!(same_version("1.0RC1", "1.0rc1"));
    assert!(!same_version("1.0", "1.0.1"));
    assert!(!same_version("x", "x"));
}

#[test]
fn file_names() {
    let wheel = parse_filename("Demo_Pkg-1.0-py3-none-any.whl").unwrap();
    assert_eq!(wheel.kind, DistKind::Wheel);
    assert_eq!((wheel.name.as_str(), wheel.version.as_str()), ("Demo_Pkg", "1.0"));
    assert_eq!(wheel.key, "demo-pkg-1.0--py3-none-any.whl");
    let respelled = parse_filename("demo.pkg-1.0-py3-none-ANY.whl").unwrap();
    assert_eq!(respelled.key, wheel.key, "another spelling is the same file");
    let built = parse_filename("demo-1.0-1-cp311-cp311-manylinux_2_17_x86_64.whl").unwrap();
    assert_eq!(built.key, "demo-1.0-1-cp311-cp311-manylinux_2_17_x86_64.whl");
    let sdist = parse_filename("demo-pkg-2.0rc1.tar.gz").unwrap();
    assert_eq!(sdist.kind, DistKind::SdistTar);
    assert_eq!((sdist.name.as_str(), sdist.version.as_str()), ("demo-pkg", "2.0rc1"));
    assert_eq!(
        parse_filename("demo_pkg-2.0rc1.zip").unwrap().key,
        sdist.key,
        "one sdist per release"
    );
    for bad in [
        "demo-1.0.egg",
        "demo-1.0-py3.whl",
        "demo--1.0-py3-none-any.whl",
        "../demo-1.0.tar.gz",
        "dir/demo-1.0.tar.gz",
        ".demo-1.0.tar.gz",
        "demo.tar.gz",
        "demo-latest.tar.gz",
        "demo-1.0-py3-none-any.whl\n",
        "",
    ] {
        assert!(parse_filename(bad).is_err(), "{bad:?}");
    }
}

const METADATA: &str = "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 1.0.0\nRequires-Python: >=3.8\nDescription: a\n  continued line\n\nName: not-a-header\n";

#[test]
fn core_metadata() {
    let meta = parse_core_metadata(METADATA).unwrap();
    assert_eq!(meta.name, "Demo_Pkg");
    assert_eq!(meta.version, "1.0.0");
    assert_eq!(meta.requires_python.as_deref(), Some(">=3.8"));
    assert!(
        parse_core_metadata("Metadata-Version: 2.1\nName: x\n").is_err(),
        "no version"
    );
    assert!(parse_core_metadata("garbage without colon\n").is_err());
    assert!(parse_core_metadata("").is_err());
}

fn form(name: &str, version: &str) -> UploadForm {
    let mut form = UploadForm::default();
    form.set(":action", "file_upload".into());
    form.set("name", name.into());
    form.set("version", version.into());
    form.set("filetype", "bdist_wheel".into());
    form.set("ignored", "x".into());
    form
}

#[test]
fn uploads_agree_with_their_file_names_and_metadata() {
    let dist = form("demo-pkg", "1.0").check("Demo_Pkg-1.0-py3-none-any.whl").unwrap();
    let checked = check_metadata(&dist, &parse_core_metadata(METADATA).unwrap()).unwrap();
    assert_eq!(checked.name, "demo-pkg");
    assert_eq!(checked.version, "1.0.0");
    let table: [(UploadForm, &str, &str); 6] = [
        (form("other", "1.0"), "demo-1.0-py3-none-any.whl", "does not belong"),
        (
            form("demo", "1.1"),
            "demo-1.0-py3-none-any.whl",
            "does not match version",
        ),
        (form("demo", "nope"), "demo-1.0-py3-none-any.whl", "PEP 440"),
        (form("-x", "1.0"), "demo-1.0-py3-none-any.whl", "valid project name"),
        (form("demo", "1.0"), "demo-1.0.tar.gz", "filetype"),
        (UploadForm::default(), "demo-1.0-py3-none-any.whl", ":action"),
    ];
    for (form, filename, message) in table {
        let err = form.check(filename).unwrap_err().to_string();
        assert!(err.contains(message), "{filename}: {err}");
    }
    let mut other = form("demo", "1.0");
    other.set(":action", "remove_pkg".into());
    assert!(other.check("demo-1.0-py3-none-any.whl").is_err());
    let lying = parse_core_metadata("Name: someone-else\nVersion: 1.0\n").unwrap();
    assert!(
        check_metadata(&dist, &lying)
            .unwrap_err()
            .to_string()
            .contains("someone-else")
    );
    let wrong_version = parse_core_metadata("Name: demo-pkg\nVersion: 2.0\n").unwrap();
    assert!(check_metadata(&dist, &wrong_version).is_err());
}

#[test]
fn archive_members() {
    assert!(metadata_member(DistKind::Wheel, "demo-1.0.dist-info/METADATA"));
    assert!(!metadata_member(DistKind::Wheel, "demo/demo-1.0.dist-info/METADATA"));
    assert!(!metadata_member(DistKind::Wheel, "demo-1.0.data/METADATA"));
    assert!(metadata_member(DistKind::SdistTar, "demo-1.0/PKG-INFO"));
    assert!(!metadata_member(
        DistKind::SdistTar,
        "demo-1.0/src/demo.egg-info/PKG-INFO"
    ));
    for (member, bad) in [
        ("demo/__init__.py", false),
        ("../evil", true),
        ("demo/../../evil", true),
        ("/etc/passwd", true),
        ("C:/evil", true),
        ("demo\\..\\evil", true),
        ("demo/..data", false),
    ] {
        assert_eq!(unsafe_member(member), bad, "{member}");
    }
}
