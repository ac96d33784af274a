//! `repodata/` of a hosted rpm repository, rendered from its package records alone: the three
//! data files (`primary`, `filelists`, `other`, gzipped) and the `repomd.xml` that names them by
//! the sha256 of their compressed bytes (`repodata/<sha256>-primary.xml.gz`). The same records
//! always give the same bytes (gzip without a timestamp, records in a fixed order), so every
//! replica renders the same files, and an older repomd still names files that exist.
use chrono::{DateTime, TimeDelta, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::fmt::Write as _;
use std::io::Write as _;

use super::hosted::{Dependency, RpmPackage};
use crate::domain::digest::Digest;

pub const REPOMD: &str = "repodata/repomd.xml";

/// One package as the repodata lists it.
pub struct Entry<'a> {
    pub package: &'a RpmPackage,
    pub sha256: &'a str,
    pub size: u64,
    /// Relative to the repository root (repodata's `location href`).
    pub location: &'a str,
    /// Upload time, unix seconds.
    pub time: i64,
}

/// A rendered, compressed data file and what repomd.xml says of it.
#[derive(Clone, Debug, PartialEq)]
pub struct DataFile {
    pub kind: &'static str,
    pub gz: Vec<u8>,
    pub sha256: Digest,
    pub open_sha256: Digest,
    pub open_size: u64,
}

impl DataFile {
    /// `xml` gzipped (no timestamp, so the same text always gives the same bytes).
    pub fn new(kind: &'static str, xml: &str) -> Result<Self, std::io::Error> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(xml.as_bytes())?;
        let gz = encoder.finish()?;
        Ok(Self {
            kind,
            sha256: Digest::of_bytes(&gz),
            open_sha256: Digest::of_bytes(xml.as_bytes()),
            open_size: xml.len() as u64,
            gz,
        })
    }

    /// `repodata/<sha256>-<kind>.xml.gz`: the name changes with the content, so a cached or
    /// older repomd.xml never points at newer bytes.
    pub fn path(&self) -> String {
        format!("repodata/{}-{}.xml.gz", self.sha256.hex(), self.kind)
    }
}

/// Whether `path` names a generated data file (`repodata/<64 hex>-<kind>.xml.gz`).
pub fn is_data_path(path: &str) -> bool {
    data_kind(path).is_some()
}

/// The kind of a generated data file's path (`primary`, `filelists` or `other`).
pub fn data_kind(path: &str) -> Option<&str> {
    path.strip_prefix("repodata/")
        .and_then(|rest| rest.strip_suffix(".xml.gz"))
        .and_then(|rest| rest.split_once('-'))
        .filter(|(hash, kind)| {
            hash.len() == 64
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
                && matches!(*kind, "primary" | "filelists" | "other")
        })
        .map(|(_, kind)| kind)
}

/// The stored data files an older repomd.xml named that may go: not named by the current one
/// (`current`), and a newer file of their kind was stored more than `grace` before `now` — a
/// client that read the older repomd.xml before that has had `grace` to fetch its files.
/// (A file pruned and then named again, after a delete brings an older package set back, is
/// simply stored again by the next render.)
pub fn superseded<'a>(
    stored: &'a [(String, DateTime<Utc>)],
    current: &[String],
    now: DateTime<Utc>,
    grace: TimeDelta,
) -> Vec<&'a str> {
    stored
        .iter()
        .filter(|(path, _)| !current.contains(path))
        .filter_map(|(path, created)| {
            let kind = data_kind(path)?;
            let replaced_long_ago = stored.iter().any(|(other, other_created)| {
                other_created > created && data_kind(other) == Some(kind) && *other_created + grace <= now
            });
            replaced_long_ago.then_some(path.as_str())
        })
        .collect()
}

