//! `ApkSigner` on the `rsa` crate: the instance's RSA key signs alpine `APKINDEX.tar.gz`.
//!
//! The key (PKCS#8 PEM) is generated the first time an instance needs it and shared by replicas
//! through `SigningKeys` (see `instance_key`); each process loads it on first use, so start-up
//! never waits for RSA key generation (or parsing). Its file name for `/etc/apk/keys` carries a short fingerprint of the public key,
//! so a rotated key gets a new name and apk never checks a signature against a stale file.
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};

use std::sync::Arc;

use async_trait::async_trait;

use super::instance_key::stored_or_generated;
use crate::ports::{ApkSigner, Clock, PortError, SigningKeys};

/// The name of the generated key in `SigningKeys`.
pub const KEY_NAME: &str = "alpine-rsa";
const ALGORITHM: &str = "rsa-2048-pkcs8";
/// 2048 bits: what apk-tools' own keys use, and quick to sign with on every index render.
const BITS: usize = 2048;

/// The instance key, loaded on first use.
pub struct ApkRsaSigner {
    keys: Arc<dyn SigningKeys>,
    clock: Arc<dyn Clock>,
    key: tokio::sync::OnceCell<ApkRsaKey>,
}

impl ApkRsaSigner {
    pub fn new(keys: Arc<dyn SigningKeys>, clock: Arc<dyn Clock>) -> Self {
        Self {
            keys,
            clock,
            key: tokio::sync::OnceCell::new(),
        }
    }

    /// The key: stored (or generated now, off the async workers) the first time, then kept.
    async fn loaded(&self) -> Result<&ApkRsaKey, PortError> {
        self.key
            .get_or_try_init(|| ApkRsaKey::load(self.keys.as_ref(), self.clock.as_ref()))
            .await
            .map_err(|e| PortError::Backend(format!("alpine signing key: {e}")))
    }
}

/// A loaded RSA key, with its public half ready to serve.
pub struct ApkRsaKey {
    key: RsaPrivateKey,
    public_pem: String,
    key_file: String,
}

impl ApkRsaKey {
    /// The instance key (generated when absent).
    pub async fn load(keys: &dyn SigningKeys, clock: &dyn Clock) -> Result<ApkRsaKey, String> {
        let material = match keys.get(KEY_NAME).await.map_err(|e| e.to_string())? {
            Some(stored) => stored.material,
            None => {
                let generated = tokio::task::spawn_blocking(generate)
                    .await
                    .map_err(|e| format!("key generation: {e}"))??;
                stored_or_generated(keys, clock, (KEY_NAME, ALGORITHM), || Ok(generated)).await?
            }
        };
        Self::from_pem(&material).map_err(|e| format!("the stored alpine signing key: {e}"))
    }

    /// A PKCS#8 PEM private key.
    pub fn from_pem(pem: &str) -> Result<ApkRsaKey, String> {
        let key = RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| format!("not a PKCS#8 RSA private key: {e}"))?;
        let public = key.to_public_key();
        let public_pem = public
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| format!("cannot encode the public key: {e}"))?;
        let der = public
            .to_public_key_der()
            .map_err(|e| format!("cannot encode the public key: {e}"))?;
        let fingerprint = hex::encode(Sha256::digest(der.as_bytes()));
        Ok(ApkRsaKey {
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

#[async_trait]
impl ApkSigner for ApkRsaSigner {
    async fn key_file(&self) -> Result<String, PortError> {
        Ok(self.loaded().await?.key_file.clone())
    }

    async fn public_key_pem(&self) -> Result<String, PortError> {
        Ok(self.loaded().await?.public_pem.clone())
    }

    async fn sign_sha1(&self, data: &[u8]) -> Result<Vec<u8>, PortError> {
        self.loaded()
            .await?
            .key
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
    async fn the_key_is_made_on_first_use_stored_once_and_reused() {
        let stored = Arc::new(std::sync::Mutex::new(None::<SigningKey>));
        let mut keys = MockSigningKeys::new();
        let seen = stored.clone();
        keys.expect_get().returning(move |_| Ok(seen.lock().unwrap().clone()));
        let kept = stored.clone();
        keys.expect_get_or_create().times(1).returning(move |candidate| {
            *kept.lock().unwrap() = Some(candidate.clone());
            Ok(candidate.clone())
        });
        let keys: Arc<dyn SigningKeys> = Arc::new(keys);
        let signer = ApkRsaSigner::new(keys.clone(), Arc::new(Fixed));
        assert!(stored.lock().unwrap().is_none(), "no key made before it is needed");
        let pem = signer.public_key_pem().await.unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
        let file = signer.key_file().await.unwrap();
        assert!(file.starts_with("artifactapi-") && file.ends_with(".rsa.pub"), "{file}");

        let public = RsaPublicKey::from_public_key_pem(&pem).unwrap();
        let signature = signer.sign_sha1(b"index stream").await.unwrap();
        let scheme = || Pkcs1v15Sign::new::<Sha1>();
        assert!(
            public
                .verify(scheme(), &Sha1::digest(b"index stream"), &signature)
                .is_ok()
        );
        assert!(public.verify(scheme(), &Sha1::digest(b"tampered"), &signature).is_err());

        // Another process (replica) finds the stored key: the same name and public key.
        let again = ApkRsaSigner::new(keys, Arc::new(Fixed));
        assert_eq!(
            (again.key_file().await.unwrap(), again.public_key_pem().await.unwrap()),
            (file, pem)
        );
        assert!(ApkRsaKey::from_pem("not a key").is_err());
    }
}
