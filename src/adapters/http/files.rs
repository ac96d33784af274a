//! `/api/v1/{kind}/{name}/{path}`: the file protocol every package client builds on.
//! The raw (still percent-encoded) URI path is parsed here, so encoded traversal such as
//! `%2e%2e` is caught by the domain path check instead of slipping past a router.
use poem::http::{Method, StatusCode, header};
use poem::{Body, IntoResponse, Request, Response};
use std::str::FromStr;

use super::AppState;
use super::auth::presented_secret;
use super::errors::HttpError;
use super::protocol::helm::ChartApi;
use crate::app::auth::Principal;
use crate::app::hosted::{LocalRead, ReadOutcome, ReadRequest, UploadRequest, etag_of};
use crate::domain::digest::Digest;
use crate::domain::error::HostedError;
use crate::domain::path::ArtifactPath;
use crate::domain::range::ByteSpan;
use crate::domain::repository::{Kind, PackageType, RepoName};
use crate::domain::token::Scope;
use crate::ports::ByteStream;

/// Answers a protocol request; the front door sends every `/api/v1/...` request here.
pub async fn answer(mut req: Request, state: &AppState) -> Response {
    if percent_encoding::percent_decode_str(req.uri().path())
        .decode_utf8()
        .is_err()
    {
        return HttpError::invalid_utf8_path().into_response();
    }
    let body = req.take_body();
    let has_body = matches!(*req.method(), Method::PUT | Method::POST | Method::PATCH);
    match serve(&req, body, state).await {
        Ok(response) => response,
        // A refused upload may leave its body unread: tell the client this connection ends here.
        Err(e) if has_body => e
            .into_response()
            .with_header(header::CONNECTION, "close")
            .into_response(),
        Err(e) => e.into_response(),
    }
}

struct Target {
    kind: Kind,
    repo: RepoName,
    path: ArtifactPath,
}

fn parse_target(raw: &str) -> Result<Target, HttpError> {
    let (kind, repo, path) = parse_repo(raw)?;
    let path = ArtifactPath::from_url_encoded(path).map_err(HostedError::from)?;
    Ok(Target { kind, repo, path })
}

/// The kind and repository a raw `/api/v1/{kind}/{name}/...` path names, and the rest.
fn parse_repo(raw: &str) -> Result<(Kind, RepoName, &str), HttpError> {
    let not_found = |m: &str| HttpError::new(StatusCode::NOT_FOUND, "NOT_FOUND", m);
    let rest = raw.strip_prefix("/api/v1/").ok_or_else(|| not_found("unknown route"))?;
    let (kind, rest) = rest
        .split_once('/')
        .ok_or_else(|| not_found("expected /api/v1/{kind}/{name}/{path}"))?;
    let kind = Kind::from_str(kind).map_err(|m| not_found(&m))?;
    let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
    let repo = RepoName::new(name).map_err(|_| {
        HttpError::new(
            StatusCode::NOT_FOUND,
            "REPOSITORY_NOT_FOUND",
            format!("repository '{name}' not found"),
        )
    })?;
    Ok((kind, repo, path))
}

/// `POST` to a repository's URL: twine's legacy upload API (the rest of the path is ignored,
/// as the repository URL is what twine is configured with).
/// Through a virtual, the upload lands in its first local member, and needs the write scope on
/// that member as well as on the virtual.
async fn post(req: &Request, body: Body, state: &AppState) -> Result<Response, HttpError> {
    let (kind, repo, rest) = parse_repo(req.uri().path())?;
    let principal = state.auth.authenticate(presented_secret(req)?.as_deref()).await?;
    state.auth.authorize(&principal, Scope::Write, Some(repo.as_str()))?;
    let target = Target {
        kind,
        repo,
        path: ArtifactPath::parse("legacy").map_err(HostedError::from)?,
    };
    if matches!(ChartApi::of(rest), Some(ChartApi::Charts)) && is_package(&target, state, PackageType::Helm).await? {
        return form_post(req, body, (&target, PackageType::Helm), &principal, state).await;
    }
    if super::protocol::puppet::is_publish(rest) && is_package(&target, state, PackageType::Puppet).await? {
        return form_post(req, body, (&target, PackageType::Puppet), &principal, state).await;
    }
    let lands_in = if kind == Kind::Virtual && is_pypi(&target, state).await? {
        let may_write = |member: &str| state.auth.authorize(&principal, Scope::Write, Some(member)).is_ok();
        crate::app::virtual_repo::write_target(&state.hosted, target.repo.as_str(), PackageType::Pypi, &may_write)
            .await?
    } else {
        ensure_local(&target, state).await?;
        target.repo.to_string()
    };
    let response = super::protocol::pypi::upload(req, body, &lands_in, state).await?;
    log_write(&principal, "upload", &target);
    Ok(response)
}

