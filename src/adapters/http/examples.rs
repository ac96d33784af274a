//! Examples shown in the OpenAPI spec (and Swagger UI) for the main request and response bodies.
//! They are realistic values that the server accepts or returns.
use poem_openapi::types::Example;

use super::admin::{ApiError, RepositoryInput, RepositoryView};
use super::gc_api::GcReportView;
use super::probe_api::ProbeInput;
use super::retention_api::{RemovalView, RepositoryRetentionView};
use super::stats_api::StatsView;
use super::tokens_api::TokenInput;

impl Example for RepositoryInput {
    fn example() -> Self {
        RepositoryInput {
            name: "pypi-remote".into(),
            kind: "remote".into(),
            package: "pypi".into(),
            base_url: Some("https://pypi.example.internal".into()),
            username: None,
            password: None,
            mutable_ttl: Some(300),
            immutable_ttl: Some(0),
            patterns: None,
            blocklist: Some(vec!["^simple/evil-package/".into()]),
            mutable_patterns: None,
            immutable_patterns: None,
            ban_tags: None,
            offline: Some(false),
            ca_file: Some("/etc/artifactapi/pypi-mirror-ca.pem".into()),
            tls_insecure_skip_verify: None,
            client_cert_file: None,
            client_key_file: None,
            members: None,
            allow_overwrite: None,
            dependency_confusion_guard: None,
            quota_bytes: None,
            max_bytes: Some(50 * 1024 * 1024 * 1024),
            unused_days: Some(90),
            keep_last_tags: None,
            keep_tag_patterns: None,
            untagged_manifest_days: None,
        }
    }
}

impl Example for RepositoryView {
    fn example() -> Self {
        RepositoryView {
            name: "files".into(),
            kind: "local".into(),
            package: "generic".into(),
            managed_by: "api".into(),
            base_url: None,
            username: None,
            has_password: false,
            mutable_ttl: None,
            immutable_ttl: None,
            patterns: None,
            blocklist: None,
            mutable_patterns: None,
            immutable_patterns: None,
            ban_tags: None,
            offline: None,
            ca_file: None,
            tls_insecure_skip_verify: None,
            client_cert_file: None,
            client_key_file: None,
            members: None,
            allow_overwrite: Some(false),
            dependency_confusion_guard: None,
            quota_bytes: Some(10 * 1024 * 1024 * 1024),
            max_bytes: None,
            unused_days: None,
            keep_last_tags: None,
            keep_tag_patterns: None,
            untagged_manifest_days: None,
        }
    }
}

impl Example for ApiError {
    fn example() -> Self {
        ApiError {
            code: "INVALID_FIELD".into(),
            message: "base_url: a remote repository needs an http(s) base_url".into(),
            field: Some("base_url".into()),
        }
    }
}

impl Example for TokenInput {
    fn example() -> Self {
        TokenInput {
            name: "ci-publisher".into(),
            scopes: vec!["write".into()],
            repositories: Some(vec!["team-*".into()]),
            expires_at: None,
        }
    }
}

impl Example for ProbeInput {
    fn example() -> Self {
        ProbeInput {
            repository: "pypi-remote".into(),
            path: "simple/requests/".into(),
        }
    }
}

impl Example for StatsView {
    fn example() -> Self {
        StatsView {
            objects: 1204,
            bytes: 734_003_200,
            stored_bytes: 701_235_200,
            hits: 98_311,
            misses: 1_412,
            stale_served: 3,
            upstream_errors: 7,
            fetched_bytes: 741_120_512,
        }
    }
}

impl Example for RepositoryRetentionView {
    fn example() -> Self {
        RepositoryRetentionView {
            name: "pypi-remote".into(),
            dry_run: true,
            removed: vec![RemovalView {
                path: "packages/ab/cd/example-1.0-py3-none-any.whl".into(),
                size: 73_400_320,
                reason: "max_bytes".into(),
                last_accessed: chrono::DateTime::from_timestamp(1_767_225_600, 0),
            }],
            objects: 1,
            bytes: 73_400_320,
            stored_bytes: 10_737_418_240,
            busy: false,
            failed: false,
        }
    }
}

impl Example for GcReportView {
    fn example() -> Self {
        GcReportView {
            dry_run: false,
            links_deleted: 3,
            blobs_deleted: 12,
            stray_objects_deleted: 1,
            bytes_freed: 73_400_320,
            busy: 0,
        }
    }
}
