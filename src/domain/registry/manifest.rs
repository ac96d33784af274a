//! Manifest parsing and validation at push time (OCI image spec, Docker schema 2). The body is
//! kept byte for byte; this only extracts what the registry must check and index: referenced
//! blobs and manifests, the `subject` (referrers API) and the artifact type.
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::RegistryError;
use crate::domain::digest::Digest;

/// Manifests larger than this are refused (the limit distribution and most clients use).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_ARTIFACT: &str = "application/vnd.oci.artifact.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The media types a local repository accepts, in the order we advertise them.
pub const ACCEPTED: [&str; 5] = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST, OCI_ARTIFACT];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestKind {
    /// Points at a config and layers (blobs).
    Image,
    /// Points at other manifests (multi-arch images).
    Index,
}

/// What the registry needs to know about a pushed manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct ParsedManifest {
    pub media_type: String,
    pub kind: ManifestKind,
    pub digest: Digest,
    pub size: u64,
    /// Blobs that must exist in the repository (config and layers; foreign layers with `urls`
    /// are not hosted here and are skipped).
    pub blobs: Vec<Digest>,
    /// Child manifests that must exist (indexes).
    pub manifests: Vec<Digest>,
    pub subject: Option<Digest>,
    /// `artifactType`, or for image manifests without it the config media type (referrers API).
    pub artifact_type: Option<String>,
    pub annotations: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    media_type: Option<String>,
    digest: String,
    #[allow(dead_code)]
    size: u64,
    #[serde(default)]
    urls: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<u64>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    /// Artifact manifests (the draft OCI type) list `blobs` instead of layers.
    blobs: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<Map<String, Value>>,
}

fn invalid(message: impl Into<String>) -> RegistryError {
    RegistryError::ManifestInvalid(message.into())
}

fn digest_of(d: &Descriptor, field: &str) -> Result<Digest, RegistryError> {
    Digest::parse(&d.digest).map_err(|e| invalid(format!("{field}: {e}")))
}

/// The media type a manifest is stored under: the request's `Content-Type` when it names a
/// manifest type, else the body's `mediaType`. When both are present they must agree.
fn media_type(content_type: Option<&str>, in_body: Option<&str>) -> Result<String, RegistryError> {
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| ACCEPTED.contains(c));
    match (header, in_body) {
        (Some(h), Some(b)) if h != b => Err(invalid(format!(
            "Content-Type {h} does not match the manifest's mediaType {b}"
        ))),
        (Some(h), _) => Ok(h.to_string()),
        (None, Some(b)) if ACCEPTED.contains(&b) => Ok(b.to_string()),
        (None, Some(b)) => Err(invalid(format!("unsupported manifest media type {b}"))),
        (None, None) => Err(invalid("no manifest media type in Content-Type or mediaType")),
    }
}

