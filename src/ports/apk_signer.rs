use super::PortError;

/// Signs alpine `APKINDEX.tar.gz` files with the instance's RSA key.
///
/// Contract: `sign_sha1` returns a PKCS#1 v1.5 signature over SHA-1 of exactly `data` (what
/// apk-tools checks for a `.SIGN.RSA.` entry) that verifies with `public_key_pem()` (PEM,
/// SubjectPublicKeyInfo); `key_file` is the name apk finds that key under in `/etc/apk/keys`
/// (ends in `.rsa.pub`). Every replica of an instance signs with the same key.
#[cfg_attr(test, mockall::automock)]
pub trait ApkSigner: Send + Sync {
    fn key_file(&self) -> String;
    fn public_key_pem(&self) -> String;
    fn sign_sha1(&self, data: &[u8]) -> Result<Vec<u8>, PortError>;
}
