//! The temp-file side of an ingest: a writer task hands the queued chunks to blocking calls
//! that write them with `std::fs` and hash them, while the async side goes on reading the
//! source and forwarding to a client. Neither the disk nor the hash sits between the upstream
//! and the client's bytes. The queue is bounded in bytes, so a disk slower than the network
//! paces the transfer instead of filling memory.
use bytes::Bytes;
use sha2::{Digest as _, Sha512};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::IngestError;
use crate::domain::digest::{Digest, DigestBuilder};

/// Bytes queued for the writer at most; a chunk larger than this takes the whole budget.
const QUEUE_BYTES: usize = 4 * 1024 * 1024;
/// Small chunks are gathered into writes of this size.
const WRITE_BUFFER: usize = 256 * 1024;
/// Read size when the hash is computed from the finished file.
const REHASH_BUFFER: usize = 1024 * 1024;

/// When the writer hashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HashWhen {
    /// Chunk by chunk as they are written: the digest is ready as soon as the body ends.
    Inline,
    /// From the temp file once the body has ended: while a client is streaming a body that
    /// nothing has to verify, the hash then does not compete with it for CPU.
    AfterEnd,
}

/// What the writer learned about the body.
pub(super) struct Hashes {
    pub digest: Digest,
    pub size: u64,
    /// Hex sha512, when it was asked for.
    pub sha512: Option<String>,
}

enum Message {
    Chunk(Bytes, OwnedSemaphorePermit),
    /// The body is complete; anything else that closes the queue is an abort.
    End,
}

pub(super) struct Spool {
    queue: mpsc::UnboundedSender<Message>,
    budget: Arc<Semaphore>,
    writer: tokio::task::JoinHandle<std::io::Result<Hashes>>,
}

impl Spool {
    /// Starts the writer on `file`; `sha512` adds that hash to the sha256.
    pub fn start(file: std::fs::File, when: HashWhen, sha512: bool) -> Self {
        let (queue, messages) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_and_hash(file, messages, when, sha512));
        Spool {
            queue,
            budget: Arc::new(Semaphore::new(QUEUE_BYTES)),
            writer,
        }
    }

    /// Queues one chunk, waiting while the writer is `QUEUE_BYTES` behind.
    pub async fn push(&mut self, chunk: Bytes) -> Result<(), IngestError> {
        let want = u32::try_from(chunk.len().clamp(1, QUEUE_BYTES)).unwrap_or(u32::MAX);
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(want)
            .await
            .map_err(|_| writer_stopped())?;
        if self.queue.send(Message::Chunk(chunk, permit)).is_err() {
            // The writer stopped early, which only a write error does: report that error.
            return Err(self.join().await.err().unwrap_or_else(writer_stopped));
        }
        Ok(())
    }

    /// Marks the body complete and waits for the file to be written and hashed.
    pub async fn finish(mut self) -> Result<Hashes, IngestError> {
        // A failed send means the writer already stopped; `join` reports why.
        let _ = self.queue.send(Message::End);
        self.join().await
    }

    async fn join(&mut self) -> Result<Hashes, IngestError> {
        match (&mut self.writer).await {
            Ok(Ok(hashes)) => Ok(hashes),
            Ok(Err(e)) if crate::ports::error::is_storage_full(&e) => {
                Err(IngestError::InsufficientStorage(format!("temp file: {e}")))
            }
            Ok(Err(e)) => Err(IngestError::Unavailable(format!("temp file: {e}"))),
            Err(e) => Err(IngestError::Unavailable(format!("temp file writer: {e}"))),
        }
    }
}

fn writer_stopped() -> IngestError {
    IngestError::Unavailable("temp file writer stopped".into())
}

struct Hashers {
    sha256: DigestBuilder,
    sha512: Option<Sha512>,
}

impl Hashers {
    fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        if let Some(h) = self.sha512.as_mut() {
            h.update(bytes);
        }
    }
}

/// The file and hashes, moved into each blocking write and back.
struct Written {
    out: BufWriter<std::fs::File>,
    hashers: Hashers,
    bytes: u64,
    when: HashWhen,
}

