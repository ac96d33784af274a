//! Validation of repository drafts: names, every field a kind refuses, defaults.
use super::*;

fn draft(name: &str, kind: &str, package: &str) -> RepositoryDraft {
    RepositoryDraft {
        name: name.into(),
        kind: kind.into(),
        package: package.into(),
        ..Default::default()
    }
}

#[test]
fn names() {
    for ok in ["a", "0", "pypi-remote", "a.b_c-d", &"a".repeat(64)] {
        assert!(RepoName::new(ok).is_ok(), "{ok}");
    }
    for bad in ["", "A", "-a", ".a", "_a", "a/b", "a b", "ä", &"a".repeat(65), ".."] {
        assert_eq!(RepoName::new(bad).unwrap_err().field, "name", "{bad}");
    }
}

#[test]
fn validation_names_the_bad_field() {
    let remote = |url: Option<&str>| RepositoryDraft {
        base_url: url.map(str::to_string),
        ..draft("r", "remote", "pypi")
    };
    let table: Vec<(RepositoryDraft, &str)> = vec![
        (draft("Bad", "local", "generic"), "name"),
        (draft("r", "mirror", "generic"), "kind"),
        (draft("r", "local", "maven"), "package"),
        (remote(None), "base_url"),
        (remote(Some("ftp://host/x")), "base_url"),
        (remote(Some("not a url")), "base_url"),
        (
            RepositoryDraft {
                patterns: vec!["(".into()],
                ..remote(Some("http://127.0.0.1:1"))
            },
            "patterns",
        ),
        (
            RepositoryDraft {
                blocklist: vec!["[".into()],
                ..remote(Some("http://127.0.0.1:1"))
            },
            "blocklist",
        ),
        (
            RepositoryDraft {
                members: vec!["Bad".into()],
                ..draft("v", "virtual", "npm")
            },
            "members",
        ),
        (
            RepositoryDraft {
                members: vec!["v".into()],
                ..draft("v", "virtual", "npm")
            },
            "members",
        ),
        (
            RepositoryDraft {
                base_url: Some("http://x".into()),
                ..draft("l", "local", "npm")
            },
            "base_url",
        ),
        (
            RepositoryDraft {
                ca_file: Some("/etc/ca.pem".into()),
                ..draft("l", "local", "npm")
            },
            "ca_file",
        ),
        (
            RepositoryDraft {
                tls_insecure_skip_verify: Some(true),
                ..draft("v", "virtual", "npm")
            },
            "tls_insecure_skip_verify",
        ),
        (
            RepositoryDraft {
                ca_file: Some("ca.pem".into()),
                ..remote(Some("https://127.0.0.1:1"))
            },
            "ca_file",
        ),
        (
            RepositoryDraft {
                client_cert_file: Some("/etc/client.pem".into()),
                ..remote(Some("https://127.0.0.1:1"))
            },
            "client_key_file",
        ),
        (
            RepositoryDraft {
                quota_bytes: Some(1024),
                ..remote(Some("http://127.0.0.1:1"))
            },
            "quota_bytes",
        ),
        (
            RepositoryDraft {
                quota_bytes: Some(1024),
                ..draft("v", "virtual", "generic")
            },
            "quota_bytes",
        ),
        (
            RepositoryDraft {
                quota_bytes: Some(0),
                ..draft("l", "local", "generic")
            },
            "quota_bytes",
        ),
        (
            RepositoryDraft {
                max_bytes: Some(1),
                ..draft("l", "local", "generic")
            },
            "max_bytes",
        ),
        (
            RepositoryDraft {
                unused_days: Some(1),
                ..draft("v", "virtual", "generic")
            },
            "unused_days",
        ),
        (
            RepositoryDraft {
                max_bytes: Some(0),
                ..remote(Some("http://127.0.0.1:1"))
            },
            "max_bytes",
        ),
        (
            RepositoryDraft {
                keep_last_tags: Some(3),
                ..draft("l", "local", "generic")
            },
            "keep_last_tags",
        ),
        (
            RepositoryDraft {
                keep_last_tags: Some(3),
                ..remote(Some("http://127.0.0.1:1"))
            },
            "keep_last_tags",
        ),
        (
            RepositoryDraft {
                keep_tag_patterns: vec!["^v".into()],
                ..draft("l", "local", "docker")
            },
            "keep_tag_patterns",
        ),
        (
            RepositoryDraft {
                keep_last_tags: Some(3),
                keep_tag_patterns: vec!["(".into()],
                ..draft("l", "local", "docker")
            },
            "keep_tag_patterns",
        ),
        (
            RepositoryDraft {
                keep_last_tags: Some(0),
                ..draft("l", "local", "docker")
            },
            "keep_last_tags",
        ),
        (
            RepositoryDraft {
                untagged_manifest_days: Some(7),
                ..draft("l", "local", "pypi")
            },
            "untagged_manifest_days",
        ),
        (
            RepositoryDraft {
                untagged_manifest_days: Some(0),
                ..draft("l", "local", "docker")
            },
            "untagged_manifest_days",
        ),
        (
            RepositoryDraft {
                untagged_manifest_days: Some(7),
                ..draft("v", "virtual", "docker")
            },
            "untagged_manifest_days",
        ),
        (
            RepositoryDraft {
                unused_days: Some(0),
                ..remote(Some("http://127.0.0.1:1"))
            },
            "unused_days",
        ),
    ];
    for (d, field) in table {
        let err = d.clone().validate(ManagedBy::Api).unwrap_err();
        assert_eq!(err.field, field, "{d:?}");
    }
}

#[test]
fn remote_defaults() {
    let d = RepositoryDraft {
        base_url: Some("https://127.0.0.1:9/simple/".into()),
        password: Some("hunter2".into()),
        ..draft("pypi", "remote", "pypi")
    };
    let repo = d.validate(ManagedBy::Config).unwrap();
    assert_eq!(repo.kind(), Kind::Remote);
    let KindSettings::Remote(s) = &repo.settings else {
        unreachable!()
    };
    assert_eq!(s.base_url, "https://127.0.0.1:9/simple");
    assert_eq!(s.mutable_ttl, DEFAULT_MUTABLE_TTL);
    assert_eq!(s.immutable_ttl, 0);
    assert!(s.tls.is_default());
    assert!(!format!("{repo:?}").contains("hunter2"));
}
