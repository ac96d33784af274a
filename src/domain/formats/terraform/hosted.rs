//! Local terraform repositories as a provider registry (providers.v1): what an uploaded archive
//! must be called, what it must hold, and the registry documents built from the stored archives.
//! The namespace of a provider is the repository's name; the archives live at
//! `{type}/terraform-provider-{type}_{version}_{os}_{arch}.zip` inside it.
use std::cmp::Ordering;
use std::collections::BTreeMap;

pub use super::zip_check::ArchiveCheck;

const PREFIX: &str = "terraform-provider-";

/// Operating systems and architectures Terraform builds providers for (Go's port names).
const OS: &[&str] = &[
    "darwin",
    "dragonfly",
    "freebsd",
    "illumos",
    "linux",
    "netbsd",
    "openbsd",
    "solaris",
    "windows",
];
const ARCH: &[&str] = &[
    "386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le", "mipsle", "ppc64", "ppc64le", "riscv64",
    "s390x",
];

/// A semantic version as Terraform orders them (`MAJOR.MINOR.PATCH[-PRERELEASE]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    text: String,
    core: (u64, u64, u64),
    pre: Option<String>,
}

impl Version {
    pub fn parse(text: &str) -> Result<Version, String> {
        let bad = || format!("'{text}' is not a version (MAJOR.MINOR.PATCH[-PRERELEASE])");
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (text, None),
        };
        let numbers: Vec<&str> = core.split('.').collect();
        let [major, minor, patch] = numbers.as_slice() else {
            return Err(bad());
        };
        let number = |s: &str| {
            let leading_zero = s.len() > 1 && s.starts_with('0');
            if s.is_empty() || leading_zero || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse::<u64>().map_err(|_| bad())
        };
        let core = (number(major)?, number(minor)?, number(patch)?);
        if let Some(pre) = pre {
            let ok = pre
                .split('.')
                .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
            if !ok {
                return Err(bad());
            }
        }
        Ok(Version {
            text: text.to_string(),
            core,
            pre: pre.map(str::to_string),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Ord for Version {
    /// Semantic version precedence: a pre-release sorts before its release; pre-release
    /// identifiers compare numerically when both are numbers, else as text.
    fn cmp(&self, other: &Self) -> Ordering {
        self.core.cmp(&other.core).then_with(|| match (&self.pre, &other.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => {
                let ids = |s: &'_ str| {
                    s.split('.')
                        .map(|id| (id.parse::<u64>().ok(), id.to_string()))
                        .collect::<Vec<_>>()
                };
                let (a, b) = (ids(a), ids(b));
                for ((an, at), (bn, bt)) in a.iter().zip(b.iter()) {
                    let order = match (an, bn) {
                        (Some(x), Some(y)) => x.cmp(y),
                        (Some(_), None) => Ordering::Less,
                        (None, Some(_)) => Ordering::Greater,
                        (None, None) => at.cmp(bt),
                    };
                    if order != Ordering::Equal {
                        return order;
                    }
                }
                a.len().cmp(&b.len())
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A provider type (the last part of a source address): lowercase letters, digits and inner
/// dashes, as Terraform accepts them.
pub fn valid_type(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A repository name that Terraform accepts as a namespace (no dots or underscores).
pub fn valid_namespace(name: &str) -> bool {
    valid_type(name)
}

/// One provider archive of a local terraform repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderArchive {
    pub provider: String,
    pub version: Version,
    pub os: String,
    pub arch: String,
}

impl ProviderArchive {
    /// Parses a repository path `{type}/terraform-provider-{type}_{version}_{os}_{arch}.zip`.
    pub fn parse_path(path: &str) -> Result<ProviderArchive, String> {
        let expected = "expected {type}/terraform-provider-{type}_{version}_{os}_{arch}.zip";
        let Some((provider, file)) = path.split_once('/') else {
            return Err(format!("'{path}': {expected}"));
        };
        if !valid_type(provider) {
            return Err(format!(
                "'{provider}' is not a provider type (lowercase letters, digits and dashes)"
            ));
        }
        let stem = file
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_suffix(".zip"))
            .ok_or_else(|| format!("'{file}': {expected}"))?;
        let parts: Vec<&str> = stem.split('_').collect();
        let [name, version, os, arch] = parts.as_slice() else {
            return Err(format!("'{file}': {expected}"));
        };
        if *name != provider {
            return Err(format!(
                "'{file}' is a '{name}' provider but is uploaded under '{provider}/'"
            ));
        }
        let version = Version::parse(version)?;
        if !OS.contains(os) {
            return Err(format!("'{os}' is not a known operating system ({})", OS.join(", ")));
        }
        if !ARCH.contains(arch) {
            return Err(format!("'{arch}' is not a known architecture ({})", ARCH.join(", ")));
        }
        Ok(ProviderArchive {
            provider: provider.to_string(),
            version,
            os: os.to_string(),
            arch: arch.to_string(),
        })
    }

    pub fn filename(&self) -> String {
        format!(
            "{PREFIX}{}_{}_{}_{}.zip",
            self.provider,
            self.version.as_str(),
            self.os,
            self.arch
        )
    }

    /// The repository path of the archive.
    pub fn path(&self) -> String {
        format!("{}/{}", self.provider, self.filename())
    }

    /// What the zip must hold: the provider's executable, named as Terraform looks for it.
    pub fn check(&self) -> ArchiveCheck {
        ArchiveCheck::new(format!("{PREFIX}{}", self.provider))
    }
}

/// A stored archive and its sha256 (hex).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredArchive {
    pub archive: ProviderArchive,
    pub sha256: String,
}

/// The archives of one provider version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderVersion {
    pub version: Version,
    /// Ordered by `(os, arch)`.
    pub archives: Vec<StoredArchive>,
}

impl ProviderVersion {
    pub fn archive(&self, os: &str, arch: &str) -> Option<&StoredArchive> {
        self.archives
            .iter()
            .find(|a| a.archive.os == os && a.archive.arch == arch)
    }

    /// The `SHA256SUMS` file of this version: `<hex>  <filename>` per archive, by filename.
    pub fn shasums(&self) -> String {
        let mut lines: Vec<(String, &str)> = self
            .archives
            .iter()
            .map(|a| (a.archive.filename(), a.sha256.as_str()))
            .collect();
        lines.sort();
        lines.iter().map(|(file, sha)| format!("{sha}  {file}\n")).collect()
    }
}

/// Groups the archives of one provider by version, newest first.
pub fn group_versions(archives: Vec<StoredArchive>) -> Vec<ProviderVersion> {
    let mut by_version: BTreeMap<String, ProviderVersion> = BTreeMap::new();
    for stored in archives {
        let entry = by_version
            .entry(stored.archive.version.as_str().to_string())
            .or_insert_with(|| ProviderVersion {
                version: stored.archive.version.clone(),
                archives: Vec::new(),
            });
        entry.archives.push(stored);
    }
    let mut versions: Vec<ProviderVersion> = by_version.into_values().collect();
    for v in &mut versions {
        v.archives
            .sort_by(|a, b| (&a.archive.os, &a.archive.arch).cmp(&(&b.archive.os, &b.archive.arch)));
    }
    versions.sort_by(|a, b| b.version.cmp(&a.version));
    versions
}

/// The `versions` document of the provider registry protocol.
pub fn versions_document(versions: &[ProviderVersion], protocols: &[String]) -> serde_json::Value {
    let list: Vec<serde_json::Value> = versions
        .iter()
        .map(|v| {
            let platforms: Vec<serde_json::Value> = v
                .archives
                .iter()
                .map(|a| serde_json::json!({"os": a.archive.os, "arch": a.archive.arch}))
                .collect();
            serde_json::json!({
                "version": v.version.as_str(),
                "protocols": protocols,
                "platforms": platforms,
            })
        })
        .collect();
    serde_json::json!({ "versions": list })
}

/// The public key Terraform verifies `SHA256SUMS.sig` with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpgPublicKey {
    /// The primary key's 16-hex-digit key ID, upper case.
    pub key_id: String,
    pub ascii_armor: String,
}

/// Where the files of one archive are served, absolute.
pub struct DownloadLinks {
    pub download_url: String,
    pub shasums_url: String,
    pub shasums_signature_url: String,
}

/// The download document of one version and platform.
pub fn download_document(
    stored: &StoredArchive,
    protocols: &[String],
    links: &DownloadLinks,
    key: &GpgPublicKey,
) -> serde_json::Value {
    serde_json::json!({
        "protocols": protocols,
        "os": stored.archive.os,
        "arch": stored.archive.arch,
        "filename": stored.archive.filename(),
        "download_url": links.download_url,
        "shasums_url": links.shasums_url,
        "shasums_signature_url": links.shasums_signature_url,
        "shasum": stored.sha256,
        "signing_keys": {
            "gpg_public_keys": [{
                "key_id": key.key_id,
                "ascii_armor": key.ascii_armor,
                "trust_signature": "",
                "source": "ArtifactAPI",
                "source_url": serde_json::Value::Null,
            }]
        }
    })
}

/// Parses `5.0,6.0` (the `terraform_protocols` setting): each `MAJOR.MINOR`.
pub fn parse_protocols(raw: &str) -> Result<Vec<String>, String> {
    let list: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if list.is_empty() {
        return Err("name at least one protocol version, such as 5.0".into());
    }
    for p in &list {
        let ok = p.split_once('.').is_some_and(|(a, b)| {
            [a, b]
                .iter()
                .all(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
        });
        if !ok {
            return Err(format!("'{p}' is not a protocol version (MAJOR.MINOR)"));
        }
    }
    Ok(list)
}

/// A virtual repository's versions: the union of its members', where a version several members
/// hold comes whole from the first of them. Each version names the member index it came from.
pub fn merge_versions(members: Vec<Vec<ProviderVersion>>) -> Vec<(usize, ProviderVersion)> {
    let mut merged: Vec<(usize, ProviderVersion)> = Vec::new();
    for (index, versions) in members.into_iter().enumerate() {
        for version in versions {
            if !merged
                .iter()
                .any(|(_, v)| v.version.as_str() == version.version.as_str())
            {
                merged.push((index, version));
            }
        }
    }
    merged.sort_by(|(_, a), (_, b)| b.version.cmp(&a.version));
    merged
}

/// Also used by the upload tests of `app::hosted` (their `zip` builder).
#[cfg(test)]
pub(crate) mod tests;
