//! Hosted Puppet modules: what an uploaded release archive must say about itself. A release's
//! identity is the `name` ("owner-module" or "owner/module") and `version` of its `metadata.json`
//! (read from the archive, never trusted from the request); the version must be SemVer, as the
//! Forge requires, every member must sit under the `<owner>-<module>-<version>/` directory that
//! `puppet module build` writes, and a file name given with the upload must be
//! `<owner>-<module>-<version>.tar.gz`.
use serde_json::Value;

/// The largest `metadata.json` accepted (the archive reader stops there).
pub const MAX_METADATA_BYTES: u64 = 1024 * 1024;

/// Longest owner or module name accepted.
const MAX_PART_LEN: usize = 64;

/// Most dependencies a release may declare.
const MAX_DEPENDENCIES: usize = 256;

/// Where releases are stored in their repository (the Forge's own `file_uri` layout).
pub const FILES_DIR: &str = "v3/files/";

/// The identity and metadata of an uploaded release.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleMeta {
    pub owner: String,
    /// The short module name (`demo` of `aa-demo`).
    pub name: String,
    pub version: String,
    /// `metadata.json` as uploaded, served as the release's `metadata`.
    pub metadata: Value,
}

impl ModuleMeta {
    /// `owner-module`, the module's slug.
    pub fn slug(&self) -> String {
        format!("{}-{}", self.owner, self.name)
    }

    /// `owner-module-version`, the release's slug and its archive's top directory.
    pub fn release_slug(&self) -> String {
        release_slug(&self.slug(), &self.version)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ModuleError(pub String);

fn invalid(message: impl Into<String>) -> ModuleError {
    ModuleError(message.into())
}

/// `owner-module` or `owner/module` as `(owner, module)`: the owner alphanumeric, the module a
/// lowercase letter then lowercase letters, digits and `_` (the Forge's rules).
pub fn parse_slug(slug: &str) -> Option<(&str, &str)> {
    let at = slug.find(['-', '/'])?;
    let (owner, module) = (&slug[..at], &slug[at + 1..]);
    let owner_ok = !owner.is_empty() && owner.len() <= MAX_PART_LEN && owner.chars().all(|c| c.is_ascii_alphanumeric());
    let mut chars = module.chars();
    let module_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && module.len() <= MAX_PART_LEN
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (owner_ok && module_ok).then_some((owner, module))
}

/// A module slug in its canonical `owner-module` spelling.
pub fn canonical_slug(slug: &str) -> Option<String> {
    parse_slug(slug).map(|(owner, module)| format!("{owner}-{module}"))
}

/// A version requirement as puppet writes them (`>= 1.0.0 < 2.0.0`, `1.x`, `^1.2`, `~> 1.0`).
fn valid_requirement(requirement: &str) -> bool {
    !requirement.trim().is_empty()
        && requirement.len() <= 200
        && requirement
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " .<>=~^*|-+".contains(c))
}

/// Parses and validates `metadata.json`.
pub fn parse_metadata(text: &str) -> Result<ModuleMeta, ModuleError> {
    let metadata: Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("metadata.json is not valid JSON: {e}")))?;
    if !metadata.is_object() {
        return Err(invalid("metadata.json is not an object"));
    }
    let name = match metadata.get("name") {
        Some(Value::String(name)) => name,
        _ => return Err(invalid("metadata.json lacks name")),
    };
    let (owner, module) = parse_slug(name).ok_or_else(|| {
        invalid(format!(
            "module name '{name:.80}' is not valid (owner-module: owner alphanumeric, module [a-z][a-z0-9_]*)"
        ))
    })?;
    let version = match metadata.get("version") {
        Some(Value::String(version)) => version,
        _ => return Err(invalid("metadata.json lacks version")),
    };
    if semver::Version::parse(version).is_err() {
        return Err(invalid(format!("module version '{version:.80}' is not valid SemVer")));
    }
    check_dependencies(metadata.get("dependencies"))?;
    Ok(ModuleMeta {
        owner: owner.to_string(),
        name: module.to_string(),
        version: version.clone(),
        metadata: metadata.clone(),
    })
}

