//! The OCI blob upload state machine (DESIGN §3). Serialisable, so the state lives outside the
//! process and any replica can continue an upload.
use serde::{Deserialize, Serialize};

use crate::domain::digest::Digest;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum UploadState {
    Started,
    Receiving { offset: u64 },
    Committed { digest: String },
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadTransitionError {
    /// A chunk that does not start where the previous one ended (HTTP 416).
    #[error("chunk starts at {got}, expected {expected}")]
    OutOfOrder { expected: u64, got: u64 },
    #[error("upload is already {0}")]
    Finished(&'static str),
}

impl UploadState {
    pub fn offset(&self) -> u64 {
        match self {
            UploadState::Receiving { offset } => *offset,
            _ => 0,
        }
    }

    /// Accepts `len` bytes starting at `start`.
    pub fn append(&self, start: u64, len: u64) -> Result<UploadState, UploadTransitionError> {
        self.ensure_open()?;
        let expected = self.offset();
        if start != expected {
            return Err(UploadTransitionError::OutOfOrder { expected, got: start });
        }
        Ok(UploadState::Receiving { offset: expected + len })
    }

    pub fn commit(&self, digest: &Digest) -> Result<UploadState, UploadTransitionError> {
        self.ensure_open()?;
        Ok(UploadState::Committed {
            digest: digest.to_string(),
        })
    }

    pub fn cancel(&self) -> Result<UploadState, UploadTransitionError> {
        self.ensure_open()?;
        Ok(UploadState::Cancelled)
    }

    fn ensure_open(&self) -> Result<(), UploadTransitionError> {
        match self {
            UploadState::Committed { .. } => Err(UploadTransitionError::Finished("committed")),
            UploadState::Cancelled => Err(UploadTransitionError::Finished("cancelled")),
            UploadState::Started | UploadState::Receiving { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        let d = Digest::of_bytes(b"x");
        let s = UploadState::Started;
        let s = s.append(0, 10).unwrap();
        assert_eq!(s, UploadState::Receiving { offset: 10 });
        assert_eq!(
            s.append(5, 1),
            Err(UploadTransitionError::OutOfOrder { expected: 10, got: 5 })
        );
        assert_eq!(
            s.append(11, 1),
            Err(UploadTransitionError::OutOfOrder { expected: 10, got: 11 })
        );
        let s = s.append(10, 5).unwrap();
        assert_eq!(s.offset(), 15);
        let done = s.commit(&d).unwrap();
        assert_eq!(done.append(15, 1), Err(UploadTransitionError::Finished("committed")));
        assert_eq!(done.cancel(), Err(UploadTransitionError::Finished("committed")));
        let cancelled = UploadState::Started.cancel().unwrap();
        assert_eq!(cancelled.commit(&d), Err(UploadTransitionError::Finished("cancelled")));
    }

    #[test]
    fn serialises_with_a_tag() {
        let json = serde_json::to_string(&UploadState::Receiving { offset: 3 }).unwrap();
        assert_eq!(json, r#"{"state":"receiving","offset":3}"#);
        assert_eq!(
            serde_json::from_str::<UploadState>(&json).unwrap(),
            UploadState::Receiving { offset: 3 }
        );
    }
}
