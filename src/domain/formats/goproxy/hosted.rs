//! Hosted Go modules: the GOPROXY paths a local repository answers and what an uploaded
//! `.mod`, `.zip` or `.info` must say. Module paths and versions travel case-encoded (`!x` for a
//! capital X, so case-insensitive file systems keep them apart); a module path is stored decoded
//! and every path we store is the canonical encoding the go command asks for.
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// golang.org/x/mod/zip limits: the zip and its uncompressed content, and `go.mod`.
pub const MAX_ZIP_BYTES: u64 = 500 << 20;
pub const MAX_GO_MOD_BYTES: u64 = 16 << 20;
/// `.info` is a tiny JSON object.
pub const MAX_INFO_BYTES: u64 = 64 << 10;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct GoError(pub String);

fn invalid(message: impl Into<String>) -> GoError {
    GoError(message.into())
}

/// Decodes a case-encoded path element sequence (`!x` -> `X`); a capital letter or a `!` not
/// followed by a lower-case letter is not a valid encoding.
pub fn unescape(escaped: &str) -> Result<String, GoError> {
    let mut out = String::with_capacity(escaped.len());
    let mut bang = false;
    for c in escaped.chars() {
        if bang {
            if !c.is_ascii_lowercase() {
                return Err(invalid(format!("'{escaped:.200}' is not a valid case-encoded path")));
            }
            out.push(c.to_ascii_uppercase());
            bang = false;
        } else if c == '!' {
            bang = true;
        } else if c.is_ascii_uppercase() {
            return Err(invalid(format!(
                "'{escaped:.200}' has a capital letter: use the case-encoded form ('!{}')",
                c.to_ascii_lowercase()
            )));
        } else {
            out.push(c);
        }
    }
    if bang {
        return Err(invalid(format!("'{escaped:.200}' ends in '!'")));
    }
    Ok(out)
}

/// The case-encoding of a module path or version.
pub fn escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A module path: `/`-separated elements of letters, digits and `-._~`, none empty, `.` or
/// `..`, none starting or ending with a dot.
pub fn check_module_path(path: &str) -> Result<(), GoError> {
    let bad = || invalid(format!("'{path:.200}' is not a valid module path"));
    if path.is_empty() || path.len() > 1024 {
        return Err(bad());
    }
    for element in path.split('/') {
        let ok = !element.is_empty()
            && !element.starts_with('.')
            && !element.ends_with('.')
            && element
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'));
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

/// A canonical module version: `vMAJOR.MINOR.PATCH[-pre][+incompatible]`.
pub fn check_version(version: &str) -> Result<semver::Version, GoError> {
    let bad = || invalid(format!("'{version:.100}' is not a canonical module version (vX.Y.Z)"));
    let parsed = version
        .strip_prefix('v')
        .and_then(|v| semver::Version::parse(v).ok())
        .ok_or_else(bad)?;
    if !(parsed.build.is_empty() || parsed.build.as_str() == "incompatible") {
        return Err(bad());
    }
    Ok(parsed)
}

/// The kind of a version file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Info,
    Mod,
    Zip,
}

impl FileKind {
    pub fn ext(self) -> &'static str {
        match self {
            FileKind::Info => "info",
            FileKind::Mod => "mod",
            FileKind::Zip => "zip",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Info => "application/json",
            FileKind::Mod => "text/plain; charset=utf-8",
            FileKind::Zip => "application/zip",
        }
    }
}

/// What a GOPROXY path names (module paths and versions decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GoPath {
    List {
        module: String,
    },
    Latest {
        module: String,
    },
    File {
        module: String,
        version: String,
        kind: FileKind,
    },
}

impl GoPath {
    /// `None`: not a GOPROXY path; `Err`: one, badly encoded or invalid.
    pub fn parse(path: &str) -> Option<Result<GoPath, GoError>> {
        if let Some(module) = path.strip_suffix("/@v/list") {
            return Some(decode_module(module).map(|module| GoPath::List { module }));
        }
        if let Some(module) = path.strip_suffix("/@latest") {
            return Some(decode_module(module).map(|module| GoPath::Latest { module }));
        }
        let (module, file) = path.rsplit_once("/@v/")?;
        let (version, ext) = file.rsplit_once('.')?;
        let kind = match ext {
            "info" => FileKind::Info,
            "mod" => FileKind::Mod,
            "zip" => FileKind::Zip,
            _ => return None,
        };
        Some((|| {
            let module = decode_module(module)?;
            let version = unescape(version)?;
            check_version(&version)?;
            Ok(GoPath::File { module, version, kind })
        })())
    }
}