/// `dependencies`, when present: a list of `{name, version_requirement}` puppet can resolve.
fn check_dependencies(dependencies: Option<&Value>) -> Result<(), ModuleError> {
    let list = match dependencies {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(invalid("metadata.json dependencies is not a list")),
    };
    if list.len() > MAX_DEPENDENCIES {
        return Err(invalid(format!("more than {MAX_DEPENDENCIES} dependencies")));
    }
    for dependency in list {
        let name = dependency
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("a dependency lacks name"))?;
        if parse_slug(name).is_none() {
            return Err(invalid(format!("dependency name '{name:.80}' is not owner-module")));
        }
        match dependency.get("version_requirement") {
            None | Some(Value::Null) => {}
            Some(Value::String(r)) if valid_requirement(r) => {}
            Some(other) => {
                return Err(invalid(format!(
                    "dependency {name} has an invalid version_requirement {:.80}",
                    other.to_string()
                )));
            }
        }
    }
    Ok(())
}

/// `owner-module-version`.
pub fn release_slug(module: &str, version: &str) -> String {
    format!("{module}-{version}")
}

/// The archive file name of a release.
pub fn release_filename(module: &str, version: &str) -> String {
    format!("{}.tar.gz", release_slug(module, version))
}

/// Where a release is stored in its repository, and its `file_uri` (with a leading `/`).
pub fn release_path(module: &str, version: &str) -> String {
    format!("{FILES_DIR}{}", release_filename(module, version))
}

/// The record key of a release: unique per module and version.
pub fn record_key(module: &str, version: &str) -> String {
    format!("{module}/{version}")
}

/// A release slug (`owner-module-version`) as `(module slug, version)`.
pub fn split_release_slug(slug: &str) -> Option<(String, &str)> {
    let first = slug.find('-')?;
    let second = first + 1 + slug[first + 1..].find('-')?;
    let module = canonical_slug(&slug[..second])?;
    let version = &slug[second + 1..];
    semver::Version::parse(version).is_ok().then_some((module, version))
}

/// Checks the file name of an upload before its body is read: a release archive.
pub fn check_upload_name(filename: &str) -> Result<(), ModuleError> {
    match filename.strip_suffix(".tar.gz") {
        Some(stem) if split_release_slug(stem).is_some() => Ok(()),
        _ => Err(invalid(format!(
            "'{filename:.200}' is not a module release archive (<owner>-<module>-<version>.tar.gz)"
        ))),
    }
}

/// Checks that the archive's top directory, and the file name given with an upload, are the ones
/// its `metadata.json` implies.
pub fn check_names(top: &str, filename: Option<&str>, meta: &ModuleMeta) -> Result<(), ModuleError> {
    let expected = meta.release_slug();
    if top != expected {
        return Err(invalid(format!(
            "the archive's directory '{top:.200}' does not match its metadata.json ({expected})"
        )));
    }
    match filename {
        Some(name) if name != format!("{expected}.tar.gz") => Err(invalid(format!(
            "file name '{name:.200}' does not match its metadata.json ({expected}.tar.gz)"
        ))),
        _ => Ok(()),
    }
}

/// An archive member's top directory, or a refusal when it could unpack outside it (`..`,
/// absolute, drive letters, backslashes, NUL).
pub fn member_top(member: &str) -> Result<&str, ModuleError> {
    let member = member.strip_prefix("./").unwrap_or(member);
    let escapes = member.starts_with('/')
        || member.contains('\\')
        || member.contains('\0')
        || member.get(1..2) == Some(":")
        || member.split('/').any(|part| part == "..");
    if escapes {
        return Err(invalid(format!(
            "member '{member:.200}' would unpack outside its directory"
        )));
    }
    let top = member.split('/').next().unwrap_or_default();
    if top.is_empty() || top == "." {
        return Err(invalid(format!(
            "member '{member:.200}' is not under the release's directory"
        )));
    }
    Ok(top)
}

/// Whether a member is the release's own `metadata.json` (`<top>/metadata.json`).
pub fn metadata_member(member: &str) -> bool {
    let member = member.strip_prefix("./").unwrap_or(member);
    matches!(member.split_once('/'), Some((top, "metadata.json")) if !top.is_empty())
}

/// Whether a link target inside the archive stays inside the release's directory: relative, no
/// `..` that climbs above the link's own directory.
pub fn safe_link(member: &str, target: &str) -> bool {
    if target.starts_with('/') || target.contains('\\') || target.contains('\0') || target.get(1..2) == Some(":") {
        return false;
    }
    let member = member.strip_prefix("./").unwrap_or(member);
    // Depth below the top directory of the link's parent directory.
    let mut depth = member.split('/').filter(|p| !p.is_empty() && *p != ".").count() as i64 - 2;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => depth -= 1,
            _ => depth += 1,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
#[path = "hosted_tests.rs"]
mod tests;
