//! npm's registry write protocol on a local (or, through it, a virtual) npm repository:
//! `PUT /<name>` (publish, or deprecate when it carries no tarball), `PUT /<name>/-rev/<rev>`
//! and `DELETE …/-rev/<rev>` (unpublish), `/-/package/<name>/dist-tags[/<tag>]`, `/-/whoami`.
//!
//! A publish body is JSON with the tarball base64-encoded in `_attachments`: it is read as a
//! stream on a blocking thread, the tarball decoded into an anonymous temp file (hashed on the
//! way) and the rest kept as a bounded document, so memory does not grow with the tarball.
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use poem::http::StatusCode;
use poem::{Body, Response};
use serde_json::{Map, Value, json};
use sha1::Digest as _;
use struson::reader::{JsonReader, JsonStreamReader};

use super::super::AppState;
use super::super::errors::HttpError;
use crate::app::auth::Principal;
use crate::app::hosted::npm::{NpmPublish, NpmTarball};
use crate::domain::formats::npm::merge::member_file;
use crate::domain::path::ArtifactPath;

/// The publish document without its tarball: bigger than any real packument with a readme.
const MAX_DOCUMENT_BYTES: u64 = 8 * 1024 * 1024;

fn bad(message: impl Into<String>) -> HttpError {
    HttpError::new(StatusCode::BAD_REQUEST, "INVALID_PACKAGE", message)
}

fn ok(status: StatusCode, doc: Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(doc.to_string())
}

/// What an npm write to `path` (relative to the repository) asks for.
#[derive(Debug, PartialEq)]
pub enum NpmWrite<'a> {
    /// `PUT <name>`: publish, or a metadata update without a tarball.
    Packument(&'a str),
    /// `PUT <name>/-rev/<rev>`: a metadata update that may drop versions.
    Revision(&'a str),
    /// `DELETE <name>/-rev/<rev>`: the whole package.
    Unpublish(&'a str),
    /// `DELETE <name>/-/<file>.tgz[/-rev/<rev>]`.
    Tarball(String),
    SetTag {
        name: &'a str,
        tag: &'a str,
    },
    RemoveTag {
        name: &'a str,
        tag: &'a str,
    },
}

/// Classifies an npm write. `prefix` is the repository's own path (`api/v1/local/<repo>/`):
/// npm's unpublish names a tarball by its URL path below the registry URL, which repeats it.
pub fn classify<'a>(delete: bool, path: &'a str, prefix: &str) -> Option<NpmWrite<'a>> {
    if let Some(rest) = path.strip_prefix("-/package/") {
        let (name, tag) = rest.rsplit_once("/dist-tags/")?;
        return Some(if delete {
            NpmWrite::RemoveTag { name, tag }
        } else {
            NpmWrite::SetTag { name, tag }
        });
    }
    let (target, revision) = match path.rsplit_once("/-rev/") {
        Some((target, rev)) if !rev.contains('/') => (target, true),
        _ => (path, false),
    };
    let target = target.strip_prefix(prefix).unwrap_or(target);
    // Through a virtual, a tarball is linked under the member that holds it.
    let target = member_file(target).map_or(target, |file| file.path);
    if crate::domain::formats::npm::hosted::tarball_package(target).is_some() {
        return delete.then(|| NpmWrite::Tarball(target.to_string()));
    }
    if target.contains("/-/") || target.starts_with("-/") {
        return None;
    }
    Some(match (delete, revision) {
        (false, false) => NpmWrite::Packument(target),
        (false, true) => NpmWrite::Revision(target),
        (true, true) => NpmWrite::Unpublish(target),
        (true, false) => return None,
    })
}

/// `GET -/whoami`: the token's name.
pub fn whoami(principal: &Principal) -> Result<Response, HttpError> {
    match principal {
        Principal::Token { name, .. } => Ok(ok(StatusCode::OK, json!({ "username": name }))),
        Principal::Anonymous => Err(crate::domain::error::AuthError::MissingToken.into()),
    }
}

