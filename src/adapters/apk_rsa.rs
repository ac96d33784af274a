//! `ApkSigner` on the `rsa` crate: the instance's RSA key signs alpine `APKINDEX.tar.gz`.
//!
//! The key (PKCS#8 PEM) is generated on the first start and shared by replicas through
//! `SigningKeys` (see `instance_key`). Its file name for `/etc/apk/keys` carries a short fingerprint of the public key,
//! so a rotated key gets a new name and apk never checks a signature against a stale file.
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

use super::instance_key::stored_or_generated;
use crate::ports::{ApkSigner, Clock, PortError, SigningKeys};

/// The name of the generated key in `SigningKeys`.
pub const KEY_NAME: &str = "alpine-rsa";
const ALGORITHM: &str = "rsa-2048-pkcs8";
/// 2048 bits: what apk-tools' own keys use, and quick to sign with on every index render.
const BITS: usize = 2048;

pub struct ApkRsaSigner {
    key: RsaPrivateKey,
    public_pem: String,
    key_file: String,
}

impl ApkRsaSigner {
    /// The instance key (generated when absent).
    pub async fn load(keys: &dyn SigningKeys, clock: &dyn Clock) -> Result<ApkRsaSigner, String> {
        let material = stored_or_generated(keys, clock, (KEY_NAME, ALGORITHM), generate).await?;
        Self::from_pem(&material).map_err(|e| format!("the stored alpine signing key: {e}"))
    }

    /// A PKCS#8 PEM private key.
    pub fn from_pem(pem: &str) -> Result<ApkRsaSigner, String> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| format!("not a PKCS#8 RSA private key: {e}"))?;
        let public = key.to_public_key();
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| format!("cannot encode the public key: {e}"))?;
        let der = public
            .to_public_key_der()
            .map_err(|e| format!("cannot encode the public key: {e}"))?;
        let fingerprint = hex::encode(Sha256::digest(der.as_bytes()));
        Ok(ApkRsaSigner {
            key,
            public_pem,
            key_file: format!("artifactapi-{}.rsa.pub", &fingerprint[..8]),
        })
    }
}

fn generate() -> Result<String, String> {
    let key = RsaPrivateKey::new(&mut rand_08::rngs::OsRng, BITS).map_err(|e| format!("key generation: {e}"))?;
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| format!("cannot encode the generated key: {e}"))?;
    Ok((*pem).clone())
}

impl ApkSigner for ApkRsaSigner {
    fn key_file(&self) -> String {
        self.key_file.clone()
    }

    fn public_key_pem(&self) -> String {
        self.public_pem.clone()
    }

    fn sign_sha1(&self, data: &[u8]) -> Result<Vec<u8>, PortError> {
        self.key
            .sign(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(data))
            .map_err(|e| PortError::Backend(format!("RSA signing failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::SigningKey;
    use crate::ports::credentials::MockSigningKeys;
    use rsa::RsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;

    struct Fixed;
    impl Clock for Fixed {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            chrono::DateTime::UNIX_EPOCH
        }
    }

    #[tokio::test]
    async fn a_generated_key_is_stored_once_signs_and_is_reused() {
        let stored = std::sync::Arc::new(std::sync::Mutex::new(None::<SigningKey>));
        let mut keys = MockSigningKeys::new();
        let seen = stored.clone();
        keys.expect_get().returning(move |_| Ok(seen.lock().unwrap().clone()));
        let kept = stored.clone();
        keys.expect_get_or_create().times(1).returning(move |candidate| {
            *kept.lock().unwrap() = Some(candidate.clone());
            Ok(candidate.clone())
        });
        let signer = ApkRsaSigner::load(&keys, &Fixed).await.unwrap();
        let pem = signer.public_key_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
        let file = signer.key_file();
        assert!(file.starts_with("artifactapi-") && file.ends_with(".rsa.pub"), "{file}");

        let public = RsaPublicKey::from_public_key_pem(&pem).unwrap();
        let signature = signer.sign_sha1(b"index stream").unwrap();
        let scheme = || Pkcs1v15Sign::new::<Sha1>();
        assert!(
            public
                .verify(scheme(), &Sha1::digest(b"index stream"), &signature)
                .is_ok()
        );
        assert!(public.verify(scheme(), &Sha1::digest(b"tampered"), &signature).is_err());

        let again = ApkRsaSigner::load(&keys, &Fixed).await.unwrap();
        assert_eq!((again.key_file(), again.public_key_pem()), (file, pem));
        assert!(ApkRsaSigner::from_pem("not a key").is_err());
    }
}
