//! Manifest push, pull and delete. A manifest is a CAS blob with a row per digest, a row per
//! tag pointing at a digest, a row per subject it refers to (referrers API), and an image
//! marker for the catalog.
use futures::StreamExt;

use super::{Member, PullSource, RegistryService, WriteTarget, ingest_error, once, unavailable};
use crate::app::cas::IngestOptions;
use crate::app::hosted::ReadRequest;
use crate::domain::digest::Digest;
use crate::domain::quota::Room;
use crate::domain::registry::error::RegistryError;
use crate::domain::registry::keys;
use crate::domain::registry::manifest::{self, MAX_MANIFEST_BYTES, ManifestKind, ParsedManifest};
use crate::domain::registry::path::{ImageName, Reference};
use crate::ports::{ByteStream, HostedFile};

pub struct PushedManifest {
    pub digest: Digest,
    pub subject: Option<Digest>,
}

/// A manifest found by tag or digest; `row.content_type` is its media type. `body` is `None`
/// for HEAD.
pub struct ManifestRead {
    /// `row.repo` is the member that answered (differs from the name's on a virtual).
    pub row: HostedFile,
    pub source: PullSource,
    pub body: Option<ByteStream>,
}

/// Reads a request body of at most `MAX_MANIFEST_BYTES`; more is `MANIFEST_INVALID`, and the
/// rest is not read.
async fn read_bounded(mut body: ByteStream) -> Result<Vec<u8>, RegistryError> {
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| RegistryError::ManifestInvalid(format!("body interrupted: {e}")))?;
        if (out.len() + chunk.len()) as u64 > MAX_MANIFEST_BYTES {
            return Err(RegistryError::ManifestInvalid(format!(
                "larger than {MAX_MANIFEST_BYTES} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

impl RegistryService {
    pub async fn put_manifest(
        &self,
        target: &WriteTarget,
        reference: &Reference,
        body: ByteStream,
        content_type: Option<&str>,
    ) -> Result<PushedManifest, RegistryError> {
        let (repo, name) = (target.repo(), &target.name);
        let bytes = read_bounded(body).await?;
        let parsed = manifest::parse(&bytes, content_type)?;
        if let Reference::Digest(d) = reference
            && *d != parsed.digest
        {
            return Err(RegistryError::DigestInvalid(format!(
                "the URL names {d}, the manifest is {}",
                parsed.digest
            )));
        }
        self.check_references(repo, &name.image, &parsed).await?;
        self.manifest_fits(repo, &name.image, &parsed).await?;
        let options = IngestOptions {
            expected: Some(parsed.digest.clone()),
            content_type: Some(parsed.media_type.clone()),
            ..IngestOptions::default()
        };
        self.cas.ingest(once(bytes), options).await.map_err(ingest_error)?;
        let (digest, size, media) = (&parsed.digest, parsed.size, Some(parsed.media_type.clone()));
        let image = &name.image;
        self.put_row(repo, keys::manifest_row(image, digest), digest, size, media.clone())
            .await?;
        if let Some(subject) = &parsed.subject {
            self.put_row(
                repo,
                keys::referrer_row(image, subject, digest),
                digest,
                size,
                media.clone(),
            )
            .await?;
        }
        if let Reference::Tag(tag) = reference {
            self.put_row(repo, keys::tag_row(image, tag), digest, size, media.clone())
                .await?;
        }
        self.put_row(repo, keys::image_marker(image), digest, size, media)
            .await?;
        Ok(PushedManifest {
            digest: parsed.digest,
            subject: parsed.subject,
        })
    }

    /// A new manifest must fit the repository's quota; a re-push (a new tag on a stored
    /// manifest) adds nothing and is always accepted.
    async fn manifest_fits(&self, repo: &str, image: &str, parsed: &ParsedManifest) -> Result<(), RegistryError> {
        let room = self.room(repo).await?;
        if room == Room::Unlimited
            || self
                .files
                .get(repo, &keys::manifest_row(image, &parsed.digest))
                .await
                .map_err(unavailable)?
                .is_some()
        {
            return Ok(());
        }
        Ok(room.admit(Some(parsed.size))?)
    }

    /// Every blob and child manifest the manifest names must already be in this image.
    async fn check_references(&self, repo: &str, image: &str, parsed: &ParsedManifest) -> Result<(), RegistryError> {
        let repos = [repo.to_string()];
        for blob in &parsed.blobs {
            if self.find_row(&repos, &keys::blob_link(image, blob)).await?.is_none() {
                return Err(RegistryError::ManifestBlobUnknown(blob.to_string()));
            }
        }
        if parsed.kind == ManifestKind::Index {
            for child in &parsed.manifests {
                if self
                    .find_row(&repos, &keys::manifest_row(image, child))
                    .await?
                    .is_none()
                {
                    return Err(RegistryError::ManifestBlobUnknown(child.to_string()));
                }
            }
        }
        Ok(())
    }

    /// The manifest from the first member that has it. `accept` is the client's `Accept`,
    /// which decides what a remote's upstream returns for a tag.
    pub async fn read_manifest(
        &self,
        name: &ImageName,
        reference: &Reference,
        head_only: bool,
        accept: Option<&str>,
    ) -> Result<ManifestRead, RegistryError> {
        let (path, digest) = match reference {
            Reference::Tag(tag) => (keys::tag_row(&name.image, tag), None),
            Reference::Digest(d) => (keys::manifest_row(&name.image, d), Some(d)),
        };
        let mut remote_failure = None;
        for member in self.members(name).await? {
            let repo = match member {
                Member::Local(repo) => repo,
                Member::Remote(repo) => {
                    let upstream_path = format!("{}/manifests/{}", name.image, reference_text(reference));
                    // Always a GET: a HEAD must still name the digest, which only the body gives.
                    let request = ReadRequest {
                        accept,
                        ..ReadRequest::default()
                    };
                    match self.remote_read(&repo, &upstream_path, request, digest).await {
                        Ok(Some(found)) => {
                            return Ok(ManifestRead {
                                row: found.row,
                                source: found.source,
                                body: if head_only { None } else { found.body },
                            });
                        }
                        Ok(None) => {}
                        Err(e) => remote_failure = Some(e),
                    }
                    continue;
                }
            };
            let Some(row) = self.files.get(&repo, &path).await.map_err(unavailable)? else {
                continue;
            };
            // A pull by digest (a HEAD only asks whether it is there).
            if digest.is_some() && !head_only {
                self.pulls.record(&row);
            }
            if head_only {
                return Ok(ManifestRead {
                    row,
                    source: PullSource::Local,
                    body: None,
                });
            }
            let object = self.open_stored(&row.digest, None).await?;
            return Ok(ManifestRead {
                row,
                source: PullSource::Local,
                body: Some(object.body),
            });
        }
        Err(remote_failure.unwrap_or_else(|| RegistryError::ManifestUnknown(reference_text(reference))))
    }

    /// By tag: removes the tag. By digest: removes the manifest, every tag pointing at it and
    /// its referrers entry. Blobs stay for GC.
    pub async fn delete_manifest(&self, target: &WriteTarget, reference: &Reference) -> Result<(), RegistryError> {
        let repo = target.repo();
        let image = &target.name.image;
        let digest = match reference {
            Reference::Tag(tag) => {
                return if self
                    .files
                    .delete(repo, &keys::tag_row(image, tag))
                    .await
                    .map_err(unavailable)?
                {
                    Ok(())
                } else {
                    Err(RegistryError::ManifestUnknown(tag.clone()))
                };
            }
            Reference::Digest(d) => d,
        };
        let row = self
            .files
            .get(repo, &keys::manifest_row(image, digest))
            .await
            .map_err(unavailable)?
            .ok_or_else(|| RegistryError::ManifestUnknown(digest.to_string()))?;
        let subject = manifest::parse(&self.read_small(digest).await?, row.content_type.as_deref())
            .ok()
            .and_then(|m| m.subject);
        for tag in self.scan(repo, &keys::tags_prefix(image)).await? {
            if tag.digest == *digest {
                self.files.delete(repo, &tag.path).await.map_err(unavailable)?;
            }
        }
        if let Some(subject) = subject {
            self.files
                .delete(repo, &keys::referrer_row(image, &subject, digest))
                .await
                .map_err(unavailable)?;
        }
        self.files
            .delete(repo, &keys::manifest_row(image, digest))
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

fn reference_text(reference: &Reference) -> String {
    match reference {
        Reference::Tag(t) => t.clone(),
        Reference::Digest(d) => d.to_string(),
    }
}
