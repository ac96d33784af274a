//! `/ui/tokens`: list API tokens (never their secrets), create one (its secret shown once, on
//! the page the create answers with), revoke one. Admin scope, as `/api/v2/tokens`.
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Body, Request, Response, handler};
use std::sync::Arc;

use super::{Form, Layout, Viewer, read_form, render, see_other};
use crate::adapters::http::AppState;
use crate::app::auth::ADMIN_TOKEN_NAME;
use crate::app::tokens::TokenRequest;
use crate::domain::error::{FieldError, TokenError};
use crate::domain::token::Scope;
use crate::ports::TokenRecord;

pub(super) struct Row {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub repositories: String,
    pub expires_at: String,
    pub created_at: String,
    pub protected: bool,
}

impl From<TokenRecord> for Row {
    fn from(t: TokenRecord) -> Row {
        let day = |d: DateTime<Utc>| d.format("%Y-%m-%d %H:%M UTC").to_string();
        Row {
            protected: t.name == ADMIN_TOKEN_NAME,
            id: t.id,
            name: t.name,
            scopes: t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
            repositories: if t.repositories.is_empty() {
                "all".into()
            } else {
                t.repositories.join(", ")
            },
            expires_at: t.expires_at.map(day).unwrap_or_else(|| "never".into()),
            created_at: day(t.created_at),
        }
    }
}

/// What the create form showed, to show it again after a failure.
#[derive(Default)]
pub(super) struct Draft {
    pub name: String,
    pub scopes: Vec<String>,
    pub repositories: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "ui/tokens.html")]
struct TokensPage {
    layout: Layout,
    rows: Vec<Row>,
    draft: Draft,
    error: Option<(String, String)>,
    /// The new token's name and secret, shown this once.
    issued: Option<(String, String)>,
}

impl TokensPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    fn wants(&self, scope: &str) -> bool {
        self.draft.scopes.iter().any(|s| s == scope)
    }
}

async fn admin(req: &Request, state: &AppState) -> Result<Viewer, Response> {
    let viewer = Viewer::of(req, state).await?;
    viewer.need(state, req, Scope::Admin, None)?;
    Ok(viewer)
}

async fn tokens_page(viewer: &Viewer, state: &AppState) -> Result<TokensPage, Response> {
    let mut records = state
        .tokens
        .list()
        .await
        .map_err(|e| viewer.unavailable(state, &e.to_string()))?;
    records.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(TokensPage {
        layout: viewer.layout(state, "Tokens", "tokens"),
        rows: records.into_iter().map(Row::from).collect(),
        draft: Draft {
            scopes: vec!["read".into()],
            ..Draft::default()
        },
        error: None,
        issued: None,
    })
}

#[derive(serde::Deserialize)]
pub(super) struct PageQuery {
    revoked: Option<String>,
}

#[handler]
pub(super) async fn index(req: &Request, Data(state): Data<&Arc<AppState>>, Query(q): Query<PageQuery>) -> Response {
    let viewer = match admin(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match tokens_page(&viewer, state).await {
        Ok(mut page) => {
            page.layout.notice = q.revoked.map(|name| format!("Token {name} revoked."));
            render(StatusCode::OK, &page)
        }
        Err(r) => r,
    }
}

/// `YYYY-MM-DD` (midnight UTC starting that day) or RFC 3339; blank means never.
pub(super) fn expiry(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|_| "a date as YYYY-MM-DD (or an RFC 3339 time)".to_string())
}

fn request(form: &Form) -> Result<TokenRequest, FieldError> {
    Ok(TokenRequest {
        name: form.get("name").to_string(),
        scopes: form.all("scopes"),
        repositories: form
            .get("repositories")
            .split([',', '\n', ' '])
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .collect(),
        expires_at: expiry(form.get("expires_at")).map_err(|m| FieldError::new("expires_at", m))?,
    })
}

#[handler]
pub(super) async fn create(req: &Request, body: Body, Data(state): Data<&Arc<AppState>>) -> Response {
    let form = match read_form(req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let viewer = match admin(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let draft = Draft {
        name: form.get("name").to_string(),
        scopes: form.all("scopes"),
        repositories: form.get("repositories").to_string(),
        expires: form.get("expires_at").to_string(),
    };
    let result = match request(&form) {
        Ok(r) => state.tokens.create(r).await,
        Err(field) => Err(TokenError::Invalid(field)),
    };
    match result {
        Ok(issued) => {
            tracing::info!(token = %issued.record.name, "token created in the web UI");
            let mut page = match tokens_page(&viewer, state).await {
                Ok(p) => p,
                Err(r) => return r,
            };
            page.issued = Some((issued.record.name, issued.secret));
            render(StatusCode::CREATED, &page)
        }
        Err(e) => {
            let (status, field, message) = match e {
                TokenError::Invalid(f) => (StatusCode::BAD_REQUEST, f.field.to_string(), f.message),
                TokenError::AlreadyExists(name) => (
                    StatusCode::CONFLICT,
                    "name".to_string(),
                    format!("a token named '{name}' already exists"),
                ),
                TokenError::Unavailable(cause) => return viewer.unavailable(state, &cause),
                other @ (TokenError::NotFound(_) | TokenError::Protected) => {
                    (StatusCode::BAD_REQUEST, "name".to_string(), other.to_string())
                }
            };
            let mut page = match tokens_page(&viewer, state).await {
                Ok(p) => p,
                Err(r) => return r,
            };
            page.draft = draft;
            page.error = Some((field, message));
            render(status, &page)
        }
    }
}

#[handler]
pub(super) async fn revoke(req: &Request, Data(state): Data<&Arc<AppState>>, Path(id): Path<String>) -> Response {
    if let Err(r) = super::check_post(req) {
        return r;
    }
    let viewer = match admin(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let name = state
        .tokens
        .list()
        .await
        .ok()
        .and_then(|all| all.into_iter().find(|t| t.id == id))
        .map(|t| t.name)
        .unwrap_or_else(|| id.clone());
    match state.tokens.revoke(&id).await {
        Ok(()) => {
            tracing::info!(token = %name, "token revoked in the web UI");
            see_other(&format!("/ui/tokens?revoked={}", super::encode(&name)))
        }
        Err(TokenError::Unavailable(cause)) => viewer.unavailable(state, &cause),
        Err(e) => viewer.message(state, StatusCode::BAD_REQUEST, "Not revoked", &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_accepts_a_day_or_a_time() {
        assert_eq!(expiry(""), Ok(None));
        assert_eq!(
            expiry("2031-02-03").unwrap().unwrap().to_rfc3339(),
            "2031-02-03T00:00:00+00:00"
        );
        assert_eq!(
            expiry("2031-02-03T04:05:06+02:00").unwrap().unwrap().to_rfc3339(),
            "2031-02-03T02:05:06+00:00"
        );
        assert!(expiry("next week").is_err());
    }

    #[test]
    fn the_form_becomes_a_token_request() {
        let form = Form::parse(b"name=ci&scopes=read&scopes=write&repositories=team-*%2C+docs&expires_at=");
        let r = request(&form).unwrap();
        assert_eq!(r.scopes, vec!["read", "write"]);
        assert_eq!(r.repositories, vec!["team-*", "docs"]);
        assert_eq!(r.expires_at, None);
        assert_eq!(
            request(&Form::parse(b"name=ci&expires_at=soon")).err().map(|e| e.field),
            Some("expires_at")
        );
    }
}