/// The three data files of `entries`, in repomd order.
pub fn render_data(entries: &[Entry<'_>]) -> Result<Vec<DataFile>, std::io::Error> {
    Ok(vec![
        DataFile::new("primary", &primary(entries))?,
        DataFile::new("filelists", &filelists(entries))?,
        DataFile::new("other", &other(entries))?,
    ])
}

/// `repomd.xml` naming `files`; `revision` and the timestamps are the newest upload's time, so
/// the document depends on the records only.
pub fn render_repomd(files: &[DataFile], revision: i64) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n",
    );
    let _ = writeln!(out, "  <revision>{revision}</revision>");
    for file in files {
        let _ = write!(
            out,
            "  <data type=\"{kind}\">\n    <checksum type=\"sha256\">{sum}</checksum>\n    <open-checksum type=\"sha256\">{open}</open-checksum>\n    <location href=\"{href}\"/>\n    <timestamp>{revision}</timestamp>\n    <size>{size}</size>\n    <open-size>{open_size}</open-size>\n  </data>\n",
            kind = file.kind,
            sum = file.sha256.hex(),
            open = file.open_sha256.hex(),
            href = file.path(),
            size = file.gz.len(),
            open_size = file.open_size,
        );
    }
    out.push_str("</repomd>\n");
    out
}

/// Text as XML character data or attribute value: markup escaped, characters XML 1.0 cannot
/// carry (most control characters) dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn version_tag(out: &mut String, p: &RpmPackage) {
    let _ = writeln!(
        out,
        "  <version epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>",
        p.epoch,
        escape(&p.version),
        escape(&p.release)
    );
}

fn dependencies(out: &mut String, tag: &str, deps: &[Dependency]) {
    if deps.is_empty() {
        return;
    }
    let _ = writeln!(out, "    <rpm:{tag}>");
    let mut seen = std::collections::BTreeSet::new();
    for d in deps {
        // rpm lists a dependency once per script phase; repodata lists it once.
        if !seen.insert((&d.name, &d.flags, &d.epoch, &d.ver, &d.rel)) {
            continue;
        }
        let _ = write!(out, "      <rpm:entry name=\"{}\"", escape(&d.name));
        if let Some(flags) = &d.flags {
            let _ = write!(out, " flags=\"{flags}\"");
            for (attr, value) in [("epoch", &d.epoch), ("ver", &d.ver), ("rel", &d.rel)] {
                if let Some(v) = value {
                    let _ = write!(out, " {attr}=\"{}\"", escape(v));
                }
            }
        }
        if d.pre {
            out.push_str(" pre=\"1\"");
        }
        out.push_str("/>\n");
    }
    let _ = writeln!(out, "    </rpm:{tag}>");
}

/// Files that primary.xml lists (as createrepo does): the ones dependencies most often name,
/// so resolvers need not fetch filelists for them.
fn primary_file(path: &str) -> bool {
    path.starts_with("/etc/") || path.contains("bin/") || path == "/usr/lib/sendmail"
}

fn file_tag(out: &mut String, indent: &str, path: &str, kind: Option<&str>) {
    match kind {
        Some(kind) => {
            let _ = writeln!(out, "{indent}<file type=\"{kind}\">{}</file>", escape(path));
        }
        None => {
            let _ = writeln!(out, "{indent}<file>{}</file>", escape(path));
        }
    }
}

