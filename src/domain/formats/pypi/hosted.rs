//! Uploads to a hosted PyPI repository (twine's legacy API): the project name (PEP 503
//! normalised), the version (PEP 440) and the file name must agree with each other and with the
//! distribution's own core metadata (a wheel's `METADATA`, an sdist's `PKG-INFO`).
use regex::Regex;
use std::sync::OnceLock;

/// Largest core metadata file read from a distribution.
pub const MAX_METADATA_BYTES: u64 = 1024 * 1024;
/// Largest form field (other than the file) of an upload.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("{0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> UploadError {
    UploadError::Invalid(message.into())
}

fn regex(cell: &'static OnceLock<Option<Regex>>, pattern: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(pattern).ok()).as_ref()
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !out.is_empty() {
                out.push('-');
            }
            separator = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// A project name as PEP 508 allows it.
pub fn valid_name(name: &str) -> bool {
    static NAME: OnceLock<Option<Regex>> = OnceLock::new();
    name.len() <= 200
        && regex(&NAME, r"(?i)^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$").is_some_and(|r| r.is_match(name))
}

/// The canonical form of a PEP 440 version (`1.0.0RC1` → `1.0.0rc1`), `None` when invalid.
pub fn canonical_version(version: &str) -> Option<String> {
    static VERSION: OnceLock<Option<Regex>> = OnceLock::new();
    let pattern = r"(?ix)^v?
        (?:(?P<epoch>[0-9]+)!)?
        (?P<release>[0-9]+(?:\.[0-9]+)*)
        (?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
        (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?
        (?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
        (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?$";
    let caps = regex(&VERSION, pattern)?.captures(version.trim())?;
    let number = |name: &str| -> Option<u64> {
        match caps.name(name) {
            Some(m) => m.as_str().parse().ok(),
            None => Some(0),
        }
    };
    let mut out = String::new();
    let epoch = number("epoch")?;
    if epoch != 0 {
        out.push_str(&format!("{epoch}!"));
    }
    let release: Vec<String> = caps
        .name("release")?
        .as_str()
        .split('.')
        .map(|part| part.parse::<u64>().map(|n| n.to_string()))
        .collect::<Result<_, _>>()
        .ok()?;
    out.push_str(&release.join("."));
    if let Some(label) = caps.name("pre_l") {
        let label = match label.as_str().to_ascii_lowercase().as_str() {
            "alpha" | "a" => "a",
            "beta" | "b" => "b",
            _ => "rc",
        };
        out.push_str(&format!("{label}{}", number("pre_n")?));
    }
    if caps.name("post").is_some() {
        let n = if caps.name("post_n1").is_some() {
            number("post_n1")?
        } else {
            number("post_n2")?
        };
        out.push_str(&format!(".post{n}"));
    }
    if caps.name("dev").is_some() {
        out.push_str(&format!(".dev{}", number("dev_n")?));
    }
    if let Some(local) = caps.name("local") {
        out.push('+');
        out.push_str(&local.as_str().to_ascii_lowercase().replace(['-', '_'], "."));
    }
    Some(out)
}

/// Versions compare equal when they differ only in trailing `.0` release parts (PEP 440).
fn same_version(a: &str, b: &str) -> bool {
    fn key(v: &str) -> Option<String> {
        let canonical = canonical_version(v)?;
        let (head, tail) = match canonical.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '!')) {
            Some(i) => canonical.split_at(i),
            None => (canonical.as_str(), ""),
        };
        let mut head = head.to_string();
        while head.ends_with(".0") {
            head.truncate(head.len() - 2);
        }
        Some(format!("{head}{tail}"))
    }
    key(a).is_some() && key(a) == key(b)
}

/// What a file name says about its distribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistFile {
    pub kind: DistKind,
    /// The project name as spelled in the file name.
    pub name: String,
    pub version: String,
    /// Normalised name, canonical version and the rest of the name: two files with the same
    /// key are the same distribution, however their names are spelled.
    pub key: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DistKind {
    Wheel,
    /// `.tar.gz`
    SdistTar,
    /// `.zip`
    SdistZip,
}

impl DistKind {
    pub fn filetype(self) -> &'static str {
        match self {
            DistKind::Wheel => "bdist_wheel",
            DistKind::SdistTar | DistKind::SdistZip => "sdist",
        }
    }
}

/// Parses a distribution file name: a wheel (`{name}-{version}(-{build})?-{py}-{abi}-{platform}.whl`)
/// or an sdist (`{name}-{version}.tar.gz` or `.zip`).
pub fn parse_filename(filename: &str) -> Result<DistFile, UploadError> {
    if filename.is_empty()
        || filename.len() > 255
        || filename.starts_with('.')
        || filename.contains(['/', '\\', '\0'])
        || filename.chars().any(char::is_control)
    {
        return Err(invalid(format!("'{filename}' is not a valid distribution file name")));
    }
    if let Some(stem) = filename.strip_suffix(".whl") {
        let parts: Vec<&str> = stem.split('-').collect();
        if !(parts.len() == 5 || parts.len() == 6) || parts.iter().any(|p| p.is_empty()) {
            return Err(invalid(format!(
                "'{filename}': a wheel is named {{name}}-{{version}}(-{{build}})?-{{python}}-{{abi}}-{{platform}}.whl"
            )));
        }
        let (name, version) = (parts[0], parts[1]);
        let canonical = check_name_version(filename, name, version)?;
        let tags = parts[parts.len() - 3..].join("-").to_ascii_lowercase();
        let build = if parts.len() == 6 { parts[2] } else { "" };
        return Ok(DistFile {
            kind: DistKind::Wheel,
            name: name.to_string(),
            version: version.to_string(),
            key: format!("{}-{canonical}-{build}-{tags}.whl", normalize(name)),
        });
    }
    let (stem, kind, ext) = if let Some(stem) = filename.strip_suffix(".tar.gz") {
        (stem, DistKind::SdistTar, "tar.gz")
    } else if let Some(stem) = filename.strip_suffix(".zip") {
        (stem, DistKind::SdistZip, "zip")
    } else {
        return Err(invalid(format!(
            "'{filename}' is neither a wheel (.whl) nor an sdist (.tar.gz, .zip)"
        )));
    };
    let (name, version) = stem
        .rsplit_once('-')
        .ok_or_else(|| invalid(format!("'{filename}': an sdist is named {{name}}-{{version}}.{ext}")))?;
    let canonical = check_name_version(filename, name, version)?;
    Ok(DistFile {
        kind,
        name: name.to_string(),
        version: version.to_string(),
        // One sdist per release, whatever its archive format.
        key: format!("{}-{canonical}.sdist", normalize(name)),
    })
}

fn check_name_version(filename: &str, name: &str, version: &str) -> Result<String, UploadError> {
    if !valid_name(name) {
        return Err(invalid(format!("'{filename}': '{name}' is not a valid project name")));
    }
    canonical_version(version)
        .ok_or_else(|| invalid(format!("'{filename}': '{version}' is not a valid PEP 440 version")))
}

/// The fields of core metadata an index needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreMetadata {
    pub name: String,
    pub version: String,
    pub requires_python: Option<String>,
}

/// Parses core metadata (RFC 822 style headers up to the first blank line).
pub fn parse_core_metadata(text: &str) -> Result<CoreMetadata, UploadError> {
    let mut meta = CoreMetadata::default();
    let mut seen_version = false;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(invalid(format!("core metadata line is not 'Key: value': {line:.80}")));
        };
        let value = value.trim().to_string();
        match key.trim().to_ascii_lowercase().as_str() {
            "name" => meta.name = value,
            "version" => {
                meta.version = value;
                seen_version = true;
            }
            "requires-python" if !value.is_empty() => meta.requires_python = Some(value),
            _ => {}
        }
    }
    if meta.name.is_empty() || !seen_version {
        return Err(invalid("core metadata lacks Name or Version"));
    }
    Ok(meta)
}

