//! Encryption at rest for upstream passwords (DESIGN §3: write-only, encrypted at rest).
//!
//! ChaCha20-Poly1305 with a random 12-byte nonce per value, stored as `base64(nonce || ciphertext)`.
//! The repository name is bound as associated data, so a ciphertext copied onto another row does
//! not decrypt there.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};
use rand::Rng as _;

use crate::ports::PortError;

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(&key.into()),
        }
    }

    /// Encrypts `plaintext` for the row identified by `context`.
    pub fn seal(&self, plaintext: &str, context: &str) -> Result<String, PortError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill(&mut nonce);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: context.as_bytes(),
        };
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| PortError::Backend("cannot encrypt a stored secret".into()))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(STANDARD.encode(sealed))
    }

    /// Decrypts what `seal` produced for the same `context`. A wrong key (for example a changed
    /// `secret_key`) or a tampered value is a backend error that names neither.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, PortError> {
        let undecryptable = || {
            PortError::Backend(format!(
                "stored secret of '{context}' cannot be decrypted (wrong secret key?)"
            ))
        };
        let raw = STANDARD.decode(sealed).map_err(|_| undecryptable())?;
        if raw.len() < NONCE_LEN {
            return Err(undecryptable());
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: context.as_bytes(),
        };
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| undecryptable())?;
        String::from_utf8(plain).map_err(|_| undecryptable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_fresh_nonces() {
        let b = SecretBox::new([7; 32]);
        let one = b.seal("hunter2", "repo").unwrap();
        let two = b.seal("hunter2", "repo").unwrap();
        assert_ne!(one, two, "a fresh nonce per value");
        assert!(!one.contains("hunter2"));
        assert_eq!(b.open(&one, "repo").unwrap(), "hunter2");
    }

    #[test]
    fn refuses_wrong_key_context_or_garbage() {
        let b = SecretBox::new([7; 32]);
        let sealed = b.seal("hunter2", "repo").unwrap();
        assert!(SecretBox::new([8; 32]).open(&sealed, "repo").is_err());
        assert!(b.open(&sealed, "other").is_err());
        for garbage in ["", "AAAA", "not base64!"] {
            let err = b.open(garbage, "repo").unwrap_err();
            assert!(!err.to_string().contains("hunter2"));
        }
    }
}
