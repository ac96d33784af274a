//! TLS on rustls (ring provider), shared by the outbound clients ([`client`]: which CAs are
//! trusted, per-remote configs, telling a TLS failure from other errors) and by `serve`
//! ([`server`]: the certificate presented, reloaded without a restart).
pub mod client;
pub mod server;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// The one crypto provider every config here is built with.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in a PEM file. Errors name the file and what is wrong, never its contents.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, "certificates", &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, "certificates", &e))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificates in the file", path.display()));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_error(path, "a private key", &e))
}

/// What went wrong reading `path`, without the bytes some `pem::Error` variants carry (a key
/// file's line or a decoding detail must never reach a log).
fn pem_error(path: &Path, wanted: &str, e: &pem::Error) -> String {
    let what = match e {
        pem::Error::Io(io) => return format!("{}: cannot read: {io}", path.display()),
        pem::Error::NoItemsFound => "no PEM section of the expected kind",
        pem::Error::MissingSectionEnd { .. } => "a PEM section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a malformed PEM BEGIN line",
        pem::Error::Base64Decode(_) => "invalid base64 in a PEM section",
        pem::Error::SectionTooLarge => "a PEM section is too large",
        _ => "unreadable PEM",
    };
    format!("{}: expected {wanted}, found {what}", path.display())
}
