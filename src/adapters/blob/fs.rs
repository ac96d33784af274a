//! `BlobStore` on a local directory.
//!
//! Every write is staged in `<root>/.tmp` (same filesystem as the objects), fsynced, then renamed
//! into place, so a reader sees a whole object or none. A delete-on-drop guard removes the staged
//! file when the body fails or the request is abandoned mid-way.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::BTreeSet;
use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use tokio::fs::{self, File};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio_util::io::ReaderStream;

use super::key::{STAGING_DIR, check_key, check_prefix};
use crate::domain::range::ByteSpan;
use crate::ports::{BlobMeta, BlobObject, BlobStore, ByteStream, ListedKey, PortError};

/// Read and write buffer size: memory per transfer stays at a few of these.
const CHUNK: usize = 64 * 1024;
/// Reads are larger: fewer syscalls and chunks per GiB served, still bounded per transfer.
const READ_CHUNK: usize = 256 * 1024;

pub struct FsBlobStore {
    root: PathBuf,
    staging: PathBuf,
}

impl FsBlobStore {
    /// Opens (creating if needed) a store rooted at `root`, with its staging directory.
    pub fn open(root: PathBuf) -> Result<Self, PortError> {
        let staging = root.join(STAGING_DIR);
        std::fs::create_dir_all(&staging).map_err(|e| io_err("create", &staging, e))?;
        Ok(Self { root, staging })
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, PortError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    fn stage(&self) -> Staged {
        Staged {
            path: self.staging.join(format!("{}.part", uuid::Uuid::new_v4())),
            armed: true,
        }
    }

    /// Moves a complete, fsynced staged file to `dest` and makes the rename durable.
    async fn publish(&self, mut staged: Staged, dest: &Path) -> Result<(), PortError> {
        let parent = dest.parent().unwrap_or(&self.root);
        fs::create_dir_all(parent)
            .await
            .map_err(|e| io_err("create", parent, e))?;
        fs::rename(&staged.path, dest)
            .await
            .map_err(|e| io_err("rename into", dest, e))?;
        staged.armed = false;
        // Best effort: make the new directory entry durable. The data is already fsynced and the
        // object visible, so a failure here is not worth failing the write for.
        if let Ok(dir) = File::open(parent).await {
            let _ = dir.sync_all().await;
        }
        Ok(())
    }
}

/// A file in the staging directory, removed on drop unless it was published.
struct Staged {
    path: PathBuf,
    armed: bool,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &str, mut body: ByteStream, _size_hint: Option<u64>) -> Result<(), PortError> {
        let dest = self.path_of(key)?;
        let staged = self.stage();
        let file = File::create(&staged.path)
            .await
            .map_err(|e| io_err("create", &staged.path, e))?;
        let mut writer = BufWriter::with_capacity(CHUNK, file);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| PortError::Interrupted(e.to_string()))?;
            writer
                .write_all(&chunk)
                .await
                .map_err(|e| io_err("write", &staged.path, e))?;
        }
        writer.flush().await.map_err(|e| io_err("write", &staged.path, e))?;
        writer
            .get_ref()
            .sync_all()
            .await
            .map_err(|e| io_err("fsync", &staged.path, e))?;
        drop(writer);
        self.publish(staged, &dest).await
    }

    async fn put_file(&self, key: &str, file: &Path, size: u64) -> Result<(), PortError> {
        let dest = self.path_of(key)?;
        let meta = fs::metadata(file).await.map_err(|e| io_err("stat", file, e))?;
        if meta.len() != size {
            return Err(PortError::Backend(format!(
                "put_file {}: size is {} bytes, caller said {size}",
                file.display(),
                meta.len()
            )));
        }
        let staged = self.stage();
        // A hard link avoids copying the bytes; across filesystems (or where links are not
        // supported) fall back to a copy.
        if fs::hard_link(file, &staged.path).await.is_err() {
            fs::copy(file, &staged.path)
                .await
                .map_err(|e| io_err("copy", file, e))?;
        }
        let linked = File::open(&staged.path)
            .await
            .map_err(|e| io_err("open", &staged.path, e))?;
        linked.sync_all().await.map_err(|e| io_err("fsync", &staged.path, e))?;
        drop(linked);
        self.publish(staged, &dest).await
    }

    async fn get(&self, key: &str, span: Option<ByteSpan>) -> Result<BlobObject, PortError> {
        let path = self.path_of(key)?;
        // Open, stat and (for small objects) read in one blocking hop: each tokio fs call is a
        // thread handoff, and small files are the common case for indexes and metadata.
        let opened = tokio::task::spawn_blocking(move || open_for_read(path, span))
            .await
            .map_err(|e| PortError::Backend(format!("blocking read task: {e}")))??;
        let body: ByteStream = match opened.content {
            Content::Small(bytes) => Box::pin(futures::stream::once(async move { Ok(bytes) })),
            Content::Large(file) => {
                let file = File::from_std(file);
                match span {
                    None => Box::pin(ReaderStream::with_capacity(file, READ_CHUNK)),
                    Some(span) => Box::pin(ReaderStream::with_capacity(file.take(span.len()), READ_CHUNK)),
                }
            }
        };
        Ok(BlobObject {
            meta: opened.meta,
            body,
        })
    }

    async fn stat(&self, key: &str) -> Result<Option<BlobMeta>, PortError> {
        let path = self.path_of(key)?;
        match fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => Ok(Some(to_meta(&meta))),
            Ok(_) => Ok(None),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(io_err("stat", &path, e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), PortError> {
        let path = self.path_of(key)?;
        match fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(io_err("remove", &path, e)),
        }
    }

    async fn list(&self, prefix: &str, after: Option<String>, limit: usize) -> Result<Vec<ListedKey>, PortError> {
        check_prefix(prefix)?;
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || walk_page(&root, &prefix, after.as_deref(), limit))
            .await
            .map_err(PortError::backend)?
            .map_err(|e| io_err("list", &self.root, e))
    }

    async fn check(&self) -> Result<(), PortError> {
        let probe = self.stage();
        let mut file = File::create(&probe.path)
            .await
            .map_err(|e| io_err("create", &probe.path, e))?;
        file.write_all(b"probe")
            .await
            .map_err(|e| io_err("write", &probe.path, e))?;
        file.sync_all().await.map_err(|e| io_err("fsync", &probe.path, e))?;
        drop(file);
        fs::remove_file(&probe.path)
            .await
            .map_err(|e| io_err("remove", &probe.path, e))
    }
}

