//! `GET /v2/token`: the token endpoint of the Bearer flow. Basic credentials (any user name, an
//! API token as the password) get a token acting as that API token; no credentials get an
//! anonymous one, which can do what anonymous callers can. Bad credentials are a 401, which is
//! how `docker login` learns the password is wrong.
use poem::http::{StatusCode, header};
use poem::{Request, Response};
use serde_json::json;

use super::AppState;
use super::errors::OciError;
use crate::adapters::http::auth::presented_secret;
use crate::domain::error::AuthError;
use crate::domain::registry::token::is_registry_token;
use crate::domain::token::hash_secret;

fn rejected(e: AuthError) -> OciError {
    match e {
        AuthError::Unavailable(cause) => {
            tracing::error!(cause, "backend unavailable");
            OciError::new(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "try again later")
        }
        _ => OciError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "invalid credentials")
            .with_header(header::WWW_AUTHENTICATE, r#"Basic realm="artifactapi""#.to_string()),
    }
}

pub async fn issue(req: &Request, state: &AppState) -> Result<Response, OciError> {
    let subject = match presented_secret(req).map_err(rejected)? {
        None => None,
        // Renewing with a still valid registry token keeps its identity.
        Some(secret) if is_registry_token(&secret) => state.registry_tokens.verify(&secret).await.map_err(rejected)?,
        Some(secret) => {
            state.auth.authenticate(Some(&secret)).await.map_err(rejected)?;
            Some(hash_secret(&secret))
        }
    };
    let issued = state.registry_tokens.issue(subject).await.map_err(rejected)?;
    let body = json!({
        "token": issued.token,
        "access_token": issued.token,
        "expires_in": issued.expires_in,
        "issued_at": issued.issued_at.to_rfc3339(),
    });
    Ok(Response::builder()
        .content_type("application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body.to_string()))
}