/// Parses and checks a manifest body. `content_type` is the request header.
pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<ParsedManifest, RegistryError> {
    if body.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(invalid(format!("larger than {MAX_MANIFEST_BYTES} bytes")));
    }
    let raw: Raw = serde_json::from_slice(body).map_err(|e| invalid(format!("not valid manifest JSON: {e}")))?;
    if raw.schema_version != Some(2) && media_type(content_type, raw.media_type.as_deref())? != OCI_ARTIFACT {
        return Err(invalid("schemaVersion must be 2"));
    }
    let media_type = media_type(content_type, raw.media_type.as_deref())?;
    let kind = match media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => ManifestKind::Index,
        _ => ManifestKind::Image,
    };
    let mut blobs = Vec::new();
    let mut manifests = Vec::new();
    match kind {
        ManifestKind::Index => {
            let list = raw
                .manifests
                .as_ref()
                .ok_or_else(|| invalid("an index needs `manifests`"))?;
            for m in list {
                manifests.push(digest_of(m, "manifests")?);
            }
        }
        ManifestKind::Image if media_type == OCI_ARTIFACT => {
            for b in raw.blobs.iter().flatten() {
                blobs.push(digest_of(b, "blobs")?);
            }
        }
        ManifestKind::Image => {
            let config = raw
                .config
                .as_ref()
                .ok_or_else(|| invalid("an image manifest needs `config`"))?;
            blobs.push(digest_of(config, "config")?);
            let layers = raw
                .layers
                .as_ref()
                .ok_or_else(|| invalid("an image manifest needs `layers`"))?;
            for layer in layers {
                let digest = digest_of(layer, "layers")?;
                if layer.urls.is_empty() {
                    blobs.push(digest);
                }
            }
        }
    }
    let subject = raw.subject.as_ref().map(|s| digest_of(s, "subject")).transpose()?;
    let artifact_type = raw.artifact_type.clone().or_else(|| match kind {
        ManifestKind::Image => raw.config.as_ref().and_then(|c| c.media_type.clone()),
        ManifestKind::Index => None,
    });
    Ok(ParsedManifest {
        media_type,
        kind,
        digest: Digest::of_bytes(body),
        size: body.len() as u64,
        blobs,
        manifests,
        subject,
        artifact_type,
        annotations: raw.annotations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> String {
        format!("sha256:{}", hex::encode([n; 32]))
    }

    fn image(extra: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":3}}]{extra}}}"#,
            d(1),
            d(2)
        )
    }

    #[test]
    fn image_manifest_lists_config_and_layers() {
        let body = image("");
        let m = parse(body.as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(m.kind, ManifestKind::Image);
        assert_eq!(m.media_type, OCI_MANIFEST);
        assert_eq!(
            m.blobs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            vec![d(1), d(2)]
        );
        assert_eq!(m.digest, Digest::of_bytes(body.as_bytes()));
        assert_eq!(m.size, body.len() as u64);
        assert_eq!(m.subject, None);
        assert_eq!(
            m.artifact_type.as_deref(),
            Some("application/vnd.oci.image.config.v1+json")
        );
    }

    #[test]
    fn artifact_with_subject() {
        let body = image(&format!(
            r#","artifactType":"application/vnd.example.sbom","subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":9}},"annotations":{{"a":"b"}}"#,
            d(3)
        ));
        let m = parse(body.as_bytes(), None).unwrap();
        assert_eq!(m.subject.map(|s| s.to_string()), Some(d(3)));
        assert_eq!(m.artifact_type.as_deref(), Some("application/vnd.example.sbom"));
        assert_eq!(m.annotations.unwrap()["a"], "b");
    }

    #[test]
    fn index_lists_manifests() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_LIST}","manifests":[{{"mediaType":"{DOCKER_MANIFEST}","digest":"{}","size":5,"platform":{{"os":"linux","architecture":"arm64"}}}}]}}"#,
            d(4)
        );
        let m = parse(body.as_bytes(), Some(DOCKER_LIST)).unwrap();
        assert_eq!(m.kind, ManifestKind::Index);
        assert!(m.blobs.is_empty());
        assert_eq!(m.manifests[0].to_string(), d(4));
    }

    #[test]
    fn foreign_layers_are_not_required() {
        let body = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"x","digest":"{}","size":1}},"layers":[{{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"{}","size":1,"urls":["http://127.0.0.1/x"]}}]}}"#,
            d(1),
            d(2)
        );
        let m = parse(body.as_bytes(), Some(DOCKER_MANIFEST)).unwrap();
        assert_eq!(m.blobs.len(), 1);
    }

    #[test]
    fn content_type_with_parameters() {
        let body = image("");
        assert!(parse(body.as_bytes(), Some(&format!("{OCI_MANIFEST}; charset=utf-8"))).is_ok());
    }

    #[test]
    fn invalid_manifests() {
        let big = format!(r#"{{"x":"{}"}}"#, "a".repeat(MAX_MANIFEST_BYTES as usize));
        let cases: Vec<(String, Option<&str>)> = vec![
            ("not json".into(), Some(OCI_MANIFEST)),
            (big, Some(OCI_MANIFEST)),
            (image("").replace("\"schemaVersion\":2", "\"schemaVersion\":1"), None),
            (image(""), Some(DOCKER_MANIFEST)),
            (image("").replace(OCI_MANIFEST, "application/json"), None),
            (image("").replace(&d(2), "sha256:nothex"), None),
            (image("").replace(&d(2), "md5:abc"), None),
            (format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}"}}"#), None),
            (
                format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","layers":[]}}"#),
                None,
            ),
            (r#"{"schemaVersion":2,"layers":[]}"#.to_string(), None),
            (image(r#","subject":{"digest":"bad","size":1}"#), None),
        ];
        for (body, ct) in cases {
            let got = parse(body.as_bytes(), ct);
            assert!(
                matches!(got, Err(RegistryError::ManifestInvalid(_))),
                "{}: {got:?}",
                &body[..body.len().min(120)]
            );
        }
    }
}
