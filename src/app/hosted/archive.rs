//! Reading a distribution's core metadata, or an npm tarball's package.json, out of its archive
//! (a stored upload's temp file, before it is committed): member names are checked for path tricks, the metadata file is read
//! up to a bound, and a corrupt archive is a refusal, never a panic. Blocking: run it on a
//! blocking thread (the content store's inspector does).
use std::io::Read;
use std::path::Path;

use crate::domain::formats::pypi::hosted::{DistKind, MAX_METADATA_BYTES, metadata_member, unsafe_member};

/// The core metadata file of the distribution at `file`, as text.
pub fn core_metadata(file: &Path, kind: DistKind) -> Result<String, String> {
    let what = match kind {
        DistKind::Wheel => "wheel",
        DistKind::SdistTar | DistKind::SdistZip => "sdist",
    };
    let found = match kind {
        DistKind::Wheel | DistKind::SdistZip => from_zip(file, kind),
        DistKind::SdistTar => from_tar_gz(file),
    }
    .map_err(|e| format!("not a valid {what}: {e}"))?;
    found.ok_or_else(|| match kind {
        DistKind::Wheel => "not a valid wheel: no {name}-{version}.dist-info/METADATA".to_string(),
        DistKind::SdistTar | DistKind::SdistZip => "not a valid sdist: no {name}-{version}/PKG-INFO".to_string(),
    })
}

fn read_bounded(reader: impl Read) -> Result<String, String> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_METADATA_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the metadata file: {e}"))?;
    if bytes.len() as u64 > MAX_METADATA_BYTES {
        return Err(format!("its metadata file is larger than {MAX_METADATA_BYTES} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| "its metadata file is not UTF-8".to_string())
}

fn check_member(name: &str) -> Result<(), String> {
    if unsafe_member(name) {
        return Err(format!("member '{name:.200}' would unpack outside its directory"));
    }
    Ok(())
}

fn from_zip(file: &Path, kind: DistKind) -> Result<Option<String>, String> {
    let handle = std::fs::File::open(file).map_err(|e| format!("cannot open: {e}"))?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(handle)).map_err(|e| e.to_string())?;
    let mut found = None;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).map_err(|e| e.to_string())?;
        let name = entry.name().to_string();
        check_member(&name)?;
        if metadata_member(kind, &name) {
            if found.is_some() {
                return Err(format!("more than one metadata file ({name})"));
            }
            found = Some(read_bounded(entry)?);
        }
    }
    Ok(found)
}

fn from_tar_gz(file: &Path) -> Result<Option<String>, String> {
    let handle = std::fs::File::open(file).map_err(|e| format!("cannot open: {e}"))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(handle));
    let mut archive = tar::Archive::new(gz);
    let mut found = None;
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let raw = entry.path_bytes();
        let name = std::str::from_utf8(&raw)
            .map_err(|_| "a member name is not UTF-8".to_string())?
            .to_string();
        check_member(&name)?;
        let name = name.strip_prefix("./").unwrap_or(&name).to_string();
        if metadata_member(DistKind::SdistTar, &name) && found.is_none() {
            found = Some(read_bounded(entry)?);
        }
    }
    Ok(found)
}

/// The `package.json` of the npm tarball at `file` (`<top>/package.json`, npm packs under
/// `package/`), as text; every member name is checked on the way.
pub fn npm_package_json(file: &Path) -> Result<String, String> {
    let handle = std::fs::File::open(file).map_err(|e| format!("cannot open: {e}"))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(handle));
    let mut archive = tar::Archive::new(gz);
    let mut found = None;
    let entries = archive.entries().map_err(|e| format!("not a valid npm tarball: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("not a valid npm tarball: {e}"))?;
        let raw = entry.path_bytes();
        let name = std::str::from_utf8(&raw)
            .map_err(|_| "not a valid npm tarball: a member name is not UTF-8".to_string())?
            .to_string();
        check_member(&name)?;
        let name = name.strip_prefix("./").unwrap_or(&name);
        let top_level_manifest = matches!(name.split_once('/'), Some((_, "package.json")));
        if top_level_manifest && found.is_none() {
            found = Some(read_bounded(entry)?);
        }
    }
    found.ok_or_else(|| "not a valid npm tarball: no package/package.json".to_string())
}

