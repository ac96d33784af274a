//! `/api/v2/tokens`: create (secret shown once), list (never secrets or hashes), revoke.
//! Admin scope only.
use chrono::{DateTime, Utc};
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use std::sync::Arc;

use super::AppState;
use super::admin::{ApiError, ApiTags, Denied, api_error, denied, require, unavailable};
use crate::app::tokens::TokenRequest;
use crate::domain::error::TokenError;
use crate::domain::token::Scope;
use crate::ports::TokenRecord;

/// A token to create.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
#[oai(example)]
pub struct TokenInput {
    /// `[A-Za-z0-9._-]{1,64}`, unique; `admin` is reserved.
    pub name: String,
    /// Any of `read`, `write`, `admin` (each implies the ones before it).
    pub scopes: Vec<String>,
    /// Repository name globs (`*` wildcard) the token is limited to; omitted = all.
    pub repositories: Option<Vec<String>>,
    /// When the token stops working (RFC 3339); omitted = never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A stored token, without its secret.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub repositories: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A newly created token: `secret` is shown this once and cannot be recovered.
#[derive(Object, Debug)]
pub struct IssuedTokenView {
    pub token: TokenView,
    /// Send as `Authorization: Bearer <secret>` (or as a Basic auth password).
    pub secret: String,
}

impl From<TokenRecord> for TokenView {
    fn from(t: TokenRecord) -> Self {
        TokenView {
            id: t.id,
            name: t.name,
            scopes: t.scopes.iter().map(|s| s.as_str().to_string()).collect(),
            repositories: t.repositories,
            expires_at: t.expires_at,
            created_at: t.created_at,
        }
    }
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "create_bad_request")]
enum CreateTokenResponse {
    /// Created; the secret is in the body, once.
    #[oai(status = 201)]
    Created(Json<IssuedTokenView>),
    /// Invalid body or field (`field` names it).
    #[oai(status = 400)]
    BadRequest(Json<ApiError>),
    /// No token, or an invalid one.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The caller lacks the admin scope.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// A token of that name exists.
    #[oai(status = 409)]
    Conflict(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

fn create_bad_request(err: poem::Error) -> CreateTokenResponse {
    CreateTokenResponse::BadRequest(api_error("INVALID_BODY", err.to_string(), None))
}

#[derive(ApiResponse)]
enum ListTokensResponse {
    /// Every token, oldest first, without secrets.
    #[oai(status = 200)]
    Ok(Json<Vec<TokenView>>),
    /// No token, or an invalid one.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The caller lacks the admin scope.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

#[derive(ApiResponse)]
enum RevokeTokenResponse {
    /// Revoked: the token no longer authenticates.
    #[oai(status = 204)]
    Revoked,
    /// No token, or an invalid one.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The caller lacks the admin scope.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// No token with that id.
    #[oai(status = 404)]
    NotFound(Json<ApiError>),
    /// The bootstrap admin token is replaced with `artifactapi token reset-admin` instead.
    #[oai(status = 409)]
    Conflict(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

pub struct TokensApi;

#[OpenApi(prefix_path = "/api/v2")]
impl TokensApi {
    /// Create a token
    #[oai(
        path = "/tokens",
        method = "post",
        operation_id = "createToken",
        tag = "ApiTags::Tokens"
    )]
    async fn create_token(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        body: Json<TokenInput>,
    ) -> CreateTokenResponse {
        use CreateTokenResponse as R;
        match require(state, req, Scope::Admin, None).await {
            Ok(_) => {}
            Err(d) => return denied!(R, d),
        }
        let input = body.0;
        let request = TokenRequest {
            name: input.name,
            scopes: input.scopes,
            repositories: input.repositories.unwrap_or_default(),
            expires_at: input.expires_at,
        };
        match state.tokens.create(request).await {
            Ok(issued) => {
                tracing::info!(token = %issued.record.name, id = %issued.record.id, "token created");
                R::Created(Json(IssuedTokenView {
                    token: issued.record.into(),
                    secret: issued.secret,
                }))
            }
            Err(e) => {
                let message = e.to_string();
                match e {
                    TokenError::Invalid(f) => R::BadRequest(api_error("INVALID_FIELD", f.to_string(), Some(f.field))),
                    TokenError::AlreadyExists(_) => R::Conflict(api_error("TOKEN_EXISTS", message, None)),
                    TokenError::Unavailable(cause) => R::Unavailable(unavailable(&cause)),
                    TokenError::NotFound(_) | TokenError::Protected => R::Unavailable(unavailable(&message)),
                }
            }
        }
    }

    /// List tokens
    #[oai(
        path = "/tokens",
        method = "get",
        operation_id = "listTokens",
        tag = "ApiTags::Tokens"
    )]
    async fn list_tokens(&self, req: &Request, Data(state): Data<&Arc<AppState>>) -> ListTokensResponse {
        use ListTokensResponse as R;
        match require(state, req, Scope::Admin, None).await {
            Ok(_) => {}
            Err(d) => return denied!(R, d),
        }
        match state.tokens.list().await {
            Ok(tokens) => R::Ok(Json(tokens.into_iter().map(TokenView::from).collect())),
            Err(e) => R::Unavailable(unavailable(&e.to_string())),
        }
    }

    /// Revoke a token
    #[oai(
        path = "/tokens/:id",
        method = "delete",
        operation_id = "revokeToken",
        tag = "ApiTags::Tokens"
    )]
    async fn revoke_token(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        id: Path<String>,
    ) -> RevokeTokenResponse {
        use RevokeTokenResponse as R;
        match require(state, req, Scope::Admin, None).await {
            Ok(_) => {}
            Err(d) => return denied!(R, d),
        }
        match state.tokens.revoke(&id.0).await {
            Ok(()) => {
                tracing::info!(id = %id.0, "token revoked");
                R::Revoked
            }
            Err(e) => {
                let message = e.to_string();
                match e {
                    TokenError::NotFound(_) | TokenError::Invalid(_) => {
                        R::NotFound(api_error("TOKEN_NOT_FOUND", message, None))
                    }
                    TokenError::Protected => R::Conflict(api_error("TOKEN_PROTECTED", message, None)),
                    TokenError::AlreadyExists(_) => R::Conflict(api_error("CONFLICT", message, None)),
                    TokenError::Unavailable(cause) => R::Unavailable(unavailable(&cause)),
                }
            }
        }
    }
}
