//! Hosted npm: what `npm publish` sends (a packument with one new version, its tarball carried
//! apart by the HTTP adapter) checked against npm's rules and against the tarball's own
//! `package.json`, and the record each version is kept as.
//!
//! A package is one record per version (key `name@version`, the manifest as meta) plus one
//! package record (key `name`, version empty) holding its dist-tags, so a packument is rendered
//! from a single query.
use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The version of the package record (versions are never empty).
pub const PACKAGE_RECORD_VERSION: &str = "";

/// A version manifest larger than this is refused (npm's own are a few KiB; a readme counts).
pub const MAX_MANIFEST_BYTES: usize = 1024 * 1024;

/// npm's limit on a package name.
const MAX_NAME: usize = 214;

/// A publish, as checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    pub name: String,
    pub version: String,
    /// The manifest as it will be stored (no `dist.tarball`: it is rendered per request).
    pub manifest: Value,
    /// `dist.integrity`'s sha512, hex, when the client sent one.
    pub sha512: Option<String>,
    /// `dist.shasum` (sha1, hex), when the client sent one.
    pub shasum: Option<String>,
    /// The dist-tags this publish sets (`latest` unless `--tag`).
    pub tags: BTreeMap<String, String>,
}

/// What a metadata-only `PUT` of the packument (deprecate, unpublish of one version) asks for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    /// The versions the client's packument still lists, with their `deprecated` message
    /// (`None` or empty: not deprecated).
    pub versions: BTreeMap<String, Option<String>>,
    pub tags: Option<BTreeMap<String, String>>,
}

fn bad(message: impl Into<String>) -> String {
    message.into()
}

fn url_safe(part: &str) -> bool {
    !part.is_empty()
        && !part.starts_with('.')
        && !part.starts_with('_')
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// npm's rules for a new package name: lower case, URL-safe, optionally `@scope/name`.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.len() > MAX_NAME {
        return Err(bad(format!("package name longer than {MAX_NAME} characters")));
    }
    let valid = match name.strip_prefix('@') {
        Some(scoped) => matches!(scoped.split_once('/'), Some((scope, base)) if url_safe(scope) && url_safe(base)),
        None => url_safe(name) && name != "node_modules" && name != "favicon.ico",
    };
    if valid {
        Ok(())
    } else {
        Err(bad(format!(
            "'{name:.100}' is not a valid npm package name (lower case letters, digits, '-', '.', '_', '~'; optionally @scope/name)"
        )))
    }
}

/// A SemVer 2 version, in its canonical spelling.
pub fn check_version(version: &str) -> Result<semver::Version, String> {
    semver::Version::parse(version).map_err(|e| bad(format!("'{version:.64}' is not a valid SemVer version: {e}")))
}

/// A dist-tag: URL-safe and never something npm would read as a version range.
pub fn check_tag(tag: &str) -> Result<(), String> {
    let safe = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !safe || semver::VersionReq::parse(tag).is_ok() {
        return Err(bad(format!(
            "'{tag:.64}' is not a valid dist-tag (letters, digits, '-', '.', '_', and not a version range)"
        )));
    }
    Ok(())
}

/// The name without its scope: what the tarball's file name starts with.
pub fn basename(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

pub fn tarball_filename(name: &str, version: &str) -> String {
    format!("{}-{version}.tgz", basename(name))
}

/// Where a version's tarball lives in the repository, as npm addresses it.
pub fn tarball_path(name: &str, version: &str) -> String {
    format!("{name}/-/{}", tarball_filename(name, version))
}

pub fn version_key(name: &str, version: &str) -> String {
    format!("{name}@{version}")
}

fn text<'a>(doc: &'a Value, field: &str) -> Option<&'a str> {
    doc.get(field).and_then(Value::as_str)
}

fn tags_of(doc: &Value) -> Result<Option<BTreeMap<String, String>>, String> {
    let Some(tags) = doc.get("dist-tags") else {
        return Ok(None);
    };
    let tags = tags.as_object().ok_or_else(|| bad("'dist-tags' must be an object"))?;
    let mut out = BTreeMap::new();
    for (tag, version) in tags {
        check_tag(tag)?;
        let version = version
            .as_str()
            .ok_or_else(|| bad(format!("dist-tag '{tag:.64}' must name a version")))?;
        out.insert(tag.clone(), check_version(version)?.to_string());
    }
    Ok(Some(out))
}