/// The top `Chart.yaml` of the Helm chart archive at `file` (`<chart>/Chart.yaml`), as text,
/// read up to `MAX_CHART_YAML_BYTES`; every member name is checked and the whole archive read,
/// so a truncated one is refused.
pub fn helm_chart_yaml(file: &Path) -> Result<String, String> {
    use crate::domain::formats::helm::hosted::{MAX_CHART_YAML_BYTES, chart_yaml_member};
    let handle = std::fs::File::open(file).map_err(|e| format!("cannot open: {e}"))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(handle));
    let mut archive = tar::Archive::new(gz);
    let mut found = None;
    let entries = archive
        .entries()
        .map_err(|e| format!("not a valid chart archive: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("not a valid chart archive: {e}"))?;
        let raw = entry.path_bytes();
        let name = std::str::from_utf8(&raw)
            .map_err(|_| "not a valid chart archive: a member name is not UTF-8".to_string())?
            .to_string();
        check_member(&name)?;
        if chart_yaml_member(&name) {
            if found.is_some() {
                return Err(format!(
                    "not a valid chart archive: more than one Chart.yaml ({name:.200})"
                ));
            }
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_CHART_YAML_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("not a valid chart archive: {e}"))?;
            if bytes.len() as u64 > MAX_CHART_YAML_BYTES {
                return Err(format!("Chart.yaml is larger than {MAX_CHART_YAML_BYTES} bytes"));
            }
            found = Some(String::from_utf8(bytes).map_err(|_| "Chart.yaml is not UTF-8".to_string())?);
        }
    }
    found.ok_or_else(|| "not a valid chart archive: no <chart>/Chart.yaml".to_string())
}

/// Checks the Go module zip at `file` against golang.org/x/mod/zip's rules: every file under
/// `{module}@{version}/` with a clean path, no two paths equal ignoring case, the zip and its
/// uncompressed content within `MAX_ZIP_BYTES` (counted while decompressing, so lying headers do
/// not help), and a root `go.mod`, when there is one, declaring the module.
pub fn go_module_zip(file: &Path, module: &str, version: &str) -> Result<(), String> {
    use crate::domain::formats::goproxy::hosted::{MAX_GO_MOD_BYTES, MAX_ZIP_BYTES, check_go_mod, check_zip_member};
    let handle = std::fs::File::open(file).map_err(|e| format!("cannot open: {e}"))?;
    let size = handle.metadata().map_err(|e| format!("cannot open: {e}"))?.len();
    if size > MAX_ZIP_BYTES {
        return Err(format!("the module zip is larger than {MAX_ZIP_BYTES} bytes"));
    }
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(handle)).map_err(|e| format!("not a valid module zip: {e}"))?;
    let prefix = format!("{module}@{version}/");
    let mut seen = std::collections::HashSet::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("not a valid module zip: {e}"))?;
        let name = entry.name().to_string();
        check_member(&name)?;
        if name.ends_with('/') && name.starts_with(&prefix) {
            continue;
        }
        let inner = check_zip_member(&name, &prefix).map_err(|e| e.0)?.to_string();
        if !seen.insert(inner.to_lowercase()) {
            return Err(format!(
                "the module zip has two files named '{inner:.200}' (ignoring case)"
            ));
        }
        if inner == "go.mod" {
            let mut text = Vec::new();
            (&mut entry)
                .take(MAX_GO_MOD_BYTES + 1)
                .read_to_end(&mut text)
                .map_err(|e| format!("not a valid module zip: {e}"))?;
            if text.len() as u64 > MAX_GO_MOD_BYTES {
                return Err(format!("go.mod is larger than {MAX_GO_MOD_BYTES} bytes"));
            }
            total += text.len() as u64;
            let text = String::from_utf8(text).map_err(|_| "go.mod is not UTF-8".to_string())?;
            check_go_mod(&text, module, version).map_err(|e| format!("the zip's {e}"))?;
            continue;
        }
        let left = MAX_ZIP_BYTES.saturating_sub(total);
        let read = std::io::copy(&mut (&mut entry).take(left + 1), &mut std::io::sink())
            .map_err(|e| format!("not a valid module zip: {e}"))?;
        total += read;
        if total > MAX_ZIP_BYTES {
            return Err(format!(
                "the module's files are larger than {MAX_ZIP_BYTES} bytes uncompressed"
            ));
        }
    }
    Ok(())
}

