//! `ReleaseSigner` on rPGP: the instance's OpenPGP key signs Terraform `SHA256SUMS`.
//!
//! The key is either the armored secret key in `terraform_signing_key_file` (with its optional
//! passphrase), or one generated on the first start and kept in the metadata database through
//! `SigningKeys`, so that every replica signs with the same key (whoever stores it first wins).
use pgp::composed::{
    ArmorOptions, Deserializable, DetachedSignature, KeyType, SecretKeyParamsBuilder, SignedPublicKey, SignedSecretKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::ser::Serialize;
use pgp::types::{KeyDetails, Password};
use std::path::Path;

use super::instance_key::stored_or_generated;
use crate::domain::formats::terraform::hosted::GpgPublicKey;
use crate::ports::{Clock, PortError, ReleaseSigner, SigningKeys};

/// The name of the generated key in `SigningKeys`.
pub const KEY_NAME: &str = "terraform-openpgp";
const ALGORITHM: &str = "openpgp-ed25519";

pub struct OpenPgpSigner {
    key: SignedSecretKey,
    password: Password,
    /// Which key signs: `None` the primary key, else the index of a signing subkey.
    subkey: Option<usize>,
    public: GpgPublicKey,
}

impl OpenPgpSigner {
    /// The configured key file when set, else the instance key (generated when absent).
    pub async fn load(
        file: Option<&Path>,
        passphrase: Option<&str>,
        keys: &dyn SigningKeys,
        clock: &dyn Clock,
    ) -> Result<OpenPgpSigner, String> {
        if let Some(file) = file {
            let armored = std::fs::read_to_string(file)
                .map_err(|e| format!("terraform_signing_key_file {}: {e}", file.display()))?;
            return Self::from_armored(&armored, passphrase)
                .map_err(|e| format!("terraform_signing_key_file {}: {e}", file.display()));
        }
        let material = stored_or_generated(keys, clock, (KEY_NAME, ALGORITHM), generate).await?;
        Self::from_armored(&material, None).map_err(|e| format!("the stored terraform signing key: {e}"))
    }

    /// An armored secret key; it must be able to sign (checked with the passphrase now, so a
    /// wrong passphrase fails at start rather than at the first download).
    pub fn from_armored(armored: &str, passphrase: Option<&str>) -> Result<OpenPgpSigner, String> {
        let (key, _) =
            SignedSecretKey::from_string(armored).map_err(|e| format!("not an armored OpenPGP secret key: {e}"))?;
        key.verify_bindings()
            .map_err(|e| format!("the key's self-signatures do not verify: {e}"))?;
        let subkey = key
            .secret_subkeys
            .iter()
            .position(|s| s.signatures.iter().any(|sig| sig.key_flags().sign()));
        let public_key = key.to_public_key();
        let ascii_armor = armor_public(&public_key)?;
        let signer = OpenPgpSigner {
            public: GpgPublicKey {
                key_id: hex::encode_upper(key.primary_key.legacy_key_id().as_ref()),
                ascii_armor,
            },
            key,
            password: passphrase.map_or_else(Password::empty, Password::from),
            subkey,
        };
        signer
            .sign_detached(b"probe")
            .map_err(|e| format!("cannot sign with this key (wrong passphrase?): {e}"))?;
        Ok(signer)
    }
}

fn armor_public(key: &SignedPublicKey) -> Result<String, String> {
    key.to_armored_string(ArmorOptions::default())
        .map_err(|e| format!("cannot armor the public key: {e}"))
}

/// A fresh Ed25519 key that certifies and signs (v4, which every Terraform release verifies).
fn generate() -> Result<String, String> {
    let params = SecretKeyParamsBuilder::default()
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(true)
        .primary_user_id("ArtifactAPI provider registry".into())
        .build()
        .map_err(|e| format!("key parameters: {e}"))?;
    let key = params
        .generate(rand_08::rngs::OsRng)
        .map_err(|e| format!("key generation: {e}"))?;
    key.to_armored_string(ArmorOptions::default())
        .map_err(|e| format!("cannot armor the generated key: {e}"))
}

impl ReleaseSigner for OpenPgpSigner {
    fn public_key(&self) -> GpgPublicKey {
        self.public.clone()
    }

    fn sign_detached(&self, data: &[u8]) -> Result<Vec<u8>, PortError> {
        let failed = |e: pgp::errors::Error| PortError::Backend(format!("OpenPGP signing failed: {e}"));
        let rng = rand_08::rngs::OsRng;
        let signature = match self.subkey.and_then(|i| self.key.secret_subkeys.get(i)) {
            Some(sub) => DetachedSignature::sign_binary_data(rng, &sub.key, &self.password, hash_for(&sub.key), data),
            None => DetachedSignature::sign_binary_data(
                rng,
                &self.key.primary_key,
                &self.password,
                hash_for(&self.key.primary_key),
                data,
            ),
        }
        .map_err(failed)?;
        signature.to_bytes().map_err(failed)
    }
}

/// SHA-256, or the key's own preference where it needs a larger hash (NIST P-384/P-521).
fn hash_for(key: &impl pgp::types::SigningKey) -> HashAlgorithm {
    let preferred = key.hash_alg();
    if preferred == HashAlgorithm::Sha384 || preferred == HashAlgorithm::Sha512 {
        preferred
    } else {
        HashAlgorithm::Sha256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::SigningKey;
    use crate::ports::credentials::MockSigningKeys;

    struct Fixed;
    impl Clock for Fixed {
        fn now(&self) -> chrono::DateTime<chrono::Utc> {
            chrono::DateTime::UNIX_EPOCH
        }
    }

    fn verify(signer: &OpenPgpSigner, data: &[u8], signature: &[u8]) -> bool {
        let (public, _) = SignedPublicKey::from_string(&signer.public_key().ascii_armor).unwrap();
        let signature = DetachedSignature::from_bytes(signature).unwrap();
        let by_primary = signature.verify(&public.primary_key, data).is_ok();
        by_primary
            || public
                .public_subkeys
                .iter()
                .any(|s| signature.verify(&s.key, data).is_ok())
    }

    #[tokio::test]
    async fn a_generated_key_is_stored_once_and_signs() {
        let mut keys = MockSigningKeys::new();
        keys.expect_get().returning(|_| Ok(None));
        keys.expect_get_or_create()
            .times(1)
            .returning(|candidate| Ok(candidate.clone()));
        let signer = OpenPgpSigner::load(None, None, &keys, &Fixed).await.unwrap();
        let key = signer.public_key();
        assert_eq!(key.key_id.len(), 16);
        assert!(key.ascii_armor.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        let data = b"abc  terraform-provider-x_1.0.0_linux_amd64.zip\n";
        let signature = signer.sign_detached(data).unwrap();
        assert!(verify(&signer, data, &signature));
        assert!(!verify(&signer, b"tampered", &signature));
    }

    #[tokio::test]
    async fn the_stored_key_is_reused() {
        let armored = generate().unwrap();
        let stored = SigningKey {
            name: KEY_NAME.into(),
            algorithm: ALGORITHM.into(),
            material: armored.clone(),
            created_at: chrono::DateTime::UNIX_EPOCH,
        };
        let mut keys = MockSigningKeys::new();
        keys.expect_get().returning(move |_| Ok(Some(stored.clone())));
        keys.expect_get_or_create().never();
        let a = OpenPgpSigner::load(None, None, &keys, &Fixed).await.unwrap();
        let b = OpenPgpSigner::from_armored(&armored, None).unwrap();
        assert_eq!(a.public_key(), b.public_key());
    }

    #[tokio::test]
    async fn a_key_file_wins_and_bad_files_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key.asc");
        std::fs::write(&file, generate().unwrap()).unwrap();
        let mut keys = MockSigningKeys::new();
        keys.expect_get().never();
        let signer = OpenPgpSigner::load(Some(&file), None, &keys, &Fixed).await.unwrap();
        assert!(verify(&signer, b"x", &signer.sign_detached(b"x").unwrap()));

        std::fs::write(&file, "not a key").unwrap();
        let err = OpenPgpSigner::load(Some(&file), None, &keys, &Fixed)
            .await
            .err()
            .unwrap();
        assert!(
            err.contains("terraform_signing_key_file") && err.contains("not an armored"),
            "{err}"
        );
        let missing = dir.path().join("absent.asc");
        let err = OpenPgpSigner::load(Some(&missing), None, &keys, &Fixed)
            .await
            .err()
            .unwrap();
        assert!(err.contains("absent.asc"), "{err}");
    }
}
