//! OCI image layouts built from scratch on disk (a real tar layer from the system `tar`, a config,
//! manifests, optionally an index), for `skopeo copy oci:<dir>:<tag> ...`.
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

pub fn digest_of(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Writes a blob into the layout and returns its descriptor.
pub fn put_blob(layout: &Path, media_type: &str, data: &[u8]) -> Value {
    let digest = digest_of(data);
    let dir = layout.join("blobs/sha256");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(digest.trim_start_matches("sha256:")), data).unwrap();
    json!({"mediaType": media_type, "digest": digest, "size": data.len()})
}

/// A tar of one file with `content` made by the system `tar`, and its gzip (`gzip -n`, so the
/// bytes are the same every time): (tar, tar.gz).
fn tar_layer(work: &Path, name: &str, content: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let src = work.join(format!("src-{name}"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join(name), content).unwrap();
    let out = work.join(format!("{name}.tar"));
    let status = Command::new("tar")
        .args(["--mtime=@0", "--owner=0", "--group=0", "-cf"])
        .arg(&out)
        .arg("-C")
        .arg(&src)
        .arg(name)
        .status()
        .unwrap();
    assert!(status.success());
    let gz = Command::new("gzip").args(["-n", "-c"]).arg(&out).output().unwrap();
    assert!(gz.status.success());
    (std::fs::read(out).unwrap(), gz.stdout)
}

/// One platform's image manifest (layer with `content`); returns the manifest descriptor.
pub fn image(layout: &Path, os: &str, arch: &str, content: &[u8]) -> Value {
    let work = layout.join("work");
    let (tar, gz) = tar_layer(&work, &format!("{os}-{arch}.txt"), content);
    let diff_id = digest_of(&tar);
    let layer = put_blob(layout, "application/vnd.oci.image.layer.v1.tar+gzip", &gz);
    let config =
        json!({"architecture": arch, "os": os, "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "config": {}});
    let config = put_blob(
        layout,
        "application/vnd.oci.image.config.v1+json",
        config.to_string().as_bytes(),
    );
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]});
    let mut desc = put_blob(layout, OCI_MANIFEST, manifest.to_string().as_bytes());
    desc["platform"] = json!({"os": os, "architecture": arch});
    desc
}

/// A linux/amd64 image whose layers hold `contents` (one file each), tagged `tag_name` in its own
/// layout under `root/<tag_name>`; returns (layout dir, manifest digest, layer digests).
pub fn layered(root: &Path, tag_name: &str, contents: &[&[u8]]) -> (PathBuf, String, Vec<String>) {
    let layout = root.join(tag_name);
    let work = layout.join("work");
    let (mut layers, mut diff_ids) = (Vec::new(), Vec::new());
    for (i, content) in contents.iter().enumerate() {
        let (tar, gz) = tar_layer(&work, &format!("layer-{i}.txt"), content);
        diff_ids.push(digest_of(&tar));
        layers.push(put_blob(&layout, "application/vnd.oci.image.layer.v1.tar+gzip", &gz));
    }
    let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {"Labels": {"tag": tag_name}}});
    let config = put_blob(
        &layout,
        "application/vnd.oci.image.config.v1+json",
        config.to_string().as_bytes(),
    );
    let manifest = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers});
    let desc = put_blob(&layout, OCI_MANIFEST, manifest.to_string().as_bytes());
    tag(&layout, tag_name, &desc);
    let layer_digests = layers
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();
    (layout, desc["digest"].as_str().unwrap().to_string(), layer_digests)
}

/// Writes `index.json` naming `desc` as `tag`.
pub fn tag(layout: &Path, tag: &str, desc: &Value) {
    let mut entry = desc.clone();
    entry["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        layout.join("index.json"),
        json!({"schemaVersion": 2, "manifests": [entry]}).to_string(),
    )
    .unwrap();
}

/// A single-arch image tagged `tag`; returns (layout dir, manifest digest).
pub fn single_arch(root: &Path, tag_name: &str, content: &[u8]) -> (PathBuf, String) {
    let layout = root.join("single");
    let desc = image(&layout, "linux", "amd64", content);
    tag(&layout, tag_name, &desc);
    (layout, desc["digest"].as_str().unwrap().to_string())
}

/// A two-platform image (index over amd64 and arm64) tagged `tag`; returns (layout dir, index
/// digest, platform manifest digests).
pub fn multi_arch(root: &Path, tag_name: &str) -> (PathBuf, String, Vec<String>) {
    let layout = root.join("multi");
    let amd = image(&layout, "linux", "amd64", b"amd64 payload\n");
    let arm = image(&layout, "linux", "arm64", b"arm64 payload\n");
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [amd, arm]});
    let desc = put_blob(&layout, OCI_INDEX, index.to_string().as_bytes());
    tag(&layout, tag_name, &desc);
    let children = vec![
        amd["digest"].as_str().unwrap().to_string(),
        arm["digest"].as_str().unwrap().to_string(),
    ];
    (layout, desc["digest"].as_str().unwrap().to_string(), children)
}

/// The blob file names of a layout, sorted.
pub fn blob_names(layout: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