impl Written {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.out.write_all(chunk)?;
        self.bytes += chunk.len() as u64;
        if self.when == HashWhen::Inline {
            self.hashers.update(chunk);
        }
        Ok(())
    }

    fn finish(self) -> std::io::Result<Hashes> {
        let Written {
            out,
            mut hashers,
            bytes,
            when,
        } = self;
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        if when == HashWhen::AfterEnd {
            file.seek(SeekFrom::Start(0))?;
            let mut buffer = vec![0u8; REHASH_BUFFER];
            loop {
                let n = file.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                hashers.update(&buffer[..n]);
            }
        }
        if hashers.sha256.len() != bytes {
            return Err(std::io::Error::other(format!(
                "temp file holds {} bytes, {bytes} were written",
                hashers.sha256.len()
            )));
        }
        Ok(Hashes {
            digest: hashers.sha256.finish(),
            size: bytes,
            sha512: hashers.sha512.map(|h| hex::encode(h.finalize())),
        })
    }
}

/// Waits for chunks as a task and writes whatever has queued up in one blocking call, so no
/// thread is held while a slow upstream sends nothing. Dropping the `Spool` without `finish`
/// (an interrupted or rejected body) ends it with an error and no rehash.
async fn write_and_hash(
    file: std::fs::File,
    mut messages: mpsc::UnboundedReceiver<Message>,
    when: HashWhen,
    sha512: bool,
) -> std::io::Result<Hashes> {
    let mut written = Written {
        out: BufWriter::with_capacity(WRITE_BUFFER, file),
        hashers: Hashers {
            sha256: DigestBuilder::default(),
            sha512: sha512.then(Sha512::new),
        },
        bytes: 0,
        when,
    };
    loop {
        let Some(first) = messages.recv().await else {
            return Err(std::io::Error::other("body abandoned before its end"));
        };
        let mut batch = Vec::new();
        let mut ended = false;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Chunk(chunk, permit) => batch.push((chunk, permit)),
                Message::End => ended = true,
            }
            if !ended {
                next = messages.try_recv().ok();
            }
        }
        written = blocking(move || {
            for (chunk, permit) in batch {
                written.write(&chunk)?;
                drop(permit);
            }
            Ok(written)
        })
        .await?;
        if ended {
            return blocking(move || written.finish()).await;
        }
    }
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> std::io::Result<T> + Send + 'static) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| std::io::Error::other(format!("blocking write: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn spool_through(
        file: std::fs::File,
        when: HashWhen,
        parts: &[&'static [u8]],
    ) -> Result<Hashes, IngestError> {
        let mut spool = Spool::start(file, when, true);
        for part in parts {
            spool.push(Bytes::from_static(part)).await?;
        }
        spool.finish().await
    }

    #[tokio::test]
    async fn hashing_inline_or_after_the_end_gives_the_same_digests() {
        let parts: &[&'static [u8]] = &[b"hello ", b"", b"world"];
        for when in [HashWhen::Inline, HashWhen::AfterEnd] {
            let file = tempfile::tempfile().unwrap();
            let hashes = spool_through(file, when, parts).await.unwrap();
            assert_eq!(hashes.digest, Digest::of_bytes(b"hello world"), "{when:?}");
            assert_eq!(hashes.size, 11);
            assert_eq!(hashes.sha512, Some(hex::encode(Sha512::digest(b"hello world"))));
        }
    }

    #[tokio::test]
    async fn a_write_error_is_reported_not_swallowed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("read-only");
        std::fs::write(&path, b"").unwrap();
        let read_only = std::fs::File::open(&path).unwrap();
        let big: &'static [u8] = Box::leak(vec![7u8; 2 * WRITE_BUFFER].into_boxed_slice());
        let err = spool_through(read_only, HashWhen::Inline, &[big, big])
            .await
            .err()
            .unwrap();
        assert!(
            matches!(err, IngestError::Unavailable(ref m) if m.contains("temp file")),
            "{err:?}"
        );
    }
}