/// ChartMuseum's `POST api/charts` on a Helm repository, or the Forge's `POST v3/releases` on a
/// Puppet one: on a local repository, or through a virtual one into its first local member
/// (which the token must be allowed to write too).
async fn form_post(
    req: &Request,
    body: Body,
    (target, package): (&Target, PackageType),
    principal: &Principal,
    state: &AppState,
) -> Result<Response, HttpError> {
    let lands_in = if target.kind == Kind::Virtual {
        let may_write = |member: &str| state.auth.authorize(principal, Scope::Write, Some(member)).is_ok();
        crate::app::virtual_repo::write_target(&state.hosted, target.repo.as_str(), package, &may_write).await?
    } else {
        ensure_local(target, state).await?;
        target.repo.to_string()
    };
    let response = if package == PackageType::Puppet {
        super::protocol::puppet::publish(req, body, &lands_in, state).await?
    } else {
        super::protocol::helm::upload(req, body, &lands_in, state).await?
    };
    log_write(principal, "upload", target);
    Ok(response)
}

async fn serve(req: &Request, body: Body, state: &AppState) -> Result<Response, HttpError> {
    // Writes are boxed: their futures are large, and a GET's future (moved into place on every
    // request) would otherwise be as large as the largest of them.
    if req.method() == Method::POST {
        return Box::pin(post(req, body, state)).await;
    }
    let target = parse_target(req.uri().path())?;
    let principal = state.auth.authenticate(presented_secret(req)?.as_deref()).await?;
    let repo = target.repo.as_str();
    if npm_route(req, &target) && is_package(&target, state, PackageType::Npm).await? {
        return Box::pin(npm_write(req, body, &target, principal, state)).await;
    }
    match *req.method() {
        Method::GET | Method::HEAD => {
            state.auth.authorize(&principal, Scope::Read, Some(repo))?;
            read(req, &target, state).await
        }
        Method::PUT => {
            state.auth.authorize(&principal, Scope::Write, Some(repo))?;
            Box::pin(upload(req, body, target, &principal, state)).await
        }
        // PEP 592 yank of a hosted PyPI file.
        Method::PATCH => {
            state.auth.authorize(&principal, Scope::Write, Some(repo))?;
            ensure_local(&target, state).await?;
            let response = Box::pin(super::protocol::pypi::yank(body, repo, &target.path, state)).await?;
            log_write(&principal, "yank", &target);
            state.events.publish("yank", repo, Some(target.path.as_str())).await;
            Ok(response)
        }
        Method::DELETE => {
            state.auth.authorize(&principal, Scope::Write, Some(repo))?;
            ensure_local(&target, state).await?;
            if let Some(ChartApi::Version { name, version }) = ChartApi::of(target.path.as_str())
                && is_package(&target, state, PackageType::Helm).await?
            {
                let response = Box::pin(super::protocol::helm::delete(repo, &name, &version, state)).await?;
                log_write(&principal, "delete", &target);
                return Ok(response);
            }
            Box::pin(state.hosted.delete(repo, &target.path)).await?;
            log_write(&principal, "delete", &target);
            state.events.publish("delete", repo, Some(target.path.as_str())).await;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Ok(HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "use GET, HEAD, PUT, POST, PATCH or DELETE",
        )
        .into_response()),
    }
}

/// Remote and virtual repositories are resolved (so a wrong kind is still a 404) but not served
/// yet: they come with the pull-through cache.
async fn ensure_served(target: &Target, state: &AppState) -> Result<(), HttpError> {
    if target.kind == Kind::Local {
        return Ok(());
    }
    state.hosted.resolve(target.kind, target.repo.as_str()).await?;
    Err(HttpError::new(
        StatusCode::NOT_IMPLEMENTED,
        "NOT_IMPLEMENTED",
        format!("{} repositories are not served yet", target.kind),
    ))
}

/// Whether the target names a virtual PyPI repository.
async fn is_pypi(target: &Target, state: &AppState) -> Result<bool, HttpError> {
    is_package(target, state, PackageType::Pypi).await
}

async fn is_package(target: &Target, state: &AppState, package: PackageType) -> Result<bool, HttpError> {
    Ok(package_of(target, state).await? == package)
}

async fn package_of(target: &Target, state: &AppState) -> Result<PackageType, HttpError> {
    Ok(state.hosted.resolve(target.kind, target.repo.as_str()).await?.package)
}

/// Requests npm's own protocol answers on a local or virtual repository: writes, and `-/whoami`.
fn npm_route(req: &Request, target: &Target) -> bool {
    matches!(target.kind, Kind::Local | Kind::Virtual)
        && (matches!(*req.method(), Method::PUT | Method::DELETE) || target.path.as_str() == "-/whoami")
}