/// The form fields of a legacy upload (`:action=file_upload`) that we check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UploadForm {
    pub action: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    pub filetype: Option<String>,
    pub sha256_digest: Option<String>,
    pub requires_python: Option<String>,
}

impl UploadForm {
    /// Records one text field of the form.
    pub fn set(&mut self, field: &str, value: String) {
        let slot = match field {
            ":action" => &mut self.action,
            "name" => &mut self.name,
            "version" => &mut self.version,
            "filetype" => &mut self.filetype,
            "sha256_digest" => &mut self.sha256_digest,
            "requires_python" => &mut self.requires_python,
            _ => return,
        };
        *slot = Some(value);
    }

    /// Checks what can be checked before the file arrives: the action, the name and version
    /// fields, and that the file name agrees with them.
    pub fn check(&self, filename: &str) -> Result<DistFile, UploadError> {
        match self.action.as_deref() {
            Some("file_upload") => {}
            Some(other) => return Err(invalid(format!("unsupported :action '{other}' (only file_upload)"))),
            None => return Err(invalid("missing form field ':action' (file_upload)")),
        }
        let name = self
            .name
            .as_deref()
            .ok_or_else(|| invalid("missing form field 'name'"))?;
        let version = self
            .version
            .as_deref()
            .ok_or_else(|| invalid("missing form field 'version'"))?;
        if !valid_name(name) {
            return Err(invalid(format!("'{name}' is not a valid project name")));
        }
        if canonical_version(version).is_none() {
            return Err(invalid(format!("'{version}' is not a valid PEP 440 version")));
        }
        let dist = parse_filename(filename)?;
        if normalize(&dist.name) != normalize(name) {
            return Err(invalid(format!(
                "file name '{filename}' does not belong to project '{name}'"
            )));
        }
        if !same_version(&dist.version, version) {
            return Err(invalid(format!(
                "file name '{filename}' does not match version '{version}'"
            )));
        }
        if let Some(filetype) = &self.filetype
            && filetype != dist.kind.filetype()
        {
            return Err(invalid(format!(
                "filetype '{filetype}' does not match '{filename}' ({})",
                dist.kind.filetype()
            )));
        }
        Ok(dist)
    }
}

