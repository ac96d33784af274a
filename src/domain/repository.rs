//! Repositories: what they are (kind, package type, settings) and how raw input is validated.
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::error::FieldError;
use super::upstream_tls::UpstreamTls;

/// `[a-z0-9][a-z0-9._-]{0,63}`
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct RepoName(String);

impl TryFrom<String> for RepoName {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, FieldError> {
        RepoName::new(&value)
    }
}

impl RepoName {
    pub fn new(raw: &str) -> Result<Self, FieldError> {
        let bytes = raw.as_bytes();
        let valid_first = bytes
            .first()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let valid_rest = bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
        if valid_first && valid_rest && bytes.len() <= 64 {
            Ok(Self(raw.to_string()))
        } else {
            Err(FieldError::new("name", "must match [a-z0-9][a-z0-9._-]{0,63}"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown value '{other}' (expected one of: {})",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum!(
    /// How a repository gets its content.
    Kind { Remote => "remote", Local => "local", Virtual => "virtual" }
);

string_enum!(
    /// The package ecosystem a repository speaks.
    PackageType {
        Generic => "generic",
        Docker => "docker",
        Helm => "helm",
        Pypi => "pypi",
        Npm => "npm",
        Rpm => "rpm",
        Alpine => "alpine",
        Puppet => "puppet",
        Terraform => "terraform",
        Goproxy => "goproxy",
    }
);

string_enum!(
    /// Who owns a repository's definition: the API, or the config file (config as code).
    ManagedBy { Api => "api", Config => "config" }
);

/// A secret (upstream password). Never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

pub const DEFAULT_MUTABLE_TTL: u64 = 300;

/// Settings of a pull-through cache.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteSettings {
    pub base_url: String,
    pub username: Option<String>,
    /// Write-only: stored encrypted by the catalog adapter, never serialised back.
    #[serde(skip)]
    pub password: Option<Secret>,
    pub mutable_ttl: u64,
    /// 0 means forever.
    pub immutable_ttl: u64,
    pub patterns: Vec<String>,
    pub blocklist: Vec<String>,
    pub mutable_patterns: Vec<String>,
    pub immutable_patterns: Vec<String>,
    pub ban_tags: Vec<String>,
    pub offline: bool,
    /// Stored beside the other settings (`ca_file`, `tls_insecure_skip_verify`, ...).
    #[serde(flatten)]
    pub tls: UpstreamTls,
    /// Bytes the cache may hold (distinct contents once); the least recently used copies are
    /// evicted down to it. `None`: unbounded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Cached copies not downloaded for this many days are evicted. `None`: kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unused_days: Option<u32>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalSettings {
    /// When false (the default), uploading to an existing path is a conflict.
    pub allow_overwrite: bool,
    /// Bytes the repository may hold (distinct contents counted once); an upload that would go
    /// over is refused, deletes always work. `None`: no quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_bytes: Option<u64>,
    /// Docker: each image keeps its this many most recently pushed tags (and every tag a
    /// `keep_tag_patterns` regex matches); retention deletes the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last_tags: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep_tag_patterns: Vec<String>,
    /// Docker, opt-in: manifests without a tag that were neither pushed nor pulled by digest for
    /// this many days are deleted by retention. `None`: kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untagged_manifest_days: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualSettings {
    /// Ordered: the first member that has a path wins.
    pub members: Vec<RepoName>,
    /// Dependency-confusion guard (package formats with names, PyPI): a name that exists in a
    /// local member is never asked of a remote member. On unless turned off.
    #[serde(default = "guard_default")]
    pub dependency_confusion_guard: bool,
}

fn guard_default() -> bool {
    true
}

impl VirtualSettings {
    /// Members in order, with the guard on.
    pub fn new(members: Vec<RepoName>) -> Self {
        Self {
            members,
            dependency_confusion_guard: true,
        }
    }
}

/// Remote settings are much the largest; a repository is loaded once and shared, so boxing them
/// would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KindSettings {
    Remote(RemoteSettings),
    Local(LocalSettings),
    Virtual(VirtualSettings),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repository {
    pub name: RepoName,
    pub package: PackageType,
    pub settings: KindSettings,
    pub managed_by: ManagedBy,
}

impl Repository {
    pub fn kind(&self) -> Kind {
        match self.settings {
            KindSettings::Remote(_) => Kind::Remote,
            KindSettings::Local(_) => Kind::Local,
            KindSettings::Virtual(_) => Kind::Virtual,
        }
    }
}

/// Unvalidated repository input, as it arrives from JSON or a `[[repository]]` table.
/// Field names follow the original ArtifactAPI so existing configs carry over.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RepositoryDraft {
    pub name: String,
    pub kind: String,
    pub package: String,
    pub base_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub mutable_ttl: Option<u64>,
    pub immutable_ttl: Option<u64>,
    #[serde(default)]
    pub patterns: Vec<String>,
    #[serde(default)]
    pub blocklist: Vec<String>,
    #[serde(default)]
    pub mutable_patterns: Vec<String>,
    #[serde(default)]
    pub immutable_patterns: Vec<String>,
    #[serde(default)]
    pub ban_tags: Vec<String>,
    pub offline: Option<bool>,
    pub ca_file: Option<String>,
    pub tls_insecure_skip_verify: Option<bool>,
    pub client_cert_file: Option<String>,
    pub client_key_file: Option<String>,
    #[serde(default)]
    pub members: Vec<String>,
    pub allow_overwrite: Option<bool>,
    /// Virtual only; default true.
    pub dependency_confusion_guard: Option<bool>,
    /// Local only: bytes the repository may hold.
    pub quota_bytes: Option<u64>,
    /// Remote only: bytes the cache may hold (LRU eviction).
    pub max_bytes: Option<u64>,
    /// Remote only: evict cached copies not downloaded for this many days.
    pub unused_days: Option<u32>,
    /// Local docker only: tags each image keeps (the most recently pushed).
    pub keep_last_tags: Option<u32>,
    /// Local docker only: regexes of tags always kept.
    #[serde(default)]
    pub keep_tag_patterns: Vec<String>,
    /// Local docker only: delete untagged manifests not pushed or pulled for this many days.
    pub untagged_manifest_days: Option<u32>,
}

impl RepositoryDraft {
    /// Checks every field and names the first bad one. Regexes are compiled here, at write time,
    /// so a bad pattern never reaches the request path.
    pub fn validate(self, managed_by: ManagedBy) -> Result<Repository, FieldError> {
        let name = RepoName::new(&self.name)?;
        let kind = Kind::from_str(&self.kind).map_err(|m| FieldError::new("kind", m))?;
        let package = PackageType::from_str(&self.package).map_err(|m| FieldError::new("package", m))?;
        let settings = match kind {
            Kind::Remote => KindSettings::Remote(self.remote_settings()?),
            Kind::Local => {
                self.refuse_fields_of(
                    "local",
                    &[
                        &["base_url", "members", "dependency_confusion_guard"][..],
                        TLS_FIELDS,
                        REMOTE_RETENTION_FIELDS,
                    ]
                    .concat(),
                )?;
                self.check_tag_retention(package)?;
                KindSettings::Local(LocalSettings {
                    allow_overwrite: self.allow_overwrite.unwrap_or(false),
                    quota_bytes: positive("quota_bytes", self.quota_bytes)?,
                    keep_last_tags: positive("keep_last_tags", self.keep_last_tags)?,
                    keep_tag_patterns: self.keep_tag_patterns.clone(),
                    untagged_manifest_days: positive("untagged_manifest_days", self.untagged_manifest_days)?,
                })
            }
            Kind::Virtual => {
                self.refuse_fields_of(
                    "virtual",
                    &[&["base_url"][..], TLS_FIELDS, LOCAL_FIELDS, REMOTE_RETENTION_FIELDS].concat(),
                )?;
                let members = self
                    .members
                    .iter()
                    .map(|m| {
                        RepoName::new(m)
                            .map_err(|_| FieldError::new("members", format!("'{m}' is not a valid repository name")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if members.contains(&name) {
                    return Err(FieldError::new("members", "a virtual repository cannot contain itself"));
                }
                KindSettings::Virtual(VirtualSettings {
                    members,
                    dependency_confusion_guard: self.dependency_confusion_guard.unwrap_or(true),
                })
            }
        };
        Ok(Repository {
            name,
            package,
            settings,
            managed_by,
        })
    }

    /// Tag retention is for docker images, and patterns only say which tags `keep_last_tags`
    /// spares.
    fn check_tag_retention(&self, package: PackageType) -> Result<(), FieldError> {
        if self.untagged_manifest_days.is_some() && package != PackageType::Docker {
            return Err(FieldError::new(
                "untagged_manifest_days",
                "only docker repositories have manifests",
            ));
        }
        let field = if self.keep_last_tags.is_some() {
            "keep_last_tags"
        } else if !self.keep_tag_patterns.is_empty() {
            "keep_tag_patterns"
        } else {
            return Ok(());
        };
        if package != PackageType::Docker {
            return Err(FieldError::new(field, "only docker repositories have tags"));
        }
        if self.keep_last_tags.is_none() {
            return Err(FieldError::new(
                "keep_tag_patterns",
                "needs keep_last_tags (the patterns say which tags beyond the last ones are kept)",
            ));
        }
        for p in &self.keep_tag_patterns {
            Regex::new(p).map_err(|e| FieldError::new("keep_tag_patterns", format!("invalid regex '{p}': {e}")))?;
        }
        Ok(())
    }

    fn refuse_fields_of(&self, kind: &str, fields: &[&'static str]) -> Result<(), FieldError> {
        for field in fields {
            let present = match *field {
                "base_url" => self.base_url.is_some(),
                "members" => !self.members.is_empty(),
                "dependency_confusion_guard" => self.dependency_confusion_guard.is_some(),
                "ca_file" => self.ca_file.is_some(),
                "tls_insecure_skip_verify" => self.tls_insecure_skip_verify.is_some(),
                "client_cert_file" => self.client_cert_file.is_some(),
                "client_key_file" => self.client_key_file.is_some(),
                "quota_bytes" => self.quota_bytes.is_some(),
                "keep_last_tags" => self.keep_last_tags.is_some(),
                "keep_tag_patterns" => !self.keep_tag_patterns.is_empty(),
                "untagged_manifest_days" => self.untagged_manifest_days.is_some(),
                "max_bytes" => self.max_bytes.is_some(),
                "unused_days" => self.unused_days.is_some(),
                _ => false,
            };
            if present {
                return Err(FieldError::new(field, format!("not allowed for a {kind} repository")));
            }
        }
        Ok(())
    }

    fn remote_settings(&self) -> Result<RemoteSettings, FieldError> {
        self.refuse_fields_of(
            "remote",
            &[&["members", "dependency_confusion_guard"][..], LOCAL_FIELDS].concat(),
        )?;
        let base_url = self
            .base_url
            .clone()
            .ok_or_else(|| FieldError::new("base_url", "required for a remote repository"))?;
        let parsed = url::Url::parse(&base_url).map_err(|e| FieldError::new("base_url", format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(FieldError::new(
                "base_url",
                "must be an http:// or https:// URL with a host",
            ));
        }
        for (field, patterns) in [
            ("patterns", &self.patterns),
            ("blocklist", &self.blocklist),
            ("mutable_patterns", &self.mutable_patterns),
            ("immutable_patterns", &self.immutable_patterns),
            ("ban_tags", &self.ban_tags),
        ] {
            for p in patterns {
                Regex::new(p).map_err(|e| FieldError::new(field, format!("invalid regex '{p}': {e}")))?;
            }
        }
        Ok(RemoteSettings {
            base_url: base_url.trim_end_matches('/').to_string(),
            username: self.username.clone(),
            password: self.password.clone().map(Secret::new),
            mutable_ttl: self.mutable_ttl.unwrap_or(DEFAULT_MUTABLE_TTL),
            immutable_ttl: self.immutable_ttl.unwrap_or(0),
            patterns: self.patterns.clone(),
            blocklist: self.blocklist.clone(),
            mutable_patterns: self.mutable_patterns.clone(),
            immutable_patterns: self.immutable_patterns.clone(),
            ban_tags: self.ban_tags.clone(),
            offline: self.offline.unwrap_or(false),
            tls: UpstreamTls::new(
                self.ca_file.clone(),
                self.tls_insecure_skip_verify.unwrap_or(false),
                self.client_cert_file.clone(),
                self.client_key_file.clone(),
            )?,
            max_bytes: positive("max_bytes", self.max_bytes)?,
            unused_days: positive("unused_days", self.unused_days)?,
        })
    }
}

/// Retention fields only a remote has.
const REMOTE_RETENTION_FIELDS: &[&str] = &["max_bytes", "unused_days"];

/// Fields only a local repository has (`allow_overwrite` is ignored elsewhere, as it always was).
const LOCAL_FIELDS: &[&str] = &[
    "quota_bytes",
    "keep_last_tags",
    "keep_tag_patterns",
    "untagged_manifest_days",
];

/// A limit that must be at least 1 when set (0 would refuse everything, or evict everything).
fn positive<T: PartialEq + Default>(field: &'static str, value: Option<T>) -> Result<Option<T>, FieldError> {
    match value {
        Some(v) if v == T::default() => Err(FieldError::new(
            field,
            "must be greater than 0 (leave it out for no limit)",
        )),
        other => Ok(other),
    }
}

/// Fields only a remote has, besides `base_url`.
const TLS_FIELDS: &[&str] = &[
    "ca_file",
    "tls_insecure_skip_verify",
    "client_cert_file",
    "client_key_file",
];

#[cfg(test)]
mod tests;

impl Repository {
    /// The editable form of a stored definition (the password stays write-only: `None`).
    pub fn to_draft(&self) -> RepositoryDraft {
        let mut draft = RepositoryDraft {
            name: self.name.to_string(),
            kind: self.kind().to_string(),
            package: self.package.to_string(),
            ..RepositoryDraft::default()
        };
        match &self.settings {
            KindSettings::Remote(s) => {
                draft.base_url = Some(s.base_url.clone());
                draft.username = s.username.clone();
                draft.mutable_ttl = Some(s.mutable_ttl);
                draft.immutable_ttl = Some(s.immutable_ttl);
                draft.patterns = s.patterns.clone();
                draft.blocklist = s.blocklist.clone();
                draft.mutable_patterns = s.mutable_patterns.clone();
                draft.immutable_patterns = s.immutable_patterns.clone();
                draft.ban_tags = s.ban_tags.clone();
                draft.offline = Some(s.offline);
                draft.ca_file = s.tls.ca_file.clone();
                draft.tls_insecure_skip_verify = Some(s.tls.tls_insecure_skip_verify);
                draft.client_cert_file = s.tls.client_cert_file.clone();
                draft.client_key_file = s.tls.client_key_file.clone();
                draft.max_bytes = s.max_bytes;
                draft.unused_days = s.unused_days;
            }
            KindSettings::Local(s) => {
                draft.allow_overwrite = Some(s.allow_overwrite);
                draft.quota_bytes = s.quota_bytes;
                draft.keep_last_tags = s.keep_last_tags;
                draft.keep_tag_patterns = s.keep_tag_patterns.clone();
                draft.untagged_manifest_days = s.untagged_manifest_days;
            }
            KindSettings::Virtual(s) => {
                draft.members = s.members.iter().map(|m| m.to_string()).collect();
                draft.dependency_confusion_guard = Some(s.dependency_confusion_guard);
            }
        }
        draft
    }
}

/// RFC 7386 JSON merge patch: objects merge key by key, `null` removes a key, anything else
/// replaces.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(serde_json::Map::new());
    }
    if let serde_json::Value::Object(target_map) = target {
        for (key, value) in patch_map {
            if value.is_null() {
                target_map.remove(key);
            } else {
                merge_patch(target_map.entry(key.clone()).or_insert(serde_json::Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod patch_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let table = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": ["b"]}), json!({"a": ["c", "d"]}), json!({"a": ["c", "d"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (json!(["a"]), json!({"a": "c"}), json!({"a": "c"})),
        ];
        for (mut target, patch, expected) in table {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected);
        }
    }

    #[test]
    fn drafts_round_trip_through_validation() {
        let draft = RepositoryDraft {
            name: "r".into(),
            kind: "remote".into(),
            package: "pypi".into(),
            base_url: Some("http://127.0.0.1:9".into()),
            patterns: vec!["^a".into()],
            ..Default::default()
        };
        let repo = draft.validate(ManagedBy::Api).unwrap();
        assert_eq!(repo.to_draft().validate(ManagedBy::Api).unwrap(), repo);
    }
}