/// npm publish, deprecate, dist-tag, unpublish and whoami on a local npm repository, or through
/// a virtual one into its first local member (which the token must be allowed to write too).
async fn npm_write(
    req: &Request,
    body: Body,
    target: &Target,
    principal: Principal,
    state: &AppState,
) -> Result<Response, HttpError> {
    use super::protocol::npm;
    if target.path.as_str() == "-/whoami" {
        return npm::whoami(&principal);
    }
    let repo = target.repo.as_str();
    state.auth.authorize(&principal, Scope::Write, Some(repo))?;
    let prefix = format!("api/v1/{}/{repo}/", target.kind);
    let write = npm::classify(req.method() == Method::DELETE, target.path.as_str(), &prefix).ok_or_else(|| {
        HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "npm repositories take PUT of a packument, dist-tag changes and unpublish (DELETE …/-rev/…)",
        )
    })?;
    let lands_in = if target.kind == Kind::Virtual {
        let may_write = |member: &str| state.auth.authorize(&principal, Scope::Write, Some(member)).is_ok();
        crate::app::virtual_repo::write_target(&state.hosted, repo, PackageType::Npm, &may_write).await?
    } else {
        repo.to_string()
    };
    let response = npm::write(write, body, &lands_in, state).await?;
    log_write(&principal, req.method().as_str(), target);
    Ok(response)
}

/// Writes go to local repositories only; a missing repository or a kind mismatch is still a 404.
async fn ensure_local(target: &Target, state: &AppState) -> Result<(), HttpError> {
    if target.kind == Kind::Local {
        return Ok(());
    }
    state.hosted.resolve(target.kind, target.repo.as_str()).await?;
    Err(HttpError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "only local repositories accept writes",
    ))
}

fn header<K: header::AsHeaderName>(req: &Request, name: K) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn read(req: &Request, target: &Target, state: &AppState) -> Result<Response, HttpError> {
    let public_base = public_base(req, target, state);
    let accept = super::accept_header(req);
    let request = ReadRequest {
        range: header(req, header::RANGE),
        if_range: header(req, header::IF_RANGE),
        if_none_match: header(req, header::IF_NONE_MATCH),
        head_only: req.method() == Method::HEAD,
        accept: accept.as_deref(),
        public_base: public_base.as_deref(),
        query: req.uri().query(),
    };
    match target.kind {
        Kind::Local => {}
        Kind::Remote => return super::remote::read(target.repo.as_str(), &target.path, request, state).await,
        Kind::Virtual => {
            let package = package_of(target, state).await?;
            if super::virtual_repo::serves(package) {
                let read = super::virtual_repo::read(target.repo.as_str(), package, &target.path, request, state);
                return Box::pin(read).await;
            }
            ensure_served(target, state).await?
        }
    }
    let head_only = request.head_only;
    let outcome = match state
        .hosted
        .read_local(target.repo.as_str(), &target.path, request)
        .await?
    {
        LocalRead::File(outcome) => outcome,
        LocalRead::Page(page) => return Ok(page_response(page, head_only)),
        LocalRead::PageNotModified(digest) => return Ok(local(not_modified(&digest))),
        LocalRead::Redirect(canonical) => {
            return Ok(Response::builder()
                .status(StatusCode::MOVED_PERMANENTLY)
                .header(header::LOCATION, format!("/api/v1/local/{}/{canonical}", target.repo))
                .finish());
        }
    };
    let (file, span, body) = match outcome {
        ReadOutcome::NotModified(file) => return Ok(local(not_modified(&file.digest))),
        ReadOutcome::Content { file, span, body } => (file, span, body),
    };
    let stored = StoredBody {
        digest: &file.digest,
        size: file.size,
        content_type: file.content_type.as_deref(),
        modified: file.created_at,
        span,
    };
    let builder = stored.builder().header("X-Artifact-Source", "local");
    Ok(stored.finish(builder, target.repo.as_str(), body, state))
}

/// Marks a response as served from a hosted repository.
fn local(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("x-artifact-source", header::HeaderValue::from_static("local"));
    response
}

/// The headers of a rendered index page (small, built from package records).
pub(super) fn page_builder(page: &crate::app::hosted::pypi::Page) -> poem::ResponseBuilder {
    Response::builder()
        .header(header::ETAG, etag_of(&page.digest))
        .header(header::CONTENT_LENGTH, page.body.len())
        .header(header::CACHE_CONTROL, "max-age=0, must-revalidate")
        .header(header::VARY, "Accept")
        .content_type(page.content_type)
}

/// A local repository's rendered index page.
fn page_response(page: crate::app::hosted::pypi::Page, head_only: bool) -> Response {
    let builder = page_builder(&page).header("X-Artifact-Source", "local");
    if head_only {
        builder.finish()
    } else {
        builder.body(page.body)
    }
}

