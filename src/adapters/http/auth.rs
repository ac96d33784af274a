//! Reading credentials from a request: `Authorization: Bearer <token>`, or Basic with the token as
//! the password (what pip, twine, npm and docker send). The user name is ignored.
use base64::Engine;
use poem::Request;
use poem::http::header;

use crate::domain::error::AuthError;

/// The presented token secret, `None` when no credentials were sent.
pub fn presented_secret(req: &Request) -> Result<Option<String>, AuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| AuthError::InvalidToken)?.trim();
    let (scheme, rest) = value.split_once(' ').ok_or(AuthError::InvalidToken)?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return if rest.is_empty() {
            Err(AuthError::InvalidToken)
        } else {
            Ok(Some(rest.to_string()))
        };
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .map_err(|_| AuthError::InvalidToken)?;
        let decoded = String::from_utf8(decoded).map_err(|_| AuthError::InvalidToken)?;
        let (_, password) = decoded.split_once(':').ok_or(AuthError::InvalidToken)?;
        return if password.is_empty() {
            Err(AuthError::InvalidToken)
        } else {
            Ok(Some(password.to_string()))
        };
    }
    Err(AuthError::InvalidToken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> Request {
        Request::builder().header(header::AUTHORIZATION, value).finish()
    }

    #[test]
    fn table() {
        let basic = |s: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s));
        let table: Vec<(String, Result<Option<String>, AuthError>)> = vec![
            ("Bearer abc".into(), Ok(Some("abc".into()))),
            ("bearer  abc ".into(), Ok(Some("abc".into()))),
            (basic("user:tok"), Ok(Some("tok".into()))),
            (basic("user:to:k"), Ok(Some("to:k".into()))),
            (basic("user:"), Err(AuthError::InvalidToken)),
            (basic("nocolon"), Err(AuthError::InvalidToken)),
            ("Basic !!!".into(), Err(AuthError::InvalidToken)),
            ("Bearer".into(), Err(AuthError::InvalidToken)),
            ("Digest x".into(), Err(AuthError::InvalidToken)),
        ];
        for (header, expected) in table {
            assert_eq!(presented_secret(&with(&header)), expected, "{header}");
        }
        assert_eq!(presented_secret(&Request::builder().finish()), Ok(None));
    }
}
