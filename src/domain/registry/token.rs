//! Short-lived registry bearer tokens (`GET /v2/token`), as docker and podman expect after a
//! `WWW-Authenticate: Bearer` challenge. A token names the API token it was issued for by the
//! hash of its secret (never the secret), so revoking the API token ends its bearer tokens too.
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const PREFIX: &str = "aar.";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// `secret_hash` of the API token; `None` for an anonymous token.
    pub sub: Option<String>,
    /// Unix seconds.
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryTokenError {
    #[error("not a registry token")]
    Malformed,
    #[error("bad registry token signature")]
    BadSignature,
    #[error("registry token expired")]
    Expired,
}

fn mac(key: &[u8], payload: &str) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(b"registry-token:");
    mac.update(payload.as_bytes());
    Some(mac)
}

/// Whether a presented bearer credential is one of ours rather than an API token.
pub fn is_registry_token(raw: &str) -> bool {
    raw.starts_with(PREFIX)
}

pub fn sign(key: &[u8], claims: &TokenClaims) -> Option<String> {
    let payload = B64.encode(serde_json::to_vec(claims).ok()?);
    let tag = mac(key, &payload)?.finalize().into_bytes();
    Some(format!("{PREFIX}{payload}.{}", B64.encode(tag)))
}

/// Checks signature (in constant time) and expiry at `now` (unix seconds).
pub fn verify(key: &[u8], raw: &str, now: i64) -> Result<TokenClaims, RegistryTokenError> {
    let rest = raw.strip_prefix(PREFIX).ok_or(RegistryTokenError::Malformed)?;
    let (payload, tag) = rest.split_once('.').ok_or(RegistryTokenError::Malformed)?;
    let tag = B64.decode(tag).map_err(|_| RegistryTokenError::Malformed)?;
    mac(key, payload)
        .ok_or(RegistryTokenError::Malformed)?
        .verify_slice(&tag)
        .map_err(|_| RegistryTokenError::BadSignature)?;
    let json = B64.decode(payload).map_err(|_| RegistryTokenError::Malformed)?;
    let claims: TokenClaims = serde_json::from_slice(&json).map_err(|_| RegistryTokenError::Malformed)?;
    if claims.exp <= now {
        return Err(RegistryTokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let claims = TokenClaims {
            sub: Some("abc".into()),
            exp: 100,
        };
        let t = sign(b"key", &claims).unwrap();
        assert!(is_registry_token(&t));
        assert_eq!(verify(b"key", &t, 99), Ok(claims));
        assert_eq!(verify(b"key", &t, 100), Err(RegistryTokenError::Expired));
        assert_eq!(verify(b"other", &t, 0), Err(RegistryTokenError::BadSignature));
        // A payload changed after signing (here: made anonymous) fails the signature.
        let forged_payload = B64.encode(br#"{"sub":null,"exp":100}"#);
        let tag = t.rsplit_once('.').unwrap().1;
        let forged = format!("{PREFIX}{forged_payload}.{tag}");
        assert_eq!(verify(b"key", &forged, 0), Err(RegistryTokenError::BadSignature));
        for bad in ["", "aa_x", "aar.", "aar.x", "aar.x.!!"] {
            assert!(verify(b"key", bad, 0).is_err(), "{bad}");
        }
    }
}