/// This repository's absolute URL as the client addressed it, for indexes whose clients need
/// absolute links. `X-Forwarded-Proto`/`X-Forwarded-Host` are honoured from `trusted_proxies`.
fn public_base(req: &Request, target: &Target, state: &AppState) -> Option<String> {
    let origin = super::forwarded::client_origin(req, &state.trusted_proxies)?;
    Some(format!("{origin}/api/v1/{}/{}/", target.kind, target.repo))
}

pub(super) fn not_modified(digest: &Digest) -> Response {
    Response::builder()
        .status(StatusCode::NOT_MODIFIED)
        .header(header::ETAG, etag_of(digest))
        .finish()
}

const X_CHECKSUM_SHA256: header::HeaderName = header::HeaderName::from_static("x-checksum-sha256");

/// A stored object about to be sent: the headers every client relies on (ETag, length, ranges).
pub(super) struct StoredBody<'a> {
    pub digest: &'a Digest,
    pub size: u64,
    pub content_type: Option<&'a str>,
    pub modified: chrono::DateTime<chrono::Utc>,
    pub span: Option<ByteSpan>,
}

impl StoredBody<'_> {
    pub(super) fn builder(&self) -> poem::ResponseBuilder {
        let length = self.span.map_or(self.size, |s| s.len());
        let mut response = Response::builder()
            .header(header::ETAG, etag_of(self.digest))
            .header(header::ACCEPT_RANGES, "bytes")
            .header(header::CONTENT_LENGTH, length)
            .header(
                header::LAST_MODIFIED,
                httpdate::fmt_http_date(std::time::SystemTime::from(self.modified)),
            )
            .header(X_CHECKSUM_SHA256, self.digest.hex())
            .content_type(self.content_type.unwrap_or("application/octet-stream"));
        if let Some(span) = self.span {
            response = response.status(StatusCode::PARTIAL_CONTENT).header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{}", span.start, span.end, self.size),
            );
        }
        response
    }

    pub(super) fn finish(
        &self,
        builder: poem::ResponseBuilder,
        repo: &str,
        body: Option<ByteStream>,
        state: &AppState,
    ) -> Response {
        let status = if self.span.is_some() { 206 } else { 200 };
        match body {
            Some(body) => builder.body(Body::from_bytes_stream(state.metrics.count_sent(repo, status, body))),
            None => builder.finish(),
        }
    }
}

/// A `PUT` into a local repository, or through a virtual one of a format with hosted indexes
/// into its first local member (which the token must be allowed to write too), as the format's
/// own publish protocols do.
async fn upload(
    req: &Request,
    body: Body,
    target: Target,
    principal: &Principal,
    state: &AppState,
) -> Result<Response, HttpError> {
    let virtual_package = match target.kind {
        Kind::Virtual => Some(package_of(&target, state).await?).filter(|p| super::virtual_repo::serves(*p)),
        _ => None,
    };
    let lands_in = match virtual_package {
        Some(package) => {
            let may_write = |member: &str| state.auth.authorize(principal, Scope::Write, Some(member)).is_ok();
            crate::app::virtual_repo::write_target(&state.hosted, target.repo.as_str(), package, &may_write).await?
        }
        None => {
            ensure_local(&target, state).await?;
            target.repo.to_string()
        }
    };
    let declared_size = header(req, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    let request = UploadRequest {
        repo: lands_in,
        path: target.path.clone(),
        body: Box::pin(body.into_bytes_stream()),
        declared_size,
        checksum: header(req, "x-checksum-sha256").map(str::to_string),
        content_type: header(req, header::CONTENT_TYPE).map(str::to_string),
    };
    let stored = state.hosted.upload(request).await?;
    state.metrics.count_received(&stored.repo, 201, stored.size);
    tracing::info!(repository = %stored.repo, path = %target.path, digest = %stored.digest, size = stored.size, "uploaded");
    state
        .events
        .publish("upload", &stored.repo, Some(target.path.as_str()))
        .await;
    let json = serde_json::json!({
        "repository": stored.repo,
        "path": stored.path,
        "digest": stored.digest.to_string(),
        "size": stored.size,
    });
    Ok(Response::builder()
        .status(StatusCode::CREATED)
        .header(header::ETAG, etag_of(&stored.digest))
        .content_type("application/json")
        .body(json.to_string()))
}

fn log_write(principal: &Principal, action: &str, target: &Target) {
    let who = match principal {
        Principal::Anonymous => "anonymous",
        Principal::Token { name, .. } => name.as_str(),
    };
    tracing::info!(token = who, action, repository = %target.repo, path = %target.path, "write");
}
