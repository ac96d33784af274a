//! The web UI at `/ui`: server-rendered pages (askama templates under `templates/ui/`) that
//! htmx (vendored, embedded in the binary) makes smoother; every page reads without JavaScript.
//! Pages call the same `app` services as the management API, one file per page.
// A page's early way out is the `Response` it sends, built once per request and moved straight
// out: boxing it buys nothing.
#![allow(clippy::result_large_err)]
mod assets;
mod events;
mod health;
mod login;
mod objects;
mod repositories;
mod repository_form;
mod session;
mod stats;
mod tokens;
mod usage;

use askama::Template;
use poem::http::{StatusCode, header};
use poem::middleware::SetHeader;
use poem::{Body, EndpointExt, Request, Response, Route, get, handler, post};

use super::AppState;
use crate::app::auth::Principal;
use crate::domain::error::AuthError;
use crate::domain::token::Scope;
use std::sync::Arc;

/// Largest form body a page accepts (a repository definition with many patterns fits easily).
const FORM_LIMIT: usize = 64 * 1024;

/// Content-Security-Policy of every page: scripts and styles only from `/ui/static`.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn routes() -> impl poem::Endpoint {
    Route::new()
        .at("/", get(home))
        .at("/login", get(login::show).post(login::submit))
        .at("/logout", post(login::logout))
        .at("/static/:file", get(assets::serve))
        .at("/repositories", get(repositories::index).post(repository_form::create))
        .at("/new-repository", get(repository_form::new_form))
        .at("/repositories/:name", get(repositories::detail))
        .at(
            "/repositories/:name/edit",
            get(repository_form::edit_form).post(repository_form::update),
        )
        .at(
            "/repositories/:name/delete",
            get(repository_form::confirm_delete).post(repository_form::delete),
        )
        .at("/repositories/:name/objects", get(objects::browse))
        .at("/repositories/:name/objects/evict", post(objects::evict))
        .at("/repositories/:name/cache/flush", post(objects::flush))
        .at("/stats", get(stats::index))
        .at("/health", get(health::index))
        .at("/events", get(events::index))
        .at("/events/stream", get(events::stream))
        .at("/tokens", get(tokens::index).post(tokens::create))
        .at("/tokens/:id/revoke", post(tokens::revoke))
        .with(
            SetHeader::new()
                .overriding("Content-Security-Policy", CSP)
                .overriding("X-Content-Type-Options", "nosniff")
                .overriding("X-Frame-Options", "DENY")
                .overriding("Referrer-Policy", "same-origin"),
        )
}

/// `/ui` leads to the repositories.
#[handler]
pub fn home() -> Response {
    see_other("/ui/repositories")
}

/// `/` leads to the UI. (A route at `/` would be shadowed by the API nested there.)
pub async fn root_redirect<E: poem::Endpoint>(ep: Arc<E>, req: Request) -> poem::Result<Response> {
    if req.uri().path() == "/" && req.method() == poem::http::Method::GET {
        return Ok(see_other("/ui/repositories"));
    }
    ep.call(req).await.map(poem::IntoResponse::into_response)
}

/// What every page's frame shows.
pub(super) struct Layout {
    pub title: String,
    /// Which main navigation entry is current.
    pub nav: &'static str,
    pub user: Option<String>,
    pub is_admin: bool,
    pub notice: Option<String>,
    pub version: &'static str,
}

/// Who is looking at a page.
pub(super) struct Viewer {
    pub principal: Principal,
    /// The request carried a session that no longer opens (expired, ended, token revoked).
    pub stale_cookie: bool,
}