/// Carries out `write` on the local repository `repo` (already authorised).
pub async fn write(write: NpmWrite<'_>, body: Body, repo: &str, state: &AppState) -> Result<Response, HttpError> {
    let hosted = &state.hosted;
    match write {
        NpmWrite::Packument(name) | NpmWrite::Revision(name) => {
            let removal = matches!(write, NpmWrite::Revision(_));
            let parsed = parse_body(body, state.hosted.cas.scratch_dir().to_path_buf(), hosted_limit(state)).await?;
            match parsed.tarball {
                Some(tarball) if !removal => {
                    let record = hosted
                        .npm_publish(NpmPublish {
                            repo: repo.to_string(),
                            name: name.to_string(),
                            doc: parsed.doc,
                            tarball,
                        })
                        .await?;
                    state.metrics.count_received(repo, 201, record.size);
                    tracing::info!(repository = repo, package = %record.name, version = %record.version, digest = %record.digest, "published");
                    state.events.publish("upload", repo, Some(record.path.as_str())).await;
                    Ok(ok(StatusCode::CREATED, json!({"ok": true, "id": record.name})))
                }
                Some(_) => Err(bad("a -rev update carries no tarball")),
                None => {
                    hosted.npm_update(repo, name, &parsed.doc, removal).await?;
                    state.events.publish("update", repo, Some(name)).await;
                    Ok(ok(StatusCode::OK, json!({"ok": true, "id": name})))
                }
            }
        }
        NpmWrite::Unpublish(name) => {
            hosted.npm_unpublish(repo, name).await?;
            state.events.publish("delete", repo, Some(name)).await;
            Ok(ok(StatusCode::OK, json!({"ok": true})))
        }
        NpmWrite::Tarball(path) => {
            let path = ArtifactPath::parse(&path).map_err(crate::domain::error::HostedError::from)?;
            hosted.delete(repo, &path).await?;
            state.events.publish("delete", repo, Some(path.as_str())).await;
            Ok(ok(StatusCode::OK, json!({"ok": true})))
        }
        NpmWrite::SetTag { name, tag } => {
            let bytes = body
                .into_bytes_limit(1024)
                .await
                .map_err(|e| bad(format!("expected a JSON string naming a version: {e}")))?;
            let version: String = serde_json::from_slice(&bytes)
                .map_err(|e| bad(format!("expected a JSON string naming a version: {e}")))?;
            hosted.npm_set_tag(repo, name, tag, &version).await?;
            Ok(ok(StatusCode::CREATED, json!({"ok": true})))
        }
        NpmWrite::RemoveTag { name, tag } => {
            hosted.npm_remove_tag(repo, name, tag).await?;
            Ok(ok(StatusCode::OK, json!({"ok": true})))
        }
    }
}

fn hosted_limit(state: &AppState) -> u64 {
    state.hosted.max_upload()
}

/// A publish body, parsed.
struct Parsed {
    doc: Value,
    tarball: Option<NpmTarball>,
}

async fn parse_body(body: Body, scratch: PathBuf, limit: u64) -> Result<Parsed, HttpError> {
    let reader = tokio_util::io::SyncIoBridge::new(body.into_async_read());
    let parsed = tokio::task::spawn_blocking(move || parse_publish(reader, &scratch, limit))
        .await
        .map_err(|e| HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", e.to_string()))??;
    let (doc, tarball) = parsed;
    let tarball = match tarball {
        Some(decoded) => {
            let file = tokio::fs::File::from_std(decoded.file);
            Some(NpmTarball {
                filename: decoded.filename,
                body: Box::pin(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024)),
                size: decoded.size,
                sha512: decoded.sha512,
                sha1: decoded.sha1,
            })
        }
        None => None,
    };
    Ok(Parsed { doc, tarball })
}

/// A tarball decoded to an anonymous temp file.
struct Decoded {
    filename: String,
    file: std::fs::File,
    size: u64,
    sha512: String,
    sha1: String,
}

/// Counts what the JSON reader pulls outside the tarball's string, and refuses past the bound.
struct Budget<R> {
    inner: R,
    in_data: Arc<AtomicBool>,
    document: Arc<AtomicU64>,
}

