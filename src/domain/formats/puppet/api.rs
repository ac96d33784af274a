//! The Forge v3 JSON of a hosted (or virtual) Puppet repository, rendered from its releases:
//! `v3/releases` (filtered by `module`/`owner`, sorted, paginated with `limit`/`offset` and
//! `pagination.next` links puppet follows), `v3/releases/{owner-module-version}` and
//! `v3/modules/{owner-module}`. Links (`uri`, `file_uri`, pagination) are relative to the
//! repository URL with a leading `/`, as the Forge writes them: puppet prefixes them with the
//! `--module_repository` URL. The same releases always render the same bytes (and ETag).
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::hosted::{canonical_slug, release_slug};
use crate::domain::package::PackageRecord;

/// The content type of every v3 answer.
pub const JSON_TYPE: &str = "application/json";

/// The page size when the client names none, and the largest it may ask (the Forge's).
pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

/// One release as the API lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    /// The module slug, `owner-module`.
    pub module: String,
    pub version: String,
    /// `metadata.json`.
    pub metadata: Value,
    /// Relative to the repository URL, with a leading `/`.
    pub file_uri: String,
    pub file_size: Option<u64>,
    pub file_md5: Option<String>,
    pub file_sha256: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

impl Release {
    /// The release of a hosted record (its meta holds `metadata` and `md5`).
    pub fn from_record(record: &PackageRecord) -> Release {
        Release {
            module: record.name.clone(),
            version: record.version.clone(),
            metadata: record.meta.get("metadata").cloned().unwrap_or_else(|| json!({})),
            file_uri: format!("/{}", record.path),
            file_size: Some(record.size),
            file_md5: record.meta.get("md5").and_then(Value::as_str).map(str::to_string),
            file_sha256: Some(record.digest.hex().to_string()),
            created_at: Some(record.created_at),
        }
    }

    pub fn slug(&self) -> String {
        release_slug(&self.module, &self.version)
    }

    fn owner(&self) -> &str {
        self.module.split_once('-').map_or(self.module.as_str(), |(o, _)| o)
    }

    fn short_name(&self) -> &str {
        self.module.split_once('-').map_or(self.module.as_str(), |(_, n)| n)
    }

    fn module_value(&self) -> Value {
        let owner = self.owner();
        json!({
            "uri": format!("/v3/modules/{}", self.module),
            "slug": self.module,
            "name": self.short_name(),
            "deprecated_at": null,
            "owner": {"uri": format!("/v3/users/{owner}"), "slug": owner, "username": owner},
        })
    }

    /// The full release object.
    pub fn to_value(&self) -> Value {
        let created = self.created_at.map(forge_time);
        json!({
            "uri": format!("/v3/releases/{}", self.slug()),
            "slug": self.slug(),
            "module": self.module_value(),
            "version": self.version,
            "metadata": self.metadata,
            "tags": [],
            "supported": false,
            "pdk": false,
            "validation_score": null,
            "file_uri": self.file_uri,
            "file_size": self.file_size,
            "file_md5": self.file_md5,
            "file_sha256": self.file_sha256,
            "downloads": 0,
            "readme": null,
            "changelog": null,
            "license": null,
            "reference": null,
            "created_at": created,
            "updated_at": created,
            "deleted_at": null,
            "deleted_for": null,
        })
    }

    /// The short form a module's `releases` list holds.
    fn short_value(&self) -> Value {
        json!({
            "uri": format!("/v3/releases/{}", self.slug()),
            "slug": self.slug(),
            "version": self.version,
            "supported": false,
            "created_at": self.created_at.map(forge_time),
            "deleted_at": null,
            "file_uri": self.file_uri,
            "file_size": self.file_size,
        })
    }
}

/// The Forge's timestamp format.
fn forge_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S %z").to_string()
}

/// Newest SemVer first; a version that does not parse sorts last, by text.
pub fn newest_first(a: &Release, b: &Release) -> std::cmp::Ordering {
    match (semver::Version::parse(&a.version), semver::Version::parse(&b.version)) {
        (Ok(x), Ok(y)) => y.cmp(&x),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.version.cmp(&b.version),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// Newest upload first (the Forge's default).
    ReleaseDate,
    /// Newest version first (what puppet asks for).
    Version,
    /// By module slug, then newest version first.
    Module,
}

/// What a `v3/releases` query asks; parameters we do not know are kept for the pagination links
/// and otherwise ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct ReleaseQuery {
    /// Canonical `owner-module` (`owner/module` accepted). `Some("")`-like junk matches nothing.
    pub module: Option<String>,
    pub owner: Option<String>,
    pub sort_by: SortBy,
    pub limit: usize,
    pub offset: usize,
    /// Every other parameter, in order.
    pub rest: Vec<(String, String)>,
}