fn decode_module(escaped: &str) -> Result<String, GoError> {
    let module = unescape(escaped)?;
    check_module_path(&module)?;
    Ok(module)
}

/// The canonical stored path of a version file.
pub fn file_path(module: &str, version: &str, kind: FileKind) -> String {
    format!("{}/@v/{}.{}", escape(module), escape(version), kind.ext())
}

/// The record key of a version file.
pub fn record_key(module: &str, version: &str, kind: FileKind) -> String {
    format!("{module}@{version}.{}", kind.ext())
}

/// The module path a `go.mod` declares (its `module` directive), quotes removed.
pub fn module_directive(go_mod: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let line = line.split("//").next().unwrap_or_default().trim();
        let rest = line.strip_prefix("module")?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        Some(rest.trim().trim_matches('"').trim_matches('`').to_string())
    })
}

/// A `go.mod` must declare the module it is uploaded as (an `+incompatible` version predates
/// modules and may have none).
pub fn check_go_mod(text: &str, module: &str, version: &str) -> Result<(), GoError> {
    match module_directive(text) {
        Some(declared) if declared == module => Ok(()),
        Some(declared) => Err(invalid(format!(
            "go.mod declares module '{declared:.200}', not '{module:.200}'"
        ))),
        None if version.ends_with("+incompatible") => Ok(()),
        None => Err(invalid("go.mod has no module directive")),
    }
}

/// An uploaded `.info` must name its version.
pub fn check_info(text: &str, version: &str) -> Result<(), GoError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| invalid(format!(".info is not JSON: {e}")))?;
    match doc.get("Version").and_then(Value::as_str) {
        Some(v) if v == version => Ok(()),
        Some(v) => Err(invalid(format!(".info says Version '{v:.100}', the path '{version}'"))),
        None => Err(invalid(".info has no Version")),
    }
}

/// Checks one member name of a module zip (golang.org/x/mod/zip rules): under
/// `{module}@{version}/`, a clean relative path (no `..`, `.`, empty elements, backslashes or
/// control characters). Returns the path inside the module.
pub fn check_zip_member<'a>(name: &'a str, prefix: &str) -> Result<&'a str, GoError> {
    let inner = name
        .strip_prefix(prefix)
        .ok_or_else(|| invalid(format!("zip member '{name:.200}' is not under '{prefix}'")))?;
    let clean = !inner.is_empty()
        && !inner.contains('\\')
        && !inner.chars().any(char::is_control)
        && inner.split('/').all(|e| !e.is_empty() && e != "." && e != "..");
    if !clean {
        return Err(invalid(format!("zip member '{name:.200}' is not a clean file path")));
    }
    Ok(inner)
}

/// The `.info` of a version the uploader gave none for.
pub fn generated_info(version: &str, time: DateTime<Utc>) -> Vec<u8> {
    json!({"Version": version, "Time": time.to_rfc3339_opts(SecondsFormat::Secs, true)})
        .to_string()
        .into_bytes()
}

/// The versions `@v/list` lists, sorted; `@latest` is the highest release, else the highest
/// pre-release.
pub fn sort_versions(versions: &mut [String]) {
    versions.sort_by(|a, b| match (check_version(a), check_version(b)) {
        (Ok(x), Ok(y)) => x.cmp_precedence(&y).then_with(|| a.cmp(b)),
        _ => a.cmp(b),
    });
}

pub fn latest(versions: &[String]) -> Option<&String> {
    let parsed = |v: &String| check_version(v).ok();
    versions
        .iter()
        .filter(|v| parsed(v).is_some_and(|p| p.pre.is_empty()))
        .max_by(|a, b| cmp(a, b))
        .or_else(|| versions.iter().filter(|v| parsed(v).is_some()).max_by(|a, b| cmp(a, b)))
}

fn cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (check_version(a), check_version(b)) {
        (Ok(x), Ok(y)) => x.cmp_precedence(&y),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
#[path = "hosted_tests.rs"]
mod tests;
