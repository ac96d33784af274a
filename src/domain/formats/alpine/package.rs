//! Hosted apk uploads: what APKINDEX needs of a package, read from its control segment.
//!
//! An apk (v2) is gzip streams back to back: an optional signature segment, the control segment
//! (`.PKGINFO` and install scripts, a tar without end blocks) and the data tarball. The index's
//! `C:` is the sha1 of the control stream's *compressed* bytes, so the streams' boundaries are
//! found, not only their contents. Every stream is decoded to its end (a truncated or corrupt
//! file is refused) but only the two small segments are held in memory, under a bound.
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha1::{Digest as _, Sha1};
use sha2::Sha256;
use std::io::{BufRead, Read, Seek, SeekFrom};

/// The largest `.PKGINFO` accepted (real ones are a few KiB).
pub const MAX_PKGINFO: u64 = 1024 * 1024;
/// The largest decompressed signature or control segment (`.PKGINFO` plus install scripts).
pub const MAX_CONTROL: u64 = 4 * 1024 * 1024;

/// The most a data tarball without `datahash` may unpack to (it is unpacked to check it).
pub const MAX_DATA: u64 = 16 * 1024 * 1024 * 1024;

/// One package as its index block describes it; kept as the record's meta.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApkPackage {
    /// `C:`: `Q1` and the base64 sha1 of the control stream.
    pub checksum: String,
    pub name: String,
    pub version: String,
    pub arch: String,
    /// `S:`: the size of the .apk file.
    pub size: u64,
    /// `I:`: the installed size (`.PKGINFO` `size`).
    pub installed_size: u64,
    pub description: String,
    pub url: String,
    pub license: String,
    pub origin: String,
    pub maintainer: String,
    pub build_time: Option<u64>,
    pub commit: String,
    pub provider_priority: Option<u64>,
    pub depends: Vec<String>,
    pub provides: Vec<String>,
    pub install_if: Vec<String>,
}

impl ApkPackage {
    /// `name-version.apk`: the file name apk fetches for this package, next to the index.
    pub fn file_name(&self) -> String {
        format!("{}-{}.apk", self.name, self.version)
    }

    /// Whether an upload at `dir/file_name` may hold this package: the name must be the one the
    /// index makes apk fetch, in the directory of its architecture (noarch: any).
    pub fn check_path(&self, dir: &str, file_name: &str) -> Result<(), String> {
        let expected = self.file_name();
        if file_name != expected {
            return Err(format!(
                "the .PKGINFO names this package {expected}, but it was uploaded as {file_name}"
            ));
        }
        let arch_dir = dir.rsplit('/').next().unwrap_or(dir);
        if self.arch != "noarch" && arch_dir != self.arch {
            return Err(format!(
                "this package is for {}, but it was uploaded to the directory '{arch_dir}' (upload it under {}/)",
                self.arch, self.arch
            ));
        }
        Ok(())
    }
}

/// Splits an upload path `[dir/]<arch>/<name>-<version>.apk` into its directory and file name.
pub fn check_upload_path(path: &str) -> Result<(&str, &str), String> {
    let Some((dir, file_name)) = path.rsplit_once('/') else {
        return Err(format!(
            "'{path}' has no architecture directory: upload to <arch>/{path} (apk reads <arch>/APKINDEX.tar.gz)"
        ));
    };
    if dir.split('/').next() == Some("keys") {
        return Err("keys/ holds the repository's signing key and cannot be uploaded to".into());
    }
    if !file_name.ends_with(".apk") || file_name.len() <= ".apk".len() {
        return Err(format!("'{file_name}' is not an .apk file"));
    }
    Ok((dir, file_name))
}

/// Where one gzip stream lies in the file, and its decompressed bytes when kept.
struct Stream {
    start: u64,
    end: u64,
    content: Vec<u8>,
}

fn io_error(e: std::io::Error) -> String {
    format!("not a complete apk: {e}")
}

/// Decodes the gzip stream starting at the current position, up to `limit` bytes of content
/// (more is an error), kept when `keep`.
fn next_stream<R: BufRead + Seek>(file: &mut R, (limit, keep): (u64, bool), what: &str) -> Result<Stream, String> {
    let start = file.stream_position().map_err(io_error)?;
    if file.fill_buf().map_err(io_error)?.is_empty() {
        return Err(format!("not a complete apk: the {what} is missing"));
    }
    let mut content = Vec::new();
    {
        let mut gz = flate2::bufread::GzDecoder::new(&mut *file);
        let mut bounded = (&mut gz).take(limit + 1);
        let read = if keep {
            bounded.read_to_end(&mut content).map(|n| n as u64)
        } else {
            std::io::copy(&mut bounded, &mut std::io::sink())
        };
        let read = read.map_err(|e| format!("not a valid apk: the {what} is not a complete gzip stream ({e})"))?;
        if read > limit {
            return Err(format!("the apk's {what} is larger than the {limit} bytes allowed"));
        }
    }
    let end = file.stream_position().map_err(io_error)?;
    Ok(Stream { start, end, content })
}

