//! `/ui/repositories/{name}/objects`: browse a repository's hosted files or cached copies by
//! prefix, page by page; evict one; flush a remote's cache.
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Body, Request, Response, handler};
use std::sync::Arc;

use super::{Layout, Viewer, encode, read_form, render, see_other};
use crate::adapters::http::AppState;
use crate::app::objects::FlushScope;
use crate::domain::error::ObjectsError;
use crate::domain::repository::Kind;
use crate::domain::token::Scope;
use crate::ports::PageRequest;

const PAGE: u64 = 100;

pub(super) struct Row {
    pub path: String,
    pub size: u64,
    pub digest: String,
    pub class: String,
    pub stored_at: String,
    pub last_accessed: String,
}

#[derive(Template)]
#[template(path = "ui/objects.html")]
struct BrowsePage {
    layout: Layout,
    name: String,
    kind: &'static str,
    prefix: String,
    cursor: String,
    rows: Vec<Row>,
    next: Option<String>,
    can_write: bool,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
pub(super) struct BrowseQuery {
    prefix: Option<String>,
    cursor: Option<String>,
    evicted: Option<String>,
    flushed: Option<u64>,
}

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[handler]
pub(super) async fn browse(
    req: &Request,
    Data(state): Data<&Arc<AppState>>,
    Path(name): Path<String>,
    Query(q): Query<BrowseQuery>,
) -> Response {
    let viewer = match Viewer::of(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = viewer.need(state, req, Scope::Read, Some(&name)) {
        return r;
    }
    let kind = match state.repositories.get(&name).await {
        Ok(repo) => repo.kind(),
        Err(crate::domain::error::RepositoryError::Unavailable(cause)) => return viewer.unavailable(state, &cause),
        Err(_) => {
            return viewer.message(
                state,
                StatusCode::NOT_FOUND,
                "Not found",
                &format!("There is no repository named '{name}'."),
            );
        }
    };
    let prefix = q.prefix.unwrap_or_default();
    let page = PageRequest {
        prefix: prefix.clone(),
        after: q.cursor.clone(),
        limit: PAGE,
    };
    let mut error = None;
    let (objects, next) = match state.objects.browse(&name, page).await {
        Ok(found) => found,
        Err(ObjectsError::Unavailable(cause)) => return viewer.unavailable(state, &cause),
        Err(e) => {
            error = Some(e.to_string());
            (Vec::new(), None)
        }
    };
    let mut layout = viewer.layout(state, format!("{name}: objects"), "repositories");
    layout.notice = match (q.evicted, q.flushed) {
        (Some(path), _) => Some(format!("Evicted {path}.")),
        (_, Some(n)) => Some(format!("Flushed {n} cached copies.")),
        _ => None,
    };
    let page = BrowsePage {
        layout,
        kind: kind.as_str(),
        can_write: viewer.may(state, Scope::Write, Some(&name)),
        rows: objects
            .into_iter()
            .map(|o| Row {
                path: o.path,
                size: o.size,
                digest: o.digest.to_string(),
                class: o.class.map(|c| c.as_str().to_string()).unwrap_or_default(),
                stored_at: when(o.stored_at),
                last_accessed: o.last_accessed.map(when).unwrap_or_default(),
            })
            .collect(),
        next: next.map(|c| {
            format!(
                "/ui/repositories/{name}/objects?prefix={}&cursor={}",
                encode(&prefix),
                encode(&c)
            )
        }),
        cursor: q.cursor.unwrap_or_default(),
        prefix,
        name,
        error,
    };
    render(StatusCode::OK, &page)
}

async fn writer(req: &Request, state: &AppState, name: &str) -> Result<Viewer, Response> {
    let viewer = Viewer::of(req, state).await?;
    viewer.need(state, req, Scope::Write, Some(name))?;
    Ok(viewer)
}

fn failed(viewer: &Viewer, state: &AppState, e: ObjectsError) -> Response {
    let status = match &e {
        ObjectsError::Unavailable(cause) => return viewer.unavailable(state, cause),
        ObjectsError::RepositoryNotFound(_) | ObjectsError::NotFound(_) => StatusCode::NOT_FOUND,
        ObjectsError::Unsupported(_) | ObjectsError::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    viewer.message(state, status, "Not done", &e.to_string())
}

#[handler]
pub(super) async fn evict(
    req: &Request,
    body: Body,
    Data(state): Data<&Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    let form = match read_form(req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let viewer = match writer(req, state, &name).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let path = form.get("path");
    match state.objects.evict(&name, path).await {
        Ok(()) => {
            tracing::info!(repository = %name, path, "object evicted in the web UI");
            state.events.publish("evict", &name, Some(path)).await;
            see_other(&format!(
                "/ui/repositories/{name}/objects?prefix={}&evicted={}",
                encode(form.get("prefix")),
                encode(path)
            ))
        }
        Err(e) => failed(&viewer, state, e),
    }
}

#[handler]
pub(super) async fn flush(
    req: &Request,
    body: Body,
    Data(state): Data<&Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    let form = match read_form(req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let viewer = match writer(req, state, &name).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let scope = match form.get("scope") {
        "all" => FlushScope::All,
        _ => FlushScope::Mutable,
    };
    match state.objects.flush(&name, scope).await {
        Ok(removed) => {
            tracing::info!(repository = %name, removed, "cache flushed in the web UI");
            state.events.publish("flush", &name, None).await;
            see_other(&format!("/ui/repositories/{name}/objects?flushed={removed}"))
        }
        Err(e) => failed(&viewer, state, e),
    }
}

impl BrowsePage {
    fn is_remote(&self) -> bool {
        self.kind == Kind::Remote.as_str()
    }

    fn is_virtual(&self) -> bool {
        self.kind == Kind::Virtual.as_str()
    }
}