/// A distribution whose core metadata agrees with its file name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedDist {
    pub name: String,
    pub version: String,
    pub requires_python: Option<String>,
}

/// Checks the distribution's own metadata against its file name.
pub fn check_metadata(dist: &DistFile, metadata: &CoreMetadata) -> Result<CheckedDist, UploadError> {
    if normalize(&metadata.name) != normalize(&dist.name) {
        return Err(invalid(format!(
            "the distribution's metadata names project '{}', its file name '{}'",
            metadata.name, dist.name
        )));
    }
    if !same_version(&metadata.version, &dist.version) {
        return Err(invalid(format!(
            "the distribution's metadata says version '{}', its file name '{}'",
            metadata.version, dist.version
        )));
    }
    Ok(CheckedDist {
        name: normalize(&metadata.name),
        version: canonical_version(&metadata.version).unwrap_or_else(|| metadata.version.clone()),
        requires_python: metadata.requires_python.clone(),
    })
}

/// Where the core metadata file sits in an archive, given its member names: a wheel's
/// `{name}-{version}.dist-info/METADATA`, an sdist's `{top}/PKG-INFO`.
pub fn metadata_member(kind: DistKind, member: &str) -> bool {
    let parts: Vec<&str> = member.split('/').collect();
    match kind {
        DistKind::Wheel => parts.len() == 2 && parts[0].ends_with(".dist-info") && parts[1] == "METADATA",
        DistKind::SdistTar | DistKind::SdistZip => parts.len() == 2 && parts[1] == "PKG-INFO",
    }
}

/// A member name that could escape the directory it is unpacked in.
pub fn unsafe_member(member: &str) -> bool {
    member.starts_with('/')
        || member.contains('\\')
        || member.contains('\0')
        || member.split('/').any(|part| part == "..")
        || member.get(1..2) == Some(":")
}

#[cfg(test)]
#[path = "hosted_tests.rs"]
mod tests;
