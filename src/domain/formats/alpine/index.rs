//! `APKINDEX.tar.gz`: the text index (one block of `X:value` lines per package) and the archive
//! apk-tools reads. The archive is two gzip streams: a signature segment (a tar entry
//! `.SIGN.RSA.<key file>` holding the PKCS#1 v1.5 RSA/SHA-1 signature of the second stream's
//! compressed bytes, without tar end blocks) then a tarball of `DESCRIPTION` and `APKINDEX`.
//! The signature is made by the caller (a port): this module only lays the bytes out.
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::{Read, Write};

use super::package::ApkPackage;

pub const INDEX_FILE: &str = "APKINDEX.tar.gz";
/// The decompressed index we read from a member before giving up on it.
pub const MAX_MEMBER_INDEX: u64 = 256 * 1024 * 1024;

/// The directory an index path is for (`""` for the repository root), when it names one.
pub fn index_dir(path: &str) -> Option<&str> {
    if path == INDEX_FILE {
        return Some("");
    }
    path.strip_suffix(INDEX_FILE)?.strip_suffix('/')
}

/// One package's block, as text without the blank line that ends it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub name: String,
    pub version: String,
    pub text: String,
}

impl Entry {
    /// The block of a hosted package, fields in apk-tools' order.
    pub fn of(p: &ApkPackage) -> Entry {
        let mut lines = vec![
            format!("C:{}", p.checksum),
            format!("P:{}", p.name),
            format!("V:{}", p.version),
            format!("A:{}", p.arch),
            format!("S:{}", p.size),
            format!("I:{}", p.installed_size),
        ];
        let mut text = |key: char, value: &str| {
            if !value.is_empty() {
                lines.push(format!("{key}:{}", one_line(value)));
            }
        };
        text('T', &p.description);
        text('U', &p.url);
        text('L', &p.license);
        text('o', &p.origin);
        text('m', &p.maintainer);
        text('t', &p.build_time.map(|t| t.to_string()).unwrap_or_default());
        text('c', &p.commit);
        text('k', &p.provider_priority.map(|k| k.to_string()).unwrap_or_default());
        text('D', &p.depends.join(" "));
        text('p', &p.provides.join(" "));
        text('i', &p.install_if.join(" "));
        Entry {
            name: p.name.clone(),
            version: p.version.clone(),
            text: lines.join("\n"),
        }
    }
}

/// A value never breaks the line-oriented format.
fn one_line(value: &str) -> String {
    value.replace(['\n', '\r'], " ")
}

/// The blocks of an APKINDEX text; blocks without `P:` or `V:` are dropped.
pub fn parse_text(text: &str) -> Vec<Entry> {
    text.split("\n\n")
        .filter_map(|block| {
            let block = block.trim_matches('\n');
            let field = |key: &str| block.lines().find_map(|l| l.strip_prefix(key)).map(str::to_string);
            Some(Entry {
                name: field("P:")?,
                version: field("V:")?,
                text: block.to_string(),
            })
        })
        .collect()
}

/// The APKINDEX text of `entries`, sorted by name then version (so the bytes, and the ETag,
/// depend only on the set of packages).
pub fn render_text(entries: &[Entry]) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    let mut out = String::new();
    for entry in sorted {
        out.push_str(&entry.text);
        out.push_str("\n\n");
    }
    out
}

fn header(path: &str, size: usize, mtime: u64) -> Result<tar::Header, String> {
    let mut header = tar::Header::new_ustar();
    header.set_path(path).map_err(|e| format!("tar entry {path}: {e}"))?;
    header.set_size(size as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    Ok(header)
}

/// gzip of a tar of `files`; with `end_blocks` false the tar is a segment (no end-of-archive).
fn gzip_tar(files: &[(&str, &[u8])], mtime: u64, end_blocks: bool) -> Result<Vec<u8>, String> {
    let failed = |e: std::io::Error| format!("cannot write the index archive: {e}");
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in files {
        builder
            .append(&header(path, data.len(), mtime)?, *data)
            .map_err(failed)?;
    }
    let mut tar = builder.into_inner().map_err(failed)?;
    if !end_blocks {
        // `into_inner` ends the archive with two zero blocks; a segment has none.
        tar.truncate(tar.len().saturating_sub(1024));
    }
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&tar).map_err(failed)?;
    gz.finish().map_err(failed)
}

/// The second stream of the index: `DESCRIPTION` and `APKINDEX`, the bytes that are signed.
pub fn index_stream(description: &str, text: &str, mtime: u64) -> Result<Vec<u8>, String> {
    gzip_tar(
        &[("DESCRIPTION", description.as_bytes()), ("APKINDEX", text.as_bytes())],
        mtime,
        true,
    )
}

/// The tar entry name apk looks the key up by: `/etc/apk/keys/<key_file>`.
pub fn signature_entry(key_file: &str) -> String {
    format!(".SIGN.RSA.{key_file}")
}

/// The first stream of a signed index: the signature segment.
pub fn signature_stream(key_file: &str, signature: &[u8], mtime: u64) -> Result<Vec<u8>, String> {
    gzip_tar(&[(&signature_entry(key_file), signature)], mtime, false)
}

/// The APKINDEX text inside an index archive (signed or not), read up to `limit` bytes.
pub fn read_index(archive: &[u8], limit: u64) -> Result<String, String> {
    let bad = |e: std::io::Error| format!("not an APKINDEX.tar.gz: {e}");
    let gz = flate2::read::MultiGzDecoder::new(archive);
    let mut tar = tar::Archive::new(gz.take(limit));
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if entry.path().map_err(bad)?.to_str() == Some("APKINDEX") {
            let mut text = String::new();
            entry.read_to_string(&mut text).map_err(bad)?;
            if (text.len() as u64) < entry.size() {
                return Err(format!("the APKINDEX is larger than the {limit} bytes read"));
            }
            return Ok(text);
        }
    }
    Err("not an APKINDEX.tar.gz: it holds no APKINDEX".into())
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
