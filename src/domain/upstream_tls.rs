//! A remote's own TLS settings towards its upstream: extra trusted CAs, a client certificate, or
//! (loudly) no verification at all. The instance-wide trust (platform store, `ca_file`) is the
//! outbound adapter's; these only add to it for one remote.
use serde::{Deserialize, Serialize};

use super::error::FieldError;

/// Paths are on the server; their contents are read by the outbound adapter, never stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UpstreamTls {
    /// PEM bundle of CAs trusted for this remote, on top of the instance's trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Accept any certificate. Off by default; every client built with it logs a warning.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_insecure_skip_verify: bool,
    /// PEM certificate chain presented to the upstream (mTLS); needs `client_key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_file: Option<String>,
    /// PEM private key of `client_cert_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_file: Option<String>,
}

impl UpstreamTls {
    /// Validates raw input: paths absolute (a relative one would depend on the server's working
    /// directory), and a client certificate only together with its key.
    pub fn new(
        ca_file: Option<String>,
        tls_insecure_skip_verify: bool,
        client_cert_file: Option<String>,
        client_key_file: Option<String>,
    ) -> Result<Self, FieldError> {
        for (field, path) in [
            ("ca_file", &ca_file),
            ("client_cert_file", &client_cert_file),
            ("client_key_file", &client_key_file),
        ] {
            if let Some(path) = path
                && !is_absolute_path(path)
            {
                return Err(FieldError::new(field, "must be an absolute path on the server"));
            }
        }
        match (&client_cert_file, &client_key_file) {
            (Some(_), None) => return Err(FieldError::new("client_key_file", "required with client_cert_file")),
            (None, Some(_)) => return Err(FieldError::new("client_cert_file", "required with client_key_file")),
            _ => {}
        }
        Ok(Self {
            ca_file,
            tls_insecure_skip_verify,
            client_cert_file,
            client_key_file,
        })
    }

    /// True when the instance-wide trust applies unchanged.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The client certificate and key paths, when both are set.
    pub fn client_identity(&self) -> Option<(&str, &str)> {
        Some((self.client_cert_file.as_deref()?, self.client_key_file.as_deref()?))
    }
}

fn is_absolute_path(path: &str) -> bool {
    path.starts_with('/') && !path.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(ca: Option<&str>, cert: Option<&str>, key: Option<&str>) -> Result<UpstreamTls, FieldError> {
        UpstreamTls::new(
            ca.map(str::to_string),
            false,
            cert.map(str::to_string),
            key.map(str::to_string),
        )
    }

    #[test]
    fn validation_names_the_field() {
        let table = [
            (tls(Some("ca.pem"), None, None), Some("ca_file")),
            (tls(Some("/etc/ca\0.pem"), None, None), Some("ca_file")),
            (tls(None, Some("/c.pem"), None), Some("client_key_file")),
            (tls(None, None, Some("/k.pem")), Some("client_cert_file")),
            (tls(None, Some("c.pem"), Some("/k.pem")), Some("client_cert_file")),
            (tls(None, Some("/c.pem"), Some("k.pem")), Some("client_key_file")),
            (tls(Some("/ca.pem"), Some("/c.pem"), Some("/k.pem")), None),
            (tls(None, None, None), None),
        ];
        for (result, field) in table {
            assert_eq!(result.as_ref().err().map(|e| e.field), field, "{result:?}");
        }
    }

    #[test]
    fn defaults_are_left_out_of_stored_json() {
        assert_eq!(serde_json::to_string(&UpstreamTls::default()).unwrap(), "{}");
        let parsed: UpstreamTls = serde_json::from_str("{}").unwrap();
        assert!(parsed.is_default());
        let set = tls(Some("/ca.pem"), Some("/c.pem"), Some("/k.pem")).unwrap();
        assert_eq!(set.client_identity(), Some(("/c.pem", "/k.pem")));
        let round: UpstreamTls = serde_json::from_str(&serde_json::to_string(&set).unwrap()).unwrap();
        assert_eq!(round, set);
    }
}
