//! Checks an uploaded provider archive while it streams into the content store: the zip's end is
//! only known at the end of the body, so the check runs as the last step of the stream, and a
//! refusal fails the stream before the store commits anything.
use futures::StreamExt;
use std::sync::{Arc, Mutex};

use crate::domain::formats::terraform::hosted::ArchiveCheck;
use crate::ports::ByteStream;

/// Why the archive was refused, once the stream has ended with an error.
#[derive(Clone, Default)]
pub struct Verdict(Arc<Mutex<Option<String>>>);

impl Verdict {
    pub fn refusal(&self) -> Option<String> {
        self.0.lock().ok().and_then(|v| v.clone())
    }

    fn refuse(&self, reason: String) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(reason);
        }
    }
}

/// `body` passed through `check`; at its end a bad archive becomes an error item.
pub fn inspected(body: ByteStream, check: ArchiveCheck) -> (ByteStream, Verdict) {
    let verdict = Verdict::default();
    let state = (body, Some(check), verdict.clone());
    let stream = futures::stream::unfold(state, |(mut body, mut check, verdict)| async move {
        let active = check.as_mut()?;
        match body.next().await {
            Some(Ok(chunk)) => {
                active.push(&chunk);
                Some((Ok(chunk), (body, check, verdict)))
            }
            Some(Err(e)) => Some((Err(e), (body, None, verdict))),
            None => match check.take().map(ArchiveCheck::finish) {
                Some(Err(reason)) => {
                    verdict.refuse(reason.clone());
                    Some((Err(std::io::Error::other(reason)), (body, None, verdict)))
                }
                _ => None,
            },
        }
    });
    (Box::pin(stream), verdict)
}
