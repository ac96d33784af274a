use async_trait::async_trait;

use super::PortError;

/// Signs alpine `APKINDEX.tar.gz` files with the instance's RSA key.
///
/// Contract: `sign_sha1` returns a PKCS#1 v1.5 signature over SHA-1 of exactly `data` (what
/// apk-tools checks for a `.SIGN.RSA.` entry) that verifies with `public_key_pem()` (PEM,
/// SubjectPublicKeyInfo); `key_file` is the name apk finds that key under in `/etc/apk/keys`
/// (ends in `.rsa.pub`). Every replica of an instance signs with the same key. The methods are
/// async because the key is loaded (or generated) on first use, not at start-up: generating an
/// RSA key takes a good part of a second, which no start-up should wait for.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ApkSigner: Send + Sync {
    async fn key_file(&self) -> Result<String, PortError>;
    async fn public_key_pem(&self) -> Result<String, PortError>;
    async fn sign_sha1(&self, data: &[u8]) -> Result<Vec<u8>, PortError>;
}
