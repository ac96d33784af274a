use super::PortError;
use crate::domain::formats::terraform::hosted::GpgPublicKey;

/// Signs release files with the instance's OpenPGP key (Terraform `SHA256SUMS`).
///
/// Contract: `sign_detached` returns a binary (not armored) detached signature over exactly
/// `data` that verifies with `public_key()`; every replica of an instance signs with the same key.
#[cfg_attr(test, mockall::automock)]
pub trait ReleaseSigner: Send + Sync {
    fn public_key(&self) -> GpgPublicKey;
    fn sign_detached(&self, data: &[u8]) -> Result<Vec<u8>, PortError>;
}
