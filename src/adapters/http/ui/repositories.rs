//! `/ui/repositories` (list, filter by kind and package) and `/ui/repositories/{name}` (one
//! repository: its settings, counters and how to use it).
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path, Query};
use poem::{Request, Response, handler};
use std::sync::Arc;

use super::usage::{Snippet, snippets};
use super::{Layout, Viewer, render};
use crate::adapters::http::AppState;
use crate::app::auth::Principal;
use crate::app::repositories::ListFilter;
use crate::app::stats::RepositoryStats;
use crate::domain::error::RepositoryError;
use crate::domain::repository::{Kind, KindSettings, PackageType, Repository};
use crate::domain::token::Scope;

const PAGE: usize = 50;

/// One table row.
pub(super) struct Row {
    pub name: String,
    pub kind: &'static str,
    pub package: &'static str,
    pub managed_by: &'static str,
    pub summary: String,
}

fn summary(repo: &Repository) -> String {
    match &repo.settings {
        KindSettings::Remote(s) if s.offline => format!("{} (offline)", s.base_url),
        KindSettings::Remote(s) => s.base_url.clone(),
        KindSettings::Local(s) if s.allow_overwrite => "hosted, overwrite allowed".into(),
        KindSettings::Local(_) => "hosted".into(),
        KindSettings::Virtual(s) => {
            let members: Vec<&str> = s.members.iter().map(|m| m.as_str()).collect();
            format!("members: {}", members.join(", "))
        }
    }
}

#[derive(Template)]
#[template(path = "ui/repositories.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<Row>,
    kinds: Vec<&'static str>,
    packages: Vec<&'static str>,
    kind: String,
    package: String,
    filter_error: Option<(&'static str, String)>,
    next: Option<String>,
    can_create: bool,
}

#[derive(serde::Deserialize)]
pub(super) struct ListQuery {
    kind: Option<String>,
    package: Option<String>,
    cursor: Option<String>,
    created: Option<String>,
    deleted: Option<String>,
}

#[handler]
pub(super) async fn index(req: &Request, Data(state): Data<&Arc<AppState>>, Query(q): Query<ListQuery>) -> Response {
    let viewer = match Viewer::of(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    // Listing is instance-wide; a read token limited to some repositories may list too (as the API).
    if viewer.principal == Principal::Anonymous
        && let Err(r) = viewer.need(state, req, Scope::Read, None)
    {
        return r;
    }
    let kind_text = q.kind.clone().unwrap_or_default();
    let package_text = q.package.clone().unwrap_or_default();
    let mut filter_error = None;
    let kind = match Some(kind_text.as_str())
        .filter(|k| !k.is_empty())
        .map(str::parse::<Kind>)
    {
        Some(Err(m)) => {
            filter_error = Some(("kind", m));
            None
        }
        other => other.and_then(Result::ok),
    };
    let package = match Some(package_text.as_str())
        .filter(|p| !p.is_empty())
        .map(str::parse::<PackageType>)
    {
        Some(Err(m)) => {
            filter_error = Some(("package", m));
            None
        }
        other => other.and_then(Result::ok),
    };
    let filter = ListFilter {
        kind,
        package,
        after: q.cursor.clone(),
        limit: PAGE,
    };
    // Like the API: a token restricted to some repositories sees only those.
    let visible = |name: &str| viewer.may(state, Scope::Read, Some(name));
    let (repos, next) = match state.repositories.list_page(&filter, &visible).await {
        Ok(page) => page,
        Err(e) => return viewer.unavailable(state, &e.to_string()),
    };
    let mut layout = viewer.layout(state, "Repositories", "repositories");
    layout.notice = match (&q.created, &q.deleted) {
        (Some(n), _) => Some(format!("Repository {n} created.")),
        (_, Some(n)) => Some(format!("Repository {n} deleted.")),
        _ => None,
    };
    let page = ListPage {
        can_create: viewer.may(state, Scope::Admin, None),
        layout,
        rows: repos
            .iter()
            .map(|r| Row {
                name: r.name.to_string(),
                kind: r.kind().as_str(),
                package: r.package.as_str(),
                managed_by: r.managed_by.as_str(),
                summary: summary(r),
            })
            .collect(),
        kinds: Kind::ALL.iter().map(|k| k.as_str()).collect(),
        packages: PackageType::ALL.iter().map(|p| p.as_str()).collect(),
        kind: kind_text,
        package: package_text,
        filter_error,
        next: next.map(|cursor| {
            format!(
                "/ui/repositories?kind={}&package={}&cursor={}",
                super::encode(q.kind.as_deref().unwrap_or("")),
                super::encode(q.package.as_deref().unwrap_or("")),
                super::encode(&cursor)
            )
        }),
    };
    let status = if page.filter_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(status, &page)
}

/// A label and a value of the settings list.
pub(super) struct Prop {
    pub label: &'static str,
    pub value: String,
}

fn tls(t: &crate::domain::upstream_tls::UpstreamTls) -> String {
    let mut parts = Vec::new();
    if let Some(ca) = &t.ca_file {
        parts.push(format!("CA file {ca}"));
    }
    if let Some(cert) = &t.client_cert_file {
        parts.push(format!("client certificate {cert}"));
    }
    if t.tls_insecure_skip_verify {
        parts.push("certificates NOT verified".to_string());
    }
    if parts.is_empty() {
        "instance defaults".to_string()
    } else {
        parts.join("; ")
    }
}

fn props(repo: &Repository) -> Vec<Prop> {
    let list = |v: &[String]| if v.is_empty() { "none".to_string() } else { v.join("\n") };
    let mut out = vec![
        Prop {
            label: "Kind",
            value: repo.kind().to_string(),
        },
        Prop {
            label: "Package",
            value: repo.package.to_string(),
        },
        Prop {
            label: "Managed by",
            value: repo.managed_by.to_string(),
        },
    ];
    match &repo.settings {
        KindSettings::Remote(s) => {
            let ttl = |t: u64| {
                if t == 0 {
                    "forever".to_string()
                } else {
                    format!("{t} s")
                }
            };
            out.extend([
                Prop {
                    label: "Upstream",
                    value: s.base_url.clone(),
                },
                Prop {
                    label: "Upstream user",
                    value: s.username.clone().unwrap_or_else(|| "none".into()),
                },
                Prop {
                    label: "Upstream password",
                    value: if s.password.is_some() { "set" } else { "not set" }.into(),
                },
                Prop {
                    label: "Mutable TTL",
                    value: ttl(s.mutable_ttl),
                },
                Prop {
                    label: "Immutable TTL",
                    value: ttl(s.immutable_ttl),
                },
                Prop {
                    label: "Allowlist",
                    value: list(&s.patterns),
                },
                Prop {
                    label: "Blocklist",
                    value: list(&s.blocklist),
                },
                Prop {
                    label: "Mutable patterns",
                    value: list(&s.mutable_patterns),
                },
                Prop {
                    label: "Immutable patterns",
                    value: list(&s.immutable_patterns),
                },
                Prop {
                    label: "Banned tags",
                    value: list(&s.ban_tags),
                },
                Prop {
                    label: "Offline",
                    value: if s.offline { "yes" } else { "no" }.into(),
                },
                Prop {
                    label: "Upstream TLS",
                    value: tls(&s.tls),
                },
                Prop {
                    label: "Cache size limit",
                    value: limit(s.max_bytes, "bytes"),
                },
                Prop {
                    label: "Evict unused after",
                    value: limit(s.unused_days, "days"),
                },
            ]);
        }
        KindSettings::Local(s) => out.extend([
            Prop {
                label: "Overwrite allowed",
                value: if s.allow_overwrite { "yes" } else { "no" }.into(),
            },
            Prop {
                label: "Quota",
                value: limit(s.quota_bytes, "bytes"),
            },
            Prop {
                label: "Keep last tags",
                value: match s.keep_last_tags {
                    Some(n) if s.keep_tag_patterns.is_empty() => n.to_string(),
                    Some(n) => format!("{n}, and tags matching {}", s.keep_tag_patterns.join(", ")),
                    None => "all".into(),
                },
            },
            Prop {
                label: "Untagged manifests deleted after",
                value: s
                    .untagged_manifest_days
                    .map_or_else(|| "never".to_string(), |d| format!("{d} days unused")),
            },
        ]),
        KindSettings::Virtual(s) => out.push(Prop {
            label: "Members, in order",
            value: s.members.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", "),
        }),
    }
    out
}

