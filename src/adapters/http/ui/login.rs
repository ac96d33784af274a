//! `/ui/login` and `/ui/logout`.
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{Body, Request, Response, handler};
use std::sync::Arc;

use super::{Layout, Viewer, read_form, render, see_other, session};
use crate::adapters::http::AppState;
use crate::app::auth::Principal;
use crate::domain::error::AuthError;

#[derive(Template)]
#[template(path = "ui/login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

fn page(viewer: &Viewer, state: &AppState, next: &str, error: Option<String>) -> LoginPage {
    LoginPage {
        layout: viewer.layout(state, "Log in", ""),
        next: session::safe_next(next),
        error,
    }
}

#[handler]
pub(super) async fn show(req: &Request, Data(state): Data<&Arc<AppState>>, Query(q): Query<NextQuery>) -> Response {
    let viewer = match Viewer::of(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    render(
        StatusCode::OK,
        &page(&viewer, state, q.next.as_deref().unwrap_or(""), None),
    )
}

#[handler]
pub(super) async fn submit(req: &Request, body: Body, Data(state): Data<&Arc<AppState>>) -> Response {
    let form = match read_form(req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let next = session::safe_next(form.get("next"));
    match state.sessions.login(&state.auth, form.get("token")).await {
        Ok(new) => {
            if let Principal::Token { name, .. } = &new.principal {
                tracing::info!(token = %name, "logged in to the web UI");
            }
            let mut response = see_other(&next);
            session::set_cookie(req, &mut response, &new.value, new.max_age);
            response
        }
        Err(AuthError::Unavailable(cause)) => {
            let viewer = Viewer {
                principal: Principal::Anonymous,
                stale_cookie: false,
            };
            viewer.unavailable(state, &cause)
        }
        Err(e) => {
            let viewer = Viewer {
                principal: Principal::Anonymous,
                stale_cookie: false,
            };
            let message = match e {
                AuthError::MissingToken => "Enter an API token.".to_string(),
                _ => "This token is not valid (unknown, revoked or expired).".to_string(),
            };
            render(StatusCode::UNAUTHORIZED, &page(&viewer, state, &next, Some(message)))
        }
    }
}

#[handler]
pub(super) async fn logout(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    if let Err(r) = super::check_post(req) {
        return r;
    }
    if let Some(value) = session::cookie_value(req)
        && let Err(e) = state.sessions.logout(&value).await
    {
        tracing::warn!(error = %e, "session end not recorded; the cookie is cleared anyway");
    }
    let mut response = see_other("/ui/login");
    session::clear_cookie(req, &mut response);
    response
}