impl ReleaseQuery {
    pub fn parse(query: Option<&str>) -> ReleaseQuery {
        let mut parsed = ReleaseQuery {
            module: None,
            owner: None,
            sort_by: SortBy::ReleaseDate,
            limit: DEFAULT_LIMIT,
            offset: 0,
            rest: Vec::new(),
        };
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match &*key {
                "module" => parsed.module = Some(canonical_slug(&value).unwrap_or_else(|| value.to_string())),
                "owner" => parsed.owner = Some(value.to_string()),
                "limit" => {
                    if let Ok(limit) = value.parse::<usize>() {
                        parsed.limit = limit.clamp(1, MAX_LIMIT);
                    }
                }
                "offset" => parsed.offset = value.parse().unwrap_or(0),
                "sort_by" => {
                    parsed.sort_by = match &*value {
                        "version" => SortBy::Version,
                        "module" => SortBy::Module,
                        _ => SortBy::ReleaseDate,
                    };
                    parsed.rest.push((key.to_string(), value.to_string()));
                }
                _ => parsed.rest.push((key.to_string(), value.to_string())),
            }
        }
        parsed
    }

    fn matches(&self, release: &Release) -> bool {
        self.module.as_ref().is_none_or(|m| *m == release.module)
            && self.owner.as_ref().is_none_or(|o| o == release.owner())
    }

    /// `/v3/releases?…` at `offset`, carrying every other parameter.
    fn link(&self, offset: usize) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(module) = &self.module {
            query.append_pair("module", module);
        }
        if let Some(owner) = &self.owner {
            query.append_pair("owner", owner);
        }
        for (key, value) in &self.rest {
            query.append_pair(key, value);
        }
        query.append_pair("limit", &self.limit.to_string());
        query.append_pair("offset", &offset.to_string());
        format!("/v3/releases?{}", query.finish())
    }
}

fn sort(releases: &mut [Release], by: SortBy) {
    match by {
        SortBy::Version => releases.sort_by(newest_first),
        SortBy::Module => releases.sort_by(|a, b| a.module.cmp(&b.module).then_with(|| newest_first(a, b))),
        SortBy::ReleaseDate => {
            releases.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| newest_first(a, b)))
        }
    }
}

/// `v3/releases`: the releases `query` selects, one page of them, with the Forge's pagination.
pub fn render_releases(releases: &[Release], query: &ReleaseQuery) -> Vec<u8> {
    let mut selected: Vec<Release> = releases.iter().filter(|r| query.matches(r)).cloned().collect();
    sort(&mut selected, query.sort_by);
    let total = selected.len();
    let page: Vec<Value> = selected
        .iter()
        .skip(query.offset)
        .take(query.limit)
        .map(Release::to_value)
        .collect();
    let after = query.offset.saturating_add(query.limit);
    let next = (after < total).then(|| query.link(after));
    let previous = (query.offset > 0).then(|| query.link(query.offset.saturating_sub(query.limit)));
    let doc = json!({
        "pagination": {
            "limit": query.limit,
            "offset": query.offset,
            "first": query.link(0),
            "previous": previous,
            "current": query.link(query.offset),
            "next": next,
            "total": total,
        },
        "results": page,
    });
    doc.to_string().into_bytes()
}

/// `v3/releases/{slug}`.
pub fn render_release(release: &Release) -> Vec<u8> {
    release.to_value().to_string().into_bytes()
}

/// `v3/modules/{slug}` from the module's releases (any order); `None` when it has none.
pub fn render_module(releases: &[Release]) -> Option<Vec<u8>> {
    let mut releases = releases.to_vec();
    releases.sort_by(newest_first);
    let current = releases.first()?;
    let created = releases.iter().filter_map(|r| r.created_at).min().map(forge_time);
    let updated = releases.iter().filter_map(|r| r.created_at).max().map(forge_time);
    let mut module = current.module_value();
    if let Value::Object(map) = &mut module {
        map.insert("downloads".into(), json!(0));
        map.insert("created_at".into(), json!(created));
        map.insert("updated_at".into(), json!(updated));
        map.insert("deprecated_for".into(), Value::Null);
        map.insert("superseded_by".into(), Value::Null);
        map.insert("supported".into(), json!(false));
        map.insert("endorsement".into(), Value::Null);
        map.insert("module_group".into(), json!("base"));
        map.insert("premium".into(), json!(false));
        map.insert(
            "homepage_url".into(),
            current.metadata.get("project_page").cloned().unwrap_or(Value::Null),
        );
        map.insert(
            "issues_url".into(),
            current.metadata.get("issues_url").cloned().unwrap_or(Value::Null),
        );
        map.insert("current_release".into(), current.to_value());
        map.insert(
            "releases".into(),
            Value::Array(releases.iter().map(Release::short_value).collect()),
        );
    }
    Some(module.to_string().into_bytes())
}

/// A `v3/...` API path of a puppet repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiPath {
    /// `v3/releases`
    Releases,
    /// `v3/releases/{owner-module-version}`: (module slug, version).
    Release { module: String, version: String },
    /// `v3/modules/{owner-module}`
    Module(String),
    /// `v3/files/{owner-module-version}.tar.gz`
    File { module: String, version: String },
}

impl ApiPath {
    pub fn of(path: &str) -> Option<ApiPath> {
        let path = path.trim_end_matches('/');
        if path == "v3/releases" {
            return Some(ApiPath::Releases);
        }
        if let Some(slug) = path.strip_prefix("v3/releases/") {
            let (module, version) = super::hosted::split_release_slug(slug)?;
            return Some(ApiPath::Release {
                module,
                version: version.to_string(),
            });
        }
        if let Some(slug) = path.strip_prefix("v3/modules/") {
            return canonical_slug(slug).map(ApiPath::Module);
        }
        let stem = path.strip_prefix(super::hosted::FILES_DIR)?.strip_suffix(".tar.gz")?;
        let (module, version) = super::hosted::split_release_slug(stem)?;
        Some(ApiPath::File {
            module,
            version: version.to_string(),
        })
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
mod tests;