/// A limit as shown: its value and unit, or "none".
fn limit(value: Option<impl std::fmt::Display>, unit: &str) -> String {
    value.map_or_else(|| "none".to_string(), |v| format!("{v} {unit}"))
}

#[derive(Template)]
#[template(path = "ui/repository.html")]
struct DetailPage {
    layout: Layout,
    name: String,
    is_remote: bool,
    props: Vec<Prop>,
    stats: RepositoryStats,
    snippets: Vec<Snippet>,
    can_admin: bool,
    can_write: bool,
    config_managed: bool,
}

#[derive(serde::Deserialize)]
pub(super) struct DetailQuery {
    saved: Option<String>,
    flushed: Option<u64>,
}

#[handler]
pub(super) async fn detail(
    req: &Request,
    Data(state): Data<&Arc<AppState>>,
    Path(name): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let viewer = match Viewer::of(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = viewer.need(state, req, Scope::Read, Some(&name)) {
        return r;
    }
    let repo = match state.repositories.get(&name).await {
        Ok(r) => r,
        Err(RepositoryError::Unavailable(cause)) => return viewer.unavailable(state, &cause),
        Err(_) => {
            return viewer.message(
                state,
                StatusCode::NOT_FOUND,
                "Not found",
                &format!("There is no repository named '{name}'."),
            );
        }
    };
    let stats = match state.stats.repository(&name).await {
        Ok(s) => s,
        Err(e) => return viewer.unavailable(state, &e.to_string()),
    };
    let origin = super::session::origin(req).unwrap_or_else(|| "http://localhost:8000".into());
    let mut layout = viewer.layout(state, name.clone(), "repositories");
    layout.notice = match (q.saved, q.flushed) {
        (Some(_), _) => Some("Saved.".into()),
        (_, Some(n)) => Some(format!("Flushed {n} cached copies.")),
        _ => None,
    };
    let page = DetailPage {
        layout,
        is_remote: repo.kind() == Kind::Remote,
        props: props(&repo),
        stats,
        snippets: snippets(&origin, &repo),
        can_admin: viewer.may(state, Scope::Admin, None),
        can_write: viewer.may(state, Scope::Write, Some(&name)),
        config_managed: repo.managed_by == crate::domain::repository::ManagedBy::Config,
        name,
    };
    render(StatusCode::OK, &page)
}
