//! Web UI sessions: what the session cookie carries. The claims name the API token by the hash
//! of its secret (never the secret) and are sealed with ChaCha20-Poly1305 under a key derived
//! from an instance-wide signing key, so every replica can open a cookie and nobody without the
//! key can read, change or forge one. Revoking the API token ends its sessions.
use base64::Engine;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const PREFIX: &str = "aas.";
const NONCE_LEN: usize = 12;
/// Bound as associated data, so nothing else sealed under a related key opens as a session.
const PURPOSE: &[u8] = b"artifactapi-ui-session-v1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// A random id, so one session can be ended (logout) without touching the others.
    pub sid: String,
    /// `secret_hash` of the API token the user logged in with.
    pub sub: String,
    /// Unix seconds.
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("not a session")]
    Malformed,
    #[error("session cannot be opened with this key")]
    BadSeal,
    #[error("session expired")]
    Expired,
}

fn cipher(key_material: &[u8]) -> ChaCha20Poly1305 {
    let mut hasher = Sha256::new();
    hasher.update(PURPOSE);
    hasher.update(key_material);
    let key: [u8; 32] = hasher.finalize().into();
    ChaCha20Poly1305::new(&key.into())
}

/// Seals `claims` with a fresh random `nonce` (never reuse one under the same key).
pub fn seal(key_material: &[u8], nonce: [u8; NONCE_LEN], claims: &SessionClaims) -> Option<String> {
    let json = serde_json::to_vec(claims).ok()?;
    let sealed = cipher(key_material)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &json,
                aad: PURPOSE,
            },
        )
        .ok()?;
    let mut raw = nonce.to_vec();
    raw.extend_from_slice(&sealed);
    Some(format!("{PREFIX}{}", B64.encode(raw)))
}

/// Opens what `seal` produced and checks expiry at `now` (unix seconds).
pub fn open(key_material: &[u8], value: &str, now: i64) -> Result<SessionClaims, SessionError> {
    let raw = value
        .strip_prefix(PREFIX)
        .and_then(|b| B64.decode(b).ok())
        .filter(|r| r.len() > NONCE_LEN)
        .ok_or(SessionError::Malformed)?;
    let (nonce, sealed) = raw.split_at(NONCE_LEN);
    let json = cipher(key_material)
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: PURPOSE,
            },
        )
        .map_err(|_| SessionError::BadSeal)?;
    let claims: SessionClaims = serde_json::from_slice(&json).map_err(|_| SessionError::Malformed)?;
    if claims.exp <= now {
        return Err(SessionError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> SessionClaims {
        SessionClaims {
            sid: "s1".into(),
            sub: "0123abcd".into(),
            exp: 100,
        }
    }

    #[test]
    fn round_trip_hides_the_claims_and_rejects_tampering() {
        let value = seal(b"key", [7; NONCE_LEN], &claims()).unwrap();
        assert!(value.starts_with(PREFIX));
        assert!(!value.contains("0123abcd"));
        let decoded = B64.decode(&value[PREFIX.len()..]).unwrap();
        assert!(!String::from_utf8_lossy(&decoded).contains("0123abcd"));
        assert_eq!(open(b"key", &value, 99), Ok(claims()));
        assert_eq!(open(b"key", &value, 100), Err(SessionError::Expired));
        assert_eq!(open(b"other key", &value, 0), Err(SessionError::BadSeal));
        let mut flipped = decoded.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        let tampered = format!("{PREFIX}{}", B64.encode(flipped));
        assert_eq!(open(b"key", &tampered, 0), Err(SessionError::BadSeal));
        for bad in ["", "aas.", "aas.!!", "aas.AAAA", "aa_token"] {
            assert_eq!(open(b"key", bad, 0), Err(SessionError::Malformed), "{bad}");
        }
    }

    #[test]
    fn different_nonces_give_different_cookies() {
        let a = seal(b"key", [1; NONCE_LEN], &claims()).unwrap();
        let b = seal(b"key", [2; NONCE_LEN], &claims()).unwrap();
        assert_ne!(a, b);
    }
}
