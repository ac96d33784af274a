//! The dependency rule (DESIGN §2): `domain` is pure and `app` never names an adapter or an
//! infrastructure crate. This reads the source files, so a violation fails here, not in review.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use std::path::Path;

/// Crates and modules that only adapters (and the composition root) may name.
const INFRASTRUCTURE: &[&str] = &[
    "sea_orm",
    "sqlx",
    "redis",
    "minio",
    "poem",
    "poem_openapi",
    "reqwest",
    "hyper",
    "moka",
    "s3s",
    "rustls",
    "tokio_rustls",
    "rustls_native_certs",
    "webpki_roots",
    "adapters",
    "bootstrap",
];
/// Additionally forbidden in the pure domain: runtimes, IO and the ports.
const DOMAIN_ONLY: &[&str] = &[
    "tokio",
    "futures",
    "async_trait",
    "tempfile",
    "std::fs",
    "std::net",
    "std::process",
    "crate::ports",
    "crate::app",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whole-word occurrences of `name` used as a path (`name::` or `use name`).
fn names(source: &str, name: &str) -> bool {
    source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .any(|line| {
            line.match_indices(name).any(|(i, _)| {
                let before = line[..i].chars().last();
                let after = &line[i + name.len()..];
                let word_start = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                word_start
                    && (after.starts_with("::")
                        || after.starts_with(';')
                        || after.starts_with(" as ")
                        || after.starts_with('}'))
            })
        })
}

fn violations(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut files);
    assert!(!files.is_empty(), "no sources under {dir}");
    let mut found = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for name in forbidden {
            if names(&source, name) {
                found.push(format!("{} names {name}", file.display()));
            }
        }
    }
    found
}

#[test]
fn domain_is_pure() {
    let forbidden: Vec<&str> = INFRASTRUCTURE.iter().chain(DOMAIN_ONLY).copied().collect();
    let found = violations("src/domain", &forbidden);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn app_talks_only_to_ports() {
    let found = violations("src/app", INFRASTRUCTURE);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn ports_name_no_infrastructure() {
    let found = violations("src/ports", INFRASTRUCTURE);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_checker_catches_a_violation() {
    assert!(names("use sea_orm::DatabaseConnection;", "sea_orm"));
    assert!(names(
        "let x = crate::adapters::blob::fs::FsBlobStore::open(p);",
        "adapters"
    ));
    assert!(!names("// sea_orm:: in a comment", "sea_orm"));
    assert!(!names("let my_sea_orm::x;", "sea_orm"));
}
