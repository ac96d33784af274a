//! Pulls of local manifests by digest, noted in memory and written in batches (the same
//! `TimeBatch` as cache hits: every `FLUSH_EVERY`, one statement per repository and 500 paths),
//! so untagged-manifest retention can keep manifests pulled recently without a write per pull.
use std::sync::Arc;

use crate::app::proxy::last_access::{FLUSH_EVERY, MAX_PENDING, TimeBatch};
use crate::ports::{Clock, HostedFile, HostedFiles, PortError};

pub struct PullRecorder {
    files: Arc<dyn HostedFiles>,
    clock: Arc<dyn Clock>,
    batch: TimeBatch,
}

impl PullRecorder {
    pub fn new(files: Arc<dyn HostedFiles>, clock: Arc<dyn Clock>) -> Self {
        Self {
            files,
            clock,
            batch: TimeBatch::new(MAX_PENDING),
        }
    }

    /// Notes a pull of the manifest `row`: no IO.
    pub fn record(&self, row: &HostedFile) {
        self.batch.note(&row.repo, &row.path, self.clock.now());
    }

    /// Writes what was noted; returns how many rows. A repository whose write failed loses
    /// its notes (its manifests look pulled longer ago than they were).
    pub async fn flush(&self) -> Result<usize, PortError> {
        let mut written = 0;
        let mut failure = None;
        for (repo, (paths, at)) in self.batch.take() {
            match self.files.touch_pulled(&repo, &paths, at).await {
                Ok(()) => written += paths.len(),
                Err(e) => failure = Some(e),
            }
        }
        failure.map_or(Ok(written), Err)
    }

    /// `flush`, a failure only logged (retention goes on with what was written).
    pub async fn flush_logged(&self) {
        if let Err(e) = self.flush().await {
            tracing::warn!(error = %e, "manifest pulls not written");
        }
    }

    pub fn spawn_flusher(self: Arc<Self>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                self.batch.tick(FLUSH_EVERY).await;
                if let Err(e) = self.flush().await {
                    tracing::warn!(error = %e, "could not record manifest pulls");
                }
            }
        })
    }
}