/// A small text file (`go.mod`, `.info`) at `file`, up to `limit` bytes.
pub fn small_text(file: &Path, limit: u64, what: &str) -> Result<String, String> {
    let handle = std::fs::File::open(file).map_err(|e| format!("cannot open: {e}"))?;
    let mut bytes = Vec::new();
    handle
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {what}: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!("{what} is larger than {limit} bytes"));
    }
    String::from_utf8(bytes).map_err(|_| format!("{what} is not UTF-8"))
}

/// What a Puppet module release archive says about itself.
pub struct ModuleArchive {
    /// `<top>/metadata.json`, as text.
    pub metadata: String,
    /// The one directory every member sits under.
    pub top: String,
    /// md5 hex of the whole file (the Forge's `file_md5`), hashed on the same read.
    pub md5: String,
}

/// A reader that hashes (md5) what passes through it.
struct Md5Reader<R> {
    inner: R,
    hasher: md5::Md5,
}

impl<R: Read> Read for Md5Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use md5::Digest as _;
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads the Puppet module archive at `file` whole (so a truncated one is refused): every
/// member under one top directory, no name or link that escapes it, only files, directories and
/// links, and exactly one `<top>/metadata.json` up to `MAX_METADATA_BYTES`.
pub fn puppet_module(file: &Path) -> Result<ModuleArchive, String> {
    use crate::domain::formats::puppet::hosted::{MAX_METADATA_BYTES, member_top, metadata_member, safe_link};
    use md5::Digest as _;
    use tar::EntryType;
    let bad = |e: std::io::Error| format!("not a valid module archive: {e}");
    let handle = std::fs::File::open(file).map_err(|e| format!("cannot open: {e}"))?;
    let hashed = Md5Reader {
        inner: handle,
        hasher: md5::Md5::new(),
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(hashed)));
    let mut top: Option<String> = None;
    let mut metadata = None;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let kind = entry.header().entry_type();
        if kind == EntryType::XGlobalHeader {
            continue;
        }
        let raw = entry.path_bytes();
        let name = std::str::from_utf8(&raw)
            .map_err(|_| "not a valid module archive: a member name is not UTF-8".to_string())?
            .to_string();
        let this_top = member_top(&name).map_err(|e| e.0)?.to_string();
        match &top {
            None => top = Some(this_top.clone()),
            Some(t) if *t != this_top => {
                return Err(format!(
                    "not a valid module archive: members under both '{t:.100}' and '{this_top:.100}'"
                ));
            }
            Some(_) => {}
        }
        let target = entry
            .link_name_bytes()
            .map(|t| String::from_utf8_lossy(&t).to_string())
            .unwrap_or_default();
        let allowed = match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::Directory => true,
            EntryType::Symlink => safe_link(&name, &target),
            EntryType::Link => member_top(&target).is_ok_and(|t| t == this_top),
            _ => false,
        };
        if !allowed {
            return Err(format!(
                "member '{name:.200}' is not a file, a directory or a link inside the release"
            ));
        }
        if metadata_member(&name) && kind != EntryType::Directory {
            if metadata.is_some() || kind != EntryType::Regular {
                return Err("not a valid module archive: more than one metadata.json, or not a file".to_string());
            }
            let mut bytes = Vec::new();
            (&mut entry)
                .take(MAX_METADATA_BYTES + 1)
                .read_to_end(&mut bytes)
                .map_err(bad)?;
            if bytes.len() as u64 > MAX_METADATA_BYTES {
                return Err(format!("metadata.json is larger than {MAX_METADATA_BYTES} bytes"));
            }
            metadata = Some(String::from_utf8(bytes).map_err(|_| "metadata.json is not UTF-8".to_string())?);
        }
    }
    // The rest of the gzip stream (its trailer is checked), then of the file, for the md5.
    let mut gz = archive.into_inner();
    std::io::copy(&mut gz, &mut std::io::sink()).map_err(bad)?;
    let mut rest = gz.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| format!("cannot read: {e}"))?;
    let md5 = hex::encode(rest.into_inner().hasher.finalize());
    let top = top.ok_or_else(|| "not a valid module archive: it is empty".to_string())?;
    let metadata = metadata.ok_or_else(|| format!("not a valid module archive: no {top:.100}/metadata.json"))?;
    Ok(ModuleArchive { metadata, top, md5 })
}