pub fn primary(entries: &[Entry<'_>]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{}\">\n",
        entries.len()
    );
    for e in entries {
        let p = e.package;
        out.push_str("<package type=\"rpm\">\n");
        let _ = writeln!(out, "  <name>{}</name>", escape(&p.name));
        let _ = writeln!(out, "  <arch>{}</arch>", escape(&p.arch));
        version_tag(&mut out, p);
        let _ = writeln!(out, "  <checksum type=\"sha256\" pkgid=\"YES\">{}</checksum>", e.sha256);
        let _ = writeln!(out, "  <summary>{}</summary>", escape(&p.summary));
        let _ = writeln!(out, "  <description>{}</description>", escape(&p.description));
        let _ = writeln!(out, "  <packager>{}</packager>", escape(&p.packager));
        let _ = writeln!(out, "  <url>{}</url>", escape(&p.url));
        let _ = writeln!(out, "  <time file=\"{}\" build=\"{}\"/>", e.time, p.build_time);
        let _ = writeln!(
            out,
            "  <size package=\"{}\" installed=\"{}\" archive=\"{}\"/>",
            e.size, p.installed_size, p.archive_size
        );
        let _ = writeln!(out, "  <location href=\"{}\"/>", escape(e.location));
        out.push_str("  <format>\n");
        let _ = writeln!(out, "    <rpm:license>{}</rpm:license>", escape(&p.license));
        let _ = writeln!(out, "    <rpm:vendor>{}</rpm:vendor>", escape(&p.vendor));
        let _ = writeln!(out, "    <rpm:group>{}</rpm:group>", escape(&p.group));
        let _ = writeln!(out, "    <rpm:buildhost>{}</rpm:buildhost>", escape(&p.buildhost));
        let _ = writeln!(out, "    <rpm:sourcerpm>{}</rpm:sourcerpm>", escape(&p.sourcerpm));
        let _ = writeln!(
            out,
            "    <rpm:header-range start=\"{}\" end=\"{}\"/>",
            p.header_start, p.header_end
        );
        dependencies(&mut out, "provides", &p.provides);
        dependencies(&mut out, "requires", &p.requires);
        dependencies(&mut out, "conflicts", &p.conflicts);
        dependencies(&mut out, "obsoletes", &p.obsoletes);
        dependencies(&mut out, "suggests", &p.suggests);
        dependencies(&mut out, "enhances", &p.enhances);
        dependencies(&mut out, "recommends", &p.recommends);
        dependencies(&mut out, "supplements", &p.supplements);
        for f in p.files.iter().filter(|f| primary_file(&f.path)) {
            file_tag(&mut out, "    ", &f.path, f.kind.as_deref());
        }
        out.push_str("  </format>\n</package>\n");
    }
    out.push_str("</metadata>");
    out
}

fn package_open(out: &mut String, e: &Entry<'_>) {
    let _ = writeln!(
        out,
        "<package pkgid=\"{}\" name=\"{}\" arch=\"{}\">",
        e.sha256,
        escape(&e.package.name),
        escape(&e.package.arch)
    );
    version_tag(out, e.package);
}

pub fn filelists(entries: &[Entry<'_>]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" packages=\"{}\">\n",
        entries.len()
    );
    for e in entries {
        package_open(&mut out, e);
        for f in &e.package.files {
            file_tag(&mut out, "  ", &f.path, f.kind.as_deref());
        }
        out.push_str("</package>\n");
    }
    out.push_str("</filelists>");
    out
}

pub fn other(entries: &[Entry<'_>]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" packages=\"{}\">\n",
        entries.len()
    );
    for e in entries {
        package_open(&mut out, e);
        // Oldest first, as createrepo writes them.
        for c in e.package.changelog.iter().rev() {
            let _ = writeln!(
                out,
                "  <changelog author=\"{}\" date=\"{}\">{}</changelog>",
                escape(&c.author),
                c.date,
                escape(&c.text)
            );
        }
        out.push_str("</package>\n");
    }
    out.push_str("</otherdata>");
    out
}

#[cfg(test)]
#[path = "repodata_tests.rs"]
mod tests;

/// `repodata/repomd.xml.asc`: repomd.xml's detached signature, ASCII-armored (dnf's
/// `repo_gpgcheck`).
pub const REPOMD_ASC: &str = "repodata/repomd.xml.asc";
/// `repodata/repomd.xml.key`: the public key that signature verifies with (dnf's `gpgkey`).
pub const REPOMD_KEY: &str = "repodata/repomd.xml.key";

/// A binary OpenPGP signature as an ASCII-armored `PGP SIGNATURE` block (RFC 4880 §6: base64
/// in lines of 64, then the CRC-24 of the binary data).
pub fn armor_signature(binary: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(binary);
    let mut out = String::from("-----BEGIN PGP SIGNATURE-----\n\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    let crc = crc24(binary).to_be_bytes();
    out.push('=');
    out.push_str(&base64::engine::general_purpose::STANDARD.encode(&crc[1..]));
    out.push_str("\n-----END PGP SIGNATURE-----\n");
    out
}

/// RFC 4880 §6.1's CRC-24.
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00b7_04ce;
    for byte in data {
        crc ^= u32::from(*byte) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4cfb;
            }
        }
    }
    crc & 0x00ff_ffff
}