/// The first `limit` keys under `prefix` after `after`, in byte order. Directory entries come
/// in no order, so the walk keeps the `limit` smallest candidates in a bounded set: a page costs
/// a walk of what can still hold later keys, but memory stays at one page whatever the size of
/// a directory. Directories whose every key sorts before `after`, or after a full page's last
/// key, are not entered.
fn walk_page(root: &Path, prefix: &str, after: Option<&str>, limit: usize) -> io::Result<Vec<ListedKey>> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let start = prefix.rfind('/').map_or("", |i| &prefix[..i]);
    let mut pending = vec![start.to_owned()];
    let mut page: BTreeSet<String> = BTreeSet::new();
    while let Some(rel) = pending.pop() {
        let entries = match std::fs::read_dir(root.join(&rel)) {
            Ok(entries) => entries,
            Err(e) if is_missing(&e) => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue; // not a key this store wrote
            };
            if rel.is_empty() && name == STAGING_DIR {
                continue;
            }
            let key = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let beyond_page = |k: &str| page.len() == limit && page.last().is_some_and(|last| k >= last.as_str());
            let file_type = match entry.file_type() {
                Ok(t) => t,
                Err(e) if is_missing(&e) => continue, // deleted while listing
                Err(e) => return Err(e),
            };
            if file_type.is_dir() {
                let dir = format!("{key}/");
                let may_match = dir.starts_with(prefix) || prefix.starts_with(&dir);
                // Keys inside all sort before `after` unless it is inside or before the directory.
                let may_follow = after.is_none_or(|a| a.starts_with(&dir) || dir.as_str() > a);
                if may_match && may_follow && !beyond_page(&dir) {
                    pending.push(key);
                }
            } else if file_type.is_file()
                && key.starts_with(prefix)
                && after.is_none_or(|a| key.as_str() > a)
                && !beyond_page(&key)
            {
                page.insert(key);
                if page.len() > limit {
                    page.pop_last();
                }
            }
        }
    }
    let mut listed = Vec::with_capacity(page.len());
    for key in page {
        match std::fs::metadata(root.join(&key)) {
            Ok(meta) => listed.push(ListedKey {
                key,
                meta: to_meta(&meta),
            }),
            Err(e) if is_missing(&e) => continue, // deleted while listing
            Err(e) => return Err(e),
        }
    }
    Ok(listed)
}

/// Objects up to this size are read whole in the opening hop.
const SMALL_OBJECT: u64 = 256 * 1024;

enum Content {
    Small(bytes::Bytes),
    /// Positioned at the span's start.
    Large(std::fs::File),
}

struct Opened {
    meta: BlobMeta,
    content: Content,
}

fn open_for_read(path: PathBuf, span: Option<ByteSpan>) -> Result<Opened, PortError> {
    use std::io::{Read, Seek};
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if is_missing(&e) => return Err(PortError::NotFound),
        Err(e) => return Err(io_err("open", &path, e)),
    };
    let stat = file.metadata().map_err(|e| io_err("stat", &path, e))?;
    if !stat.is_file() {
        return Err(PortError::NotFound);
    }
    let meta = to_meta(&stat);
    let (start, len) = match span {
        None => (0, meta.size),
        Some(span) if span.end < meta.size => (span.start, span.len()),
        Some(span) => {
            return Err(PortError::Backend(format!(
                "span {}-{} is outside {} ({} bytes)",
                span.start,
                span.end,
                path.display(),
                meta.size
            )));
        }
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start))
            .map_err(|e| io_err("seek", &path, e))?;
    }
    if len > SMALL_OBJECT {
        return Ok(Opened {
            meta,
            content: Content::Large(file),
        });
    }
    let mut buffer = Vec::with_capacity(len as usize);
    file.take(len)
        .read_to_end(&mut buffer)
        .map_err(|e| io_err("read", &path, e))?;
    if (buffer.len() as u64) < len {
        return Err(PortError::Backend(format!(
            "{} shrank while being read",
            path.display()
        )));
    }
    Ok(Opened {
        meta,
        content: Content::Small(bytes::Bytes::from(buffer)),
    })
}

fn to_meta(meta: &std::fs::Metadata) -> BlobMeta {
    BlobMeta {
        size: meta.len(),
        last_modified: meta.modified().ok().map(DateTime::<Utc>::from),
    }
}

/// A missing file, or a path whose parent is a file (`a/b` when `a` is an object).
fn is_missing(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
}

fn io_err(op: &str, path: &Path, e: io::Error) -> PortError {
    PortError::io(format_args!("{op} {}", path.display()), &e)
}
