//! Outbound TLS: the certificate authorities every client trusts, the rustls config of one
//! remote's TLS settings, and recognising a TLS failure in an error chain.
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use super::{provider, read_certs, read_key};
use crate::domain::upstream_tls::UpstreamTls;

/// The roots every outbound connection trusts: the platform store plus the instance `ca_file`.
#[derive(Clone, Debug)]
pub struct TrustRoots {
    store: Arc<RootCertStore>,
}

impl TrustRoots {
    /// The platform store as OpenSSL finds it: `SSL_CERT_FILE` / `SSL_CERT_DIR` when set
    /// (instead of the system locations, as with OpenSSL), else the system bundle and
    /// directory. A machine without any (a bare container) falls back to the compiled-in
    /// Mozilla roots. `ca_file` (a PEM bundle) is added on top; a bad one is an error.
    pub fn load(ca_file: Option<&Path>) -> Result<Self, String> {
        let mut store = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for error in &native.errors {
            tracing::warn!(%error, "part of the platform certificate store could not be read");
        }
        let (platform, unparsable) = store.add_parsable_certificates(native.certs);
        if unparsable > 0 {
            tracing::debug!(unparsable, "platform store entries that are not usable CA certificates");
        }
        if platform == 0 {
            tracing::warn!(
                "no CA certificates in the platform store (SSL_CERT_FILE, SSL_CERT_DIR or the system's); \
                 trusting the compiled-in Mozilla roots"
            );
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        let mut extra = 0;
        if let Some(path) = ca_file {
            extra = add_bundle(&mut store, path)?;
        }
        tracing::info!(platform, ca_file = extra, "outbound TLS trust loaded");
        Ok(Self { store: Arc::new(store) })
    }

    pub fn len(&self) -> usize {
        self.store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }
}

/// Adds every certificate of a PEM bundle; the count added, or why none could be.
fn add_bundle(store: &mut RootCertStore, path: &Path) -> Result<usize, String> {
    let certs = read_certs(path)?;
    let (added, rejected) = store.add_parsable_certificates(certs);
    if added == 0 {
        return Err(format!(
            "{}: none of its {rejected} certificates is a usable CA certificate",
            path.display()
        ));
    }
    Ok(added)
}

/// The rustls config for a remote's settings: `roots` plus its `ca_file`, its client
/// certificate if any, or no verification when `tls_insecure_skip_verify` is on. ALPN offers
/// HTTP/2 and HTTP/1.1. Errors name the file at fault, never its contents.
pub fn client_config(roots: &TrustRoots, tls: &UpstreamTls) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?;
    let builder = if tls.tls_insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        let mut store = (*roots.store).clone();
        if let Some(path) = &tls.ca_file {
            add_bundle(&mut store, Path::new(path)).map_err(|e| format!("ca_file {e}"))?;
        }
        builder.with_root_certificates(store)
    };
    let mut config = match tls.client_identity() {
        Some((cert, key)) => {
            let chain = read_certs(Path::new(cert)).map_err(|e| format!("client_cert_file {e}"))?;
            let key = read_key(Path::new(key)).map_err(|e| format!("client_key_file {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client_cert_file and client_key_file do not make a usable identity: {e}"))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The TLS failure somewhere in `error`'s causes, described (`invalid peer certificate:
/// UnknownIssuer`), or `None` when the error is not about TLS.
pub fn tls_failure(error: &(dyn Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        // `io::Error::source` skips the error it wraps, which is where rustls puts its own
        // (sometimes inside one more `io::Error`).
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref())
            && let Some(found) = tls_failure(inner)
        {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// `tls_insecure_skip_verify`: any certificate is accepted, but the handshake signatures are
/// still checked, so the connection is at least with whoever holds the presented key.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_errors_are_found_inside_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::other(std::io::Error::new(std::io::ErrorKind::InvalidData, tls));
        assert_eq!(
            tls_failure(&io).as_deref(),
            Some("invalid peer certificate: UnknownIssuer")
        );
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(tls_failure(&plain), None);
    }

    #[test]
    fn a_bad_ca_file_names_the_file_not_its_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nc2VjcmV0LWJ5dGVz!!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let roots = TrustRoots {
            store: Arc::new(RootCertStore::empty()),
        };
        let tls = UpstreamTls {
            ca_file: Some(path.display().to_string()),
            ..UpstreamTls::default()
        };
        let err = client_config(&roots, &tls).unwrap_err();
        assert!(err.contains("ca.pem") && err.starts_with("ca_file"), "{err}");
        assert!(!err.contains("c2VjcmV0"), "{err}");
        let missing = UpstreamTls {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..UpstreamTls::default()
        };
        assert!(client_config(&roots, &missing).unwrap_err().contains("cannot read"));
    }
}
