//! Package files built by hand for the package-client tests: a wheel and a PEP 503 page for
//! pip, an `npm pack` tarball and its packument for npm.
use base64::Engine;
use bytes::Bytes;
use serde_json::json;
use sha2::Digest;
use std::path::Path;
use std::process::Command;

use super::upstream::{FakeFile, FakeUpstream};

/// Builds a pure-Python wheel by hand (zip + METADATA/WHEEL/RECORD), so no build backend or
/// network is needed.
pub fn build_wheel(dir: &Path, name: &str, version: &str) -> Vec<u8> {
    build_wheel_requiring(dir, name, version, &[])
}

/// [`build_wheel`] whose METADATA names `requires` as `Requires-Dist`.
pub fn build_wheel_requiring(dir: &Path, name: &str, version: &str, requires: &[&str]) -> Vec<u8> {
    let script = r#"
import base64, hashlib, sys, zipfile
out, name, version = sys.argv[1], sys.argv[2], sys.argv[3]
requires = "".join(f"Requires-Dist: {r}\n" for r in sys.argv[4:])
dist = f"{name}-{version}.dist-info"
files = {
    f"{name}/__init__.py": f"VALUE = '{name} {version}'\n",
    f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires}",
    f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: artifactapi-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = []
with zipfile.ZipFile(out, "w") as z:
    for path, text in files.items():
        data = text.encode()
        z.writestr(path, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    z.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
"#;
    let wheel = dir.join(format!("{name}-{version}-py3-none-any.whl"));
    let status = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&wheel)
        .arg(name)
        .arg(version)
        .args(requires)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(wheel).unwrap()
}

/// A PEP 503 page linking `(href, file name)` pairs.
pub fn simple_page(links: &[(String, String)]) -> FakeFile {
    let anchors: String = links
        .iter()
        .map(|(href, name)| format!("<a href=\"{href}\" data-requires-python=\"&gt;=3.7\">{name}</a><br/>\n"))
        .collect();
    let body = format!("<!DOCTYPE html><html><body>\n{anchors}</body></html>\n");
    FakeFile::Page {
        body: Bytes::from(body),
        content_type: "text/html",
    }
}

/// `npm pack` of a one-file package; returns the tarball bytes.
pub fn pack(work: &Path, name: &str, version: &str) -> Vec<u8> {
    let dir = work.join(name.replace('/', "_"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        json!({"name": name, "version": version, "main": "index.js"}).to_string(),
    )
    .unwrap();
    std::fs::write(dir.join("index.js"), format!("module.exports = '{name}@{version}';\n")).unwrap();
    let out = Command::new("npm")
        .arg("pack")
        .arg("--silent")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "npm pack: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .lines()
        .last()
        .unwrap()
        .to_string();
    std::fs::read(dir.join(file)).unwrap()
}

/// A packument of one version whose tarball is `tarball_path` on `upstream`, promising the
/// sha512 of `integrity_of`.
pub fn packument(
    upstream: &FakeUpstream,
    name: &str,
    version: &str,
    tarball_path: &str,
    integrity_of: &[u8],
) -> FakeFile {
    let integrity = format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(integrity_of))
    );
    let doc = json!({
        "name": name,
        "dist-tags": {"latest": version},
        "versions": {version: {
            "name": name, "version": version, "main": "index.js",
            "dist": {"tarball": format!("{}/{tarball_path}", upstream.base), "integrity": integrity}
        }}
    });
    FakeFile::Page {
        body: Bytes::from(doc.to_string()),
        content_type: "application/json",
    }
}

/// Builds an sdist (`{name}-{version}.tar.gz` with `{name}-{version}/PKG-INFO`) in `dir` with
/// Python's tarfile; returns its path.
pub fn build_sdist(dir: &Path, name: &str, version: &str) -> std::path::PathBuf {
    let script = r#"
import io, sys, tarfile
out, name, version = sys.argv[1], sys.argv[2], sys.argv[3]
top = f"{name}-{version}"
files = {
    f"{top}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
    f"{top}/setup.py": "from setuptools import setup\nsetup()\n",
}
with tarfile.open(out, "w:gz") as t:
    for path, text in files.items():
        data = text.encode()
        info = tarfile.TarInfo(path)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
"#;
    let sdist = dir.join(format!("{name}-{version}.tar.gz"));
    let status = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&sdist)
        .arg(name)
        .arg(version)
        .status()
        .unwrap();
    assert!(status.success());
    sdist
}

/// A zip named `filename` in `dir` holding `members` as given (names unchecked, so tests can
/// build archives with path tricks); returns its path.
pub fn python_zip(dir: &Path, filename: &str, members: &[(&str, String)]) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let spec = dir.join("members.json");
    let list: Vec<serde_json::Value> = members.iter().map(|(n, t)| json!([n, t])).collect();
    std::fs::write(&spec, serde_json::Value::Array(list).to_string()).unwrap();
    let out = dir.join(filename);
    let script = r#"
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for name, text in json.load(open(sys.argv[2])):
        z.writestr(zipfile.ZipInfo(name), text)
"#;
    let status = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&out)
        .arg(&spec)
        .status()
        .unwrap();
    assert!(status.success());
    out
}