impl Viewer {
    /// Reads the session cookie; a cookie that does not resolve makes an anonymous viewer.
    pub async fn of(req: &Request, state: &AppState) -> Result<Viewer, Response> {
        let Some(value) = session::cookie_value(req) else {
            return Ok(Viewer {
                principal: Principal::Anonymous,
                stale_cookie: false,
            });
        };
        match state.sessions.resolve(&state.auth, &value).await {
            Ok(principal) => Ok(Viewer {
                principal,
                stale_cookie: false,
            }),
            Err(AuthError::Unavailable(cause)) => {
                tracing::error!(cause, "session check failed");
                Err(plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "a storage backend is unavailable; try again later",
                ))
            }
            Err(_) => Ok(Viewer {
                principal: Principal::Anonymous,
                stale_cookie: true,
            }),
        }
    }

    pub fn may(&self, state: &AppState, need: Scope, repository: Option<&str>) -> bool {
        state.auth.authorize(&self.principal, need, repository).is_ok()
    }

    pub fn layout(&self, state: &AppState, title: impl Into<String>, nav: &'static str) -> Layout {
        Layout {
            title: title.into(),
            nav,
            user: match &self.principal {
                Principal::Anonymous => None,
                Principal::Token { name, .. } => Some(name.clone()),
            },
            is_admin: self.may(state, Scope::Admin, None),
            notice: None,
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// `Ok` when the viewer may; otherwise the login page (anonymous) or a 403 page.
    pub fn need(&self, state: &AppState, req: &Request, need: Scope, repository: Option<&str>) -> Result<(), Response> {
        match state.auth.authorize(&self.principal, need, repository) {
            Ok(()) => Ok(()),
            Err(AuthError::MissingToken) => {
                let next = req.original_uri().path_and_query().map(|p| p.as_str()).unwrap_or("/ui");
                let target = format!("/ui/login?next={}", percent_encoding::utf8_percent_encode(next, QUERY));
                let mut response = see_other(&target);
                if self.stale_cookie {
                    session::clear_cookie(req, &mut response);
                }
                Err(response)
            }
            Err(e) => Err(self.message(
                state,
                StatusCode::FORBIDDEN,
                "Not allowed",
                &format!("Your token may not do this: {e}."),
            )),
        }
    }

    /// A page that only says something went wrong (or was refused).
    pub fn message(&self, state: &AppState, status: StatusCode, heading: &str, message: &str) -> Response {
        let page = MessagePage {
            layout: self.layout(state, heading, ""),
            heading: heading.to_string(),
            message: message.to_string(),
            login_link: matches!(self.principal, Principal::Anonymous).then(|| "/ui/login".to_string()),
        };
        render(status, &page)
    }

    /// A backend failure: logged with its cause, shown without it.
    pub fn unavailable(&self, state: &AppState, cause: &str) -> Response {
        tracing::error!(cause, "backend unavailable");
        self.message(
            state,
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            "A storage backend is unavailable; try again later.",
        )
    }
}

/// Characters escaped in a query-string value.
pub(super) const QUERY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

pub(super) fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, QUERY).to_string()
}

#[derive(Template)]
#[template(path = "ui/message.html")]
struct MessagePage {
    layout: Layout,
    heading: String,
    message: String,
    login_link: Option<String>,
}

/// Renders a page; pages are personal, so no cache keeps them.
pub(super) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-store")
            .body(html),
        Err(e) => {
            tracing::error!(error = %e, "page did not render");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered")
        }
    }
}

pub(super) fn plain(status: StatusCode, message: &str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(message.to_string())
}

/// 303: after a form post the browser GETs the result (and a reload does not post again).
pub(super) fn see_other(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
}

/// A submitted form, as ordered `name=value` pairs (checkbox groups repeat a name).
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        Some(self.get(name)).filter(|v| !v.is_empty()).map(str::to_string)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }

    /// One entry per non-empty line of a textarea.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.get(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Reads a form post: refused unless it comes from our own pages (CSRF), is form-encoded and
/// fits `FORM_LIMIT`.
pub(super) async fn read_form(req: &Request, body: Body) -> Result<Form, Response> {
    if !session::same_origin(req) {
        tracing::warn!(path = %req.original_uri().path(), "cross-site form post refused");
        return Err(plain(
            StatusCode::FORBIDDEN,
            "cross-site form posts are refused (the Origin does not match this server)",
        ));
    }
    let form_encoded = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return Err(plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, "expected a form post"));
    }
    match body.into_bytes_limit(FORM_LIMIT).await {
        Ok(bytes) => Ok(Form::parse(&bytes)),
        Err(_) => Err(plain(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large")),
    }
}

/// The CSRF check alone, for posts whose handler reads no form fields.
pub(super) fn check_post(req: &Request) -> Result<(), Response> {
    if session::same_origin(req) {
        Ok(())
    } else {
        tracing::warn!(path = %req.original_uri().path(), "cross-site form post refused");
        Err(plain(
            StatusCode::FORBIDDEN,
            "cross-site form posts are refused (the Origin does not match this server)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_keep_repeated_names_and_trim() {
        let form = Form::parse(b"name=+ci+&scopes=read&scopes=write&scopes=&patterns=a%0D%0A%0D%0Ab%0A&offline=on");
        assert_eq!(form.get("name"), "ci");
        assert_eq!(form.all("scopes"), vec!["read", "write"]);
        assert_eq!(form.lines("patterns"), vec!["a", "b"]);
        assert!(form.checked("offline"));
        assert!(!form.checked("allow_overwrite"));
        assert_eq!(form.optional("missing"), None);
    }
}