/// Checks a publish of `url_name` (the name in the URL) with `attachment` (the tarball's name in
/// `_attachments`): one new version, names and versions that agree everywhere.
pub fn check_publish(url_name: &str, doc: &Value, attachment: &str) -> Result<Publish, String> {
    check_name(url_name)?;
    for field in ["name", "_id"] {
        if let Some(named) = text(doc, field)
            && named != url_name
        {
            return Err(bad(format!(
                "the packument's {field} '{named:.100}' is not '{url_name}'"
            )));
        }
    }
    let versions = doc
        .get("versions")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("the packument has no 'versions' object"))?;
    let (version, manifest) = match versions.iter().collect::<Vec<_>>().as_slice() {
        [(version, manifest)] => ((*version).clone(), (*manifest).clone()),
        _ => return Err(bad("a publish carries exactly one version")),
    };
    let canonical = check_version(&version)?.to_string();
    if canonical != version {
        return Err(bad(format!(
            "version '{version}' is not canonical (npm writes '{canonical}')"
        )));
    }
    if text(&manifest, "name") != Some(url_name) || text(&manifest, "version") != Some(version.as_str()) {
        return Err(bad(format!(
            "the manifest of {version} does not name {url_name}@{version}"
        )));
    }
    // npm names the attachment after the full name (`@scope/name-1.0.0.tgz`); others after the
    // basename, as the tarball's file is named.
    let expected = tarball_filename(url_name, &version);
    if attachment != expected && attachment != format!("{url_name}-{version}.tgz") {
        return Err(bad(format!(
            "the tarball attachment is '{attachment:.100}', expected '{expected}'"
        )));
    }
    let dist = manifest.get("dist");
    let integrity = dist.and_then(|d| text(d, "integrity"));
    let sha512 = match integrity {
        Some(sri) => {
            Some(super::sha512_hex(sri).ok_or_else(|| bad(format!("dist.integrity '{sri:.100}' has no sha512")))?)
        }
        None => None,
    };
    let shasum = dist.and_then(|d| text(d, "shasum")).map(str::to_ascii_lowercase);
    if shasum
        .as_deref()
        .is_some_and(|s| s.len() != 40 || !s.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(bad("dist.shasum is not a sha1 in hex"));
    }
    let tags = tags_of(doc)?.unwrap_or_default();
    if let Some((tag, other)) = tags.iter().find(|(_, v)| **v != version) {
        return Err(bad(format!(
            "dist-tag '{tag}' names {other}, but this publish is {version}"
        )));
    }
    let manifest = stored_manifest(manifest)?;
    Ok(Publish {
        name: url_name.to_string(),
        version,
        manifest,
        sha512,
        shasum,
        tags,
    })
}

/// The manifest without what is rendered per request (`dist.tarball`) or private to CouchDB.
fn stored_manifest(mut manifest: Value) -> Result<Value, String> {
    let object = manifest
        .as_object_mut()
        .ok_or_else(|| bad("a version manifest must be an object"))?;
    object.retain(|k, _| !matches!(k.as_str(), "_rev" | "_attachments" | "_revisions"));
    if let Some(dist) = object.get_mut("dist").and_then(Value::as_object_mut) {
        dist.remove("tarball");
    }
    let size = serde_json::to_vec(&manifest).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_MANIFEST_BYTES {
        return Err(bad(format!(
            "the version manifest is larger than {MAX_MANIFEST_BYTES} bytes"
        )));
    }
    Ok(manifest)
}

/// The `dist` this server vouches for: the integrity and shasum of the stored tarball.
pub fn with_dist(mut manifest: Value, sha512_hex: &str, sha1_hex: &str) -> Value {
    use base64::Engine;
    let sri = hex::decode(sha512_hex)
        .map(|raw| format!("sha512-{}", base64::engine::general_purpose::STANDARD.encode(raw)))
        .unwrap_or_default();
    if let Some(object) = manifest.as_object_mut() {
        let dist = object.entry("dist").or_insert_with(|| Value::Object(Map::new()));
        if let Some(dist) = dist.as_object_mut() {
            dist.insert("integrity".into(), Value::String(sri));
            dist.insert("shasum".into(), Value::String(sha1_hex.to_string()));
        }
    }
    manifest
}

/// The tarball's `package.json` must describe the version published.
pub fn check_package_json(text: &str, name: &str, version: &str) -> Result<(), String> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| bad(format!("the tarball's package.json is not JSON: {e}")))?;
    let (found_name, found_version) = (text_field(&doc, "name"), text_field(&doc, "version"));
    if found_name != name || found_version != version {
        return Err(bad(format!(
            "the tarball's package.json is {found_name:.100}@{found_version:.64}, the publish is {name}@{version}"
        )));
    }
    Ok(())
}

fn text_field<'a>(doc: &'a Value, field: &str) -> &'a str {
    text(doc, field).unwrap_or_default()
}

/// A metadata-only `PUT` (npm deprecate; npm unpublish of one version, through `-rev`).
pub fn parse_update(url_name: &str, doc: &Value) -> Result<Update, String> {
    check_name(url_name)?;
    if let Some(named) = text(doc, "name")
        && named != url_name
    {
        return Err(bad(format!("the packument's name '{named:.100}' is not '{url_name}'")));
    }
    let versions = doc
        .get("versions")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("the packument has no 'versions' object"))?;
    let mut update = Update {
        tags: tags_of(doc)?,
        ..Update::default()
    };
    for (version, manifest) in versions {
        let deprecated = match manifest.get("deprecated") {
            None | Some(Value::Null) => None,
            Some(Value::String(message)) if message.len() <= 4096 => Some(message.clone()),
            Some(_) => {
                return Err(bad(format!(
                    "'deprecated' of {version:.64} must be a message up to 4096 bytes"
                )));
            }
        };
        update
            .versions
            .insert(version.clone(), deprecated.filter(|m| !m.is_empty()));
    }
    Ok(update)
}

/// Where a tarball path (`name/-/file.tgz`) belongs: the package's name.
pub fn tarball_package(path: &str) -> Option<&str> {
    let (name, file) = path.rsplit_once("/-/")?;
    (file.ends_with(".tgz") && !file.contains('/')).then_some(name)
}

#[cfg(test)]
#[path = "hosted_tests.rs"]
mod tests;