impl<R: Read> Read for Budget<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if !self.in_data.load(Ordering::Relaxed) {
            let total = self.document.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
            if total > MAX_DOCUMENT_BYTES {
                return Err(std::io::Error::other(format!(
                    "the packument is larger than {MAX_DOCUMENT_BYTES} bytes"
                )));
            }
        }
        Ok(n)
    }
}

fn parse_error(e: impl std::fmt::Display) -> HttpError {
    bad(format!("malformed publish body: {e}"))
}

fn parse_publish(
    reader: impl Read,
    scratch: &std::path::Path,
    limit: u64,
) -> Result<(Value, Option<Decoded>), HttpError> {
    let in_data = Arc::new(AtomicBool::new(false));
    let budget = Budget {
        inner: reader,
        in_data: Arc::clone(&in_data),
        document: Arc::new(AtomicU64::new(0)),
    };
    let mut json = JsonStreamReader::new(budget);
    json.begin_object().map_err(parse_error)?;
    let mut doc = Map::new();
    let mut tarball = None;
    while json.has_next().map_err(parse_error)? {
        let key = json.next_name_owned().map_err(parse_error)?;
        if key != "_attachments" {
            let value: Value = json.deserialize_next().map_err(parse_error)?;
            doc.insert(key, value);
            continue;
        }
        json.begin_object().map_err(parse_error)?;
        while json.has_next().map_err(parse_error)? {
            let filename = json.next_name_owned().map_err(parse_error)?;
            if tarball.is_some() {
                return Err(bad("a publish carries exactly one tarball"));
            }
            json.begin_object().map_err(parse_error)?;
            let mut decoded = None;
            let mut length = None;
            while json.has_next().map_err(parse_error)? {
                match json.next_name_owned().map_err(parse_error)?.as_str() {
                    "data" => {
                        in_data.store(true, Ordering::Relaxed);
                        let data = json.next_string_reader().map_err(parse_error)?;
                        let result = decode(data, scratch, limit);
                        in_data.store(false, Ordering::Relaxed);
                        decoded = Some(result?);
                    }
                    "length" => length = Some(json.deserialize_next::<u64>().map_err(parse_error)?),
                    _ => json.skip_value().map_err(parse_error)?,
                }
            }
            json.end_object().map_err(parse_error)?;
            let (file, size, sha512, sha1) =
                decoded.ok_or_else(|| bad(format!("attachment '{filename:.100}' has no data")))?;
            if length.is_some_and(|l| l != size) {
                return Err(bad(format!(
                    "attachment '{filename:.100}' says {} bytes but holds {size}",
                    length.unwrap_or_default()
                )));
            }
            tarball = Some(Decoded {
                filename,
                file,
                size,
                sha512,
                sha1,
            });
        }
        json.end_object().map_err(parse_error)?;
    }
    json.end_object().map_err(parse_error)?;
    json.consume_trailing_whitespace().map_err(parse_error)?;
    Ok((Value::Object(doc), tarball))
}

/// Decodes base64 from `data` into a temp file, hashing it; refused past `limit` bytes.
fn decode(
    data: impl Read,
    scratch: &std::path::Path,
    limit: u64,
) -> Result<(std::fs::File, u64, String, String), HttpError> {
    let storage = |e: std::io::Error| {
        HttpError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "INSUFFICIENT_STORAGE",
            format!("cannot spool the tarball: {e}"),
        )
    };
    std::fs::create_dir_all(scratch).map_err(storage)?;
    let mut file = tempfile::tempfile_in(scratch).map_err(storage)?;
    let mut decoder = base64::read::DecoderReader::new(data, &base64::engine::general_purpose::STANDARD);
    let mut sha512 = sha2::Sha512::new();
    let mut sha1 = sha1::Sha1::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = decoder
            .read(&mut buf)
            .map_err(|e| bad(format!("the tarball is not valid base64: {e}")))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > limit {
            return Err(crate::domain::error::HostedError::TooLarge { limit }.into());
        }
        sha512.update(&buf[..n]);
        sha1.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(storage)?;
    }
    file.rewind().map_err(storage)?;
    Ok((file, size, hex::encode(sha512.finalize()), hex::encode(sha1.finalize())))
}

#[cfg(test)]
#[path = "npm_tests.rs"]
mod tests;
