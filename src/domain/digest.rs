//! Content digests (`sha256:<hex>`), the identity of every stored blob.
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::str::FromStr;

/// A validated content digest. Only sha256 is supported: it is what OCI, PyPI and our CAS use.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("unsupported digest algorithm '{0}' (only sha256 is supported)")]
    UnsupportedAlgorithm(String),
    #[error("a sha256 digest is 64 lowercase hex characters")]
    InvalidHex,
}

impl Digest {
    /// Parses `sha256:<64 hex>`.
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        match s.split_once(':') {
            Some(("sha256", hex)) => Self::from_sha256_hex(hex),
            Some((alg, _)) => Err(DigestError::UnsupportedAlgorithm(alg.to_string())),
            None => Err(DigestError::InvalidHex),
        }
    }

    /// Accepts a bare 64-character hex string (as in `X-Checksum-Sha256`); upper case is folded.
    pub fn from_sha256_hex(hex: &str) -> Result<Self, DigestError> {
        let hex = hex.trim().to_ascii_lowercase();
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self { hex })
        } else {
            Err(DigestError::InvalidHex)
        }
    }

    pub fn of_bytes(data: &[u8]) -> Self {
        Self {
            hex: hex::encode(Sha256::digest(data)),
        }
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The blob store key of this content (DESIGN §5).
    pub fn blob_key(&self) -> String {
        format!("blobs/sha256/{}", self.hex)
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

impl FromStr for Digest {
    type Err = DigestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Incremental sha256 used while a body streams through.
#[derive(Default, Clone)]
pub struct DigestBuilder {
    hasher: Sha256,
    len: u64,
}

impl DigestBuilder {
    pub fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn finish(self) -> Digest {
        Digest {
            hex: hex::encode(self.hasher.finalize()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_rejects() {
        let table: &[(&str, Result<&str, DigestError>)] = &[
            (&format!("sha256:{EMPTY}"), Ok(EMPTY)),
            ("sha512:abcd", Err(DigestError::UnsupportedAlgorithm("sha512".into()))),
            ("sha256:abcd", Err(DigestError::InvalidHex)),
            ("no-colon", Err(DigestError::InvalidHex)),
            (&format!("sha256:{}", "g".repeat(64)), Err(DigestError::InvalidHex)),
        ];
        for (input, expected) in table {
            let got = Digest::parse(input).map(|d| d.hex().to_string());
            assert_eq!(got, expected.clone().map(str::to_string), "input {input}");
        }
    }

    #[test]
    fn bare_hex_is_case_folded() {
        let d = Digest::from_sha256_hex(&EMPTY.to_uppercase()).unwrap();
        assert_eq!(d.to_string(), format!("sha256:{EMPTY}"));
        assert_eq!(d.blob_key(), format!("blobs/sha256/{EMPTY}"));
    }

    #[test]
    fn builder_matches_one_shot() {
        let mut b = DigestBuilder::default();
        b.update(b"hello ");
        b.update(b"world");
        assert_eq!(b.len(), 11);
        assert_eq!(b.finish(), Digest::of_bytes(b"hello world"));
        assert_eq!(DigestBuilder::default().finish().hex(), EMPTY);
    }
}