/// The names and (for `.PKGINFO` only) contents of a tar segment's entries.
fn segment_entries(segment: &[u8], what: &str) -> Result<(Vec<String>, Option<String>), String> {
    let bad = |e: std::io::Error| format!("not a valid apk: the {what} is not a tar segment ({e})");
    let mut names = Vec::new();
    let mut pkginfo = None;
    let mut archive = tar::Archive::new(segment);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        if name == ".PKGINFO" {
            if entry.size() > MAX_PKGINFO {
                return Err(format!(
                    "the apk's .PKGINFO is {} bytes, more than the {MAX_PKGINFO} allowed",
                    entry.size()
                ));
            }
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| format!("the apk's .PKGINFO is not UTF-8 text ({e})"))?;
            pkginfo = Some(text);
        }
        names.push(name);
    }
    Ok((names, pkginfo))
}

fn hash_range<D: sha1::Digest, R: Read + Seek>(file: &mut R, start: u64, end: u64) -> Result<D, String> {
    file.seek(SeekFrom::Start(start)).map_err(io_error)?;
    let mut hasher = D::new();
    let mut left = end - start;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = file.read(&mut buf[..want]).map_err(io_error)?;
        if n == 0 {
            return Err(io_error(std::io::ErrorKind::UnexpectedEof.into()));
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hasher)
}

/// Reads the package description out of an apk file, checking its whole layout.
pub fn read_package<R: BufRead + Seek>(file: &mut R) -> Result<ApkPackage, String> {
    let size = file.seek(SeekFrom::End(0)).map_err(io_error)?;
    file.seek(SeekFrom::Start(0)).map_err(io_error)?;
    if file.fill_buf().map_err(io_error)?.get(..2) != Some(&[0x1f, 0x8b][..]) {
        return Err("not an apk: it does not start with a gzip stream".into());
    }
    let first = next_stream(file, (MAX_CONTROL, true), "signature or control segment")?;
    let (names, pkginfo) = segment_entries(&first.content, "first segment")?;
    let (control, pkginfo) = if !names.is_empty() && names.iter().all(|n| n.starts_with(".SIGN.")) {
        let control = next_stream(file, (MAX_CONTROL, true), "control segment")?;
        let (_, pkginfo) = segment_entries(&control.content, "control segment")?;
        (control, pkginfo)
    } else {
        (first, pkginfo)
    };
    let pkginfo = pkginfo.ok_or("not a valid apk: the control segment has no .PKGINFO")?;
    let (mut package, datahash) = parse_pkginfo(&pkginfo)?;
    if control.end == size {
        return Err("not a complete apk: the data tarball is missing".into());
    }
    match datahash {
        // What apk-tools checks: the data stream (the rest of the file) by its sha256. Nothing is
        // unpacked, so a compression bomb costs nothing.
        Some(expected) => {
            let actual = hex::encode(hash_range::<Sha256, _>(file, control.end, size)?.finalize());
            if !actual.eq_ignore_ascii_case(&expected) {
                return Err(format!(
                    "the data tarball is not the one the .PKGINFO names (datahash {expected}, sha256 {actual}): \
                     truncated or altered"
                ));
            }
        }
        None => {
            let data = next_stream(file, (MAX_DATA, false), "data tarball")?;
            if data.end != size {
                return Err(format!(
                    "not a valid apk: {} bytes follow the data tarball",
                    size - data.end
                ));
            }
        }
    }
    let sha1 = hash_range::<Sha1, _>(file, control.start, control.end)?.finalize();
    package.checksum = format!("Q1{}", base64::engine::general_purpose::STANDARD.encode(sha1));
    package.size = size;
    Ok(package)
}

/// A token field (name, version, arch): no spaces, no slashes, not empty.
fn token(field: &str, value: &str) -> Result<String, String> {
    if value.is_empty() || value.contains('/') || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("the .PKGINFO's {field} '{value}' is not a valid {field}"));
    }
    Ok(value.to_string())
}

fn number(field: &str, value: &str) -> Result<u64, String> {
    value
        .parse()
        .map_err(|_| format!("the .PKGINFO's {field} '{value}' is not a number"))
}

/// The package `.PKGINFO` describes (`key = value` lines) and its `datahash`, if any.
pub fn parse_pkginfo(text: &str) -> Result<(ApkPackage, Option<String>), String> {
    let mut p = ApkPackage::default();
    let mut datahash = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("the .PKGINFO line '{line}' is not 'key = value'"));
        };
        let value = value.trim();
        match key.trim() {
            "pkgname" => p.name = token("pkgname", value)?,
            "pkgver" => p.version = token("pkgver", value)?,
            "arch" => p.arch = token("arch", value)?,
            "size" => p.installed_size = number("size", value)?,
            "builddate" => p.build_time = Some(number("builddate", value)?),
            "provider_priority" => p.provider_priority = Some(number("provider_priority", value)?),
            "pkgdesc" => p.description = value.to_string(),
            "url" => p.url = value.to_string(),
            "license" => p.license = value.to_string(),
            "origin" => p.origin = value.to_string(),
            "maintainer" => p.maintainer = value.to_string(),
            "commit" => p.commit = value.to_string(),
            "depend" => p.depends.push(value.to_string()),
            "provides" => p.provides.push(value.to_string()),
            "install_if" => p.install_if.extend(value.split_whitespace().map(str::to_string)),
            "datahash" => datahash = Some(value.to_string()),
            _ => {}
        }
    }
    for (field, value) in [("pkgname", &p.name), ("pkgver", &p.version), ("arch", &p.arch)] {
        if value.is_empty() {
            return Err(format!("the .PKGINFO has no {field}"));
        }
    }
    Ok((p, datahash))
}

#[cfg(test)]
#[path = "package_tests.rs"]
mod tests;
