//! The management API (`/api/v2`), described by poem-openapi: one response enum per operation
//! with explicit statuses, each domain error mapped exhaustively.
use poem::Request;
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use std::sync::Arc;

use super::AppState;
use super::auth::presented_secret;
use crate::app::auth::Principal;
use crate::app::repositories::ListFilter;
use crate::domain::cursor;
use crate::domain::error::{AuthError, RepositoryError};
use crate::domain::repository::{Kind, KindSettings, PackageType, Repository, RepositoryDraft};
use crate::domain::token::Scope;

#[derive(Tags)]
pub(super) enum ApiTags {
    /// Repository definitions.
    Repositories,
    /// Liveness and readiness.
    Health,
    /// API tokens.
    Tokens,
}

/// An error: a stable machine-readable `code`, a human `message`, and the offending `field` for
/// validation errors.
#[derive(Object, Debug)]
#[oai(example)]
pub struct ApiError {
    pub code: String,
    pub message: String,
    #[oai(skip_serializing_if_is_none)]
    pub field: Option<String>,
}

pub(super) fn api_error(code: &str, message: impl Into<String>, field: Option<&str>) -> Json<ApiError> {
    Json(ApiError {
        code: code.to_string(),
        message: message.into(),
        field: field.map(str::to_string),
    })
}

pub(super) fn unavailable(cause: &str) -> Json<ApiError> {
    tracing::error!(cause, "backend unavailable");
    api_error(
        "BACKEND_UNAVAILABLE",
        "a storage backend is unavailable; try again later",
        None,
    )
}

/// A repository to create. Field names follow the original ArtifactAPI configuration.
#[derive(Object, Debug)]
#[oai(deny_unknown_fields)]
#[oai(example)]
pub struct RepositoryInput {
    /// `[a-z0-9][a-z0-9._-]{0,63}`
    pub name: String,
    /// `remote`, `local` or `virtual`.
    pub kind: String,
    /// `generic`, `docker`, `helm`, `pypi`, `npm`, `rpm`, `alpine`, `puppet`, `terraform` or `goproxy`.
    pub package: String,
    /// Remote: the upstream URL (http or https).
    pub base_url: Option<String>,
    /// Remote: upstream user name.
    pub username: Option<String>,
    /// Remote: upstream password. Write-only: stored encrypted, never returned.
    #[oai(write_only)]
    pub password: Option<String>,
    /// Remote: seconds a mutable index stays fresh (default 300).
    pub mutable_ttl: Option<u64>,
    /// Remote: seconds an immutable file stays fresh (0 = forever, the default).
    pub immutable_ttl: Option<u64>,
    /// Remote: allowlist regexes (none = allow all).
    pub patterns: Option<Vec<String>>,
    /// Remote: blocklist regexes, checked first.
    pub blocklist: Option<Vec<String>>,
    /// Remote: regexes of paths to treat as mutable.
    pub mutable_patterns: Option<Vec<String>>,
    /// Remote: regexes of paths to treat as immutable.
    pub immutable_patterns: Option<Vec<String>>,
    /// Remote docker: tag regexes refused with 403.
    pub ban_tags: Option<Vec<String>>,
    /// Remote: serve the cache only.
    pub offline: Option<bool>,
    /// Remote: absolute path (on the server) of a PEM bundle of CAs trusted for this upstream,
    /// on top of the platform store and the instance's `ca_file`.
    pub ca_file: Option<String>,
    /// Remote: accept any upstream certificate (default false; logged as a warning).
    pub tls_insecure_skip_verify: Option<bool>,
    /// Remote: absolute path of a PEM client certificate chain for mTLS to the upstream.
    pub client_cert_file: Option<String>,
    /// Remote: absolute path of the PEM private key of `client_cert_file` (never read back).
    pub client_key_file: Option<String>,
    /// Virtual: ordered member repository names.
    pub members: Option<Vec<String>>,
    /// Local: allow uploading over an existing path (default false).
    pub allow_overwrite: Option<bool>,
    /// Virtual: the dependency-confusion guard (default true): a package name that exists in a
    /// local member is never asked of a remote member (PyPI).
    pub dependency_confusion_guard: Option<bool>,
    /// Local: bytes the repository may hold, distinct contents counted once (none = no quota).
    /// An upload that would go over is refused with 413 `QUOTA_EXCEEDED`; deletes always work.
    pub quota_bytes: Option<u64>,
    /// Remote: bytes the cache may hold, distinct contents counted once (none = unbounded); the
    /// least recently used copies are evicted down to it.
    pub max_bytes: Option<u64>,
    /// Remote: cached copies not downloaded for this many days are evicted (none = kept).
    pub unused_days: Option<u32>,
    /// Local docker: each image keeps its this many most recently pushed tags (and those
    /// `keep_tag_patterns` match); retention deletes the other tags and the manifests they leave
    /// untagged, and GC then frees their layers.
    pub keep_last_tags: Option<u32>,
    /// Local docker: regexes of tags `keep_last_tags` never deletes.
    pub keep_tag_patterns: Option<Vec<String>>,
    /// Local docker, opt-in: manifests without a tag that were neither pushed nor pulled by
    /// digest for this many days are deleted by retention (none = kept).
    pub untagged_manifest_days: Option<u32>,
}

impl From<RepositoryInput> for RepositoryDraft {
    fn from(i: RepositoryInput) -> Self {
        RepositoryDraft {
            name: i.name,
            kind: i.kind,
            package: i.package,
            base_url: i.base_url,
            username: i.username,
            password: i.password,
            mutable_ttl: i.mutable_ttl,
            immutable_ttl: i.immutable_ttl,
            patterns: i.patterns.unwrap_or_default(),
            blocklist: i.blocklist.unwrap_or_default(),
            mutable_patterns: i.mutable_patterns.unwrap_or_default(),
            immutable_patterns: i.immutable_patterns.unwrap_or_default(),
            ban_tags: i.ban_tags.unwrap_or_default(),
            offline: i.offline,
            ca_file: i.ca_file,
            tls_insecure_skip_verify: i.tls_insecure_skip_verify,
            client_cert_file: i.client_cert_file,
            client_key_file: i.client_key_file,
            members: i.members.unwrap_or_default(),
            allow_overwrite: i.allow_overwrite,
            dependency_confusion_guard: i.dependency_confusion_guard,
            quota_bytes: i.quota_bytes,
            max_bytes: i.max_bytes,
            unused_days: i.unused_days,
            keep_last_tags: i.keep_last_tags,
            keep_tag_patterns: i.keep_tag_patterns.unwrap_or_default(),
            untagged_manifest_days: i.untagged_manifest_days,
        }
    }
}

/// A repository as stored. The upstream password is never returned: `has_password` says
/// whether one is set.
#[derive(Object, Debug)]
#[oai(skip_serializing_if_is_none)]
#[oai(example)]
pub struct RepositoryView {
    pub name: String,
    pub kind: String,
    pub package: String,
    /// `api` or `config` (defined in the config file).
    pub managed_by: String,
    pub base_url: Option<String>,
    pub username: Option<String>,
    pub has_password: bool,
    pub mutable_ttl: Option<u64>,
    pub immutable_ttl: Option<u64>,
    pub patterns: Option<Vec<String>>,
    pub blocklist: Option<Vec<String>>,
    pub mutable_patterns: Option<Vec<String>>,
    pub immutable_patterns: Option<Vec<String>>,
    pub ban_tags: Option<Vec<String>>,
    pub offline: Option<bool>,
    pub ca_file: Option<String>,
    pub tls_insecure_skip_verify: Option<bool>,
    pub client_cert_file: Option<String>,
    pub client_key_file: Option<String>,
    pub members: Option<Vec<String>>,
    pub allow_overwrite: Option<bool>,
    pub dependency_confusion_guard: Option<bool>,
    pub quota_bytes: Option<u64>,
    pub max_bytes: Option<u64>,
    pub unused_days: Option<u32>,
    pub keep_last_tags: Option<u32>,
    pub keep_tag_patterns: Option<Vec<String>>,
    pub untagged_manifest_days: Option<u32>,
}

impl From<Repository> for RepositoryView {
    fn from(r: Repository) -> Self {
        let mut view = RepositoryView {
            name: r.name.to_string(),
            kind: r.kind().to_string(),
            package: r.package.to_string(),
            managed_by: r.managed_by.to_string(),
            base_url: None,
            username: None,
            has_password: false,
            mutable_ttl: None,
            immutable_ttl: None,
            patterns: None,
            blocklist: None,
            mutable_patterns: None,
            immutable_patterns: None,
            ban_tags: None,
            offline: None,
            ca_file: None,
            tls_insecure_skip_verify: None,
            client_cert_file: None,
            client_key_file: None,
            members: None,
            allow_overwrite: None,
            dependency_confusion_guard: None,
            quota_bytes: None,
            max_bytes: None,
            unused_days: None,
            keep_last_tags: None,
            keep_tag_patterns: None,
            untagged_manifest_days: None,
        };
        match r.settings {
            KindSettings::Remote(s) => {
                view.base_url = Some(s.base_url);
                view.username = s.username;
                view.has_password = s.password.is_some();
                view.mutable_ttl = Some(s.mutable_ttl);
                view.immutable_ttl = Some(s.immutable_ttl);
                view.patterns = Some(s.patterns);
                view.blocklist = Some(s.blocklist);
                view.mutable_patterns = Some(s.mutable_patterns);
                view.immutable_patterns = Some(s.immutable_patterns);
                view.ban_tags = Some(s.ban_tags);
                view.offline = Some(s.offline);
                view.ca_file = s.tls.ca_file;
                view.tls_insecure_skip_verify = Some(s.tls.tls_insecure_skip_verify);
                view.client_cert_file = s.tls.client_cert_file;
                view.client_key_file = s.tls.client_key_file;
                view.max_bytes = s.max_bytes;
                view.unused_days = s.unused_days;
            }
            KindSettings::Local(s) => {
                view.allow_overwrite = Some(s.allow_overwrite);
                view.quota_bytes = s.quota_bytes;
                view.keep_last_tags = s.keep_last_tags;
                view.keep_tag_patterns = (!s.keep_tag_patterns.is_empty()).then_some(s.keep_tag_patterns);
                view.untagged_manifest_days = s.untagged_manifest_days;
            }
            KindSettings::Virtual(s) => {
                view.members = Some(s.members.iter().map(|m| m.to_string()).collect());
                view.dependency_confusion_guard = Some(s.dependency_confusion_guard);
            }
        }
        view
    }
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "list_bad_request")]
enum ListRepositoriesResponse {
    /// A page of repositories ordered by name; `X-Next-Cursor` is set when more follow.
    #[oai(status = 200)]
    Ok(
        Json<Vec<RepositoryView>>,
        #[oai(header = "X-Next-Cursor")] Option<String>,
    ),
    /// An unknown kind or package, a bad limit, or a cursor this listing did not hand out
    /// (`field` names it).
    #[oai(status = 400)]
    BadRequest(Json<ApiError>),
    /// Reads need a token on this instance.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The token lacks the read scope.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

// Built once per request and moved straight into the response: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(ApiResponse)]
#[oai(bad_request_handler = "create_bad_request")]
enum CreateRepositoryResponse {
    /// Created.
    #[oai(status = 201)]
    Created(Json<RepositoryView>),
    /// The body is not valid JSON or a field is invalid (`field` names it).
    #[oai(status = 400)]
    BadRequest(Json<ApiError>),
    /// No token, or an invalid one.
    #[oai(status = 401)]
    Unauthorized(Json<ApiError>),
    /// The token lacks the admin scope.
    #[oai(status = 403)]
    Forbidden(Json<ApiError>),
    /// A repository of that name exists.
    #[oai(status = 409)]
    Conflict(Json<ApiError>),
    /// A backend is unavailable.
    #[oai(status = 503)]
    Unavailable(Json<ApiError>),
}

fn list_bad_request(err: poem::Error) -> ListRepositoriesResponse {
    ListRepositoriesResponse::BadRequest(api_error("INVALID_PARAMETER", err.to_string(), None))
}

fn create_bad_request(err: poem::Error) -> CreateRepositoryResponse {
    CreateRepositoryResponse::BadRequest(api_error("INVALID_BODY", err.to_string(), None))
}

/// Liveness.
#[derive(Object)]
struct HealthView {
    /// Always `ok` when the process answers.
    status: String,
    version: String,
}

#[derive(ApiResponse)]
enum HealthResponse {
    /// The process is alive.
    #[oai(status = 200)]
    Ok(Json<HealthView>),
}

/// One backend's readiness.
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
struct BackendView {
    /// `database`, `blob_store`, `cache` or `disk` (the data directory's free space).
    name: String,
    ok: bool,
    latency_ms: u64,
    error: Option<String>,
    /// When not ok: `tls` (certificate or handshake), `timeout`, `error`, or `low_space` (disk).
    failure: Option<String>,
    /// `disk` only: bytes writes may still use.
    free_bytes: Option<u64>,
}

#[derive(Object)]
struct ReadinessView {
    /// `ready`, `unavailable` (a backend does not answer) or `low_space` (the data disk is
    /// nearly full: reads and deletes work, writes are refused with 507).
    status: String,
    backends: Vec<BackendView>,
}

#[derive(ApiResponse)]
enum ReadinessResponse {
    /// Every backend answers and the data disk has room.
    #[oai(status = 200)]
    Ready(Json<ReadinessView>),
    /// A backend does not answer, or the data disk is nearly full.
    #[oai(status = 503)]
    Unavailable(Json<ReadinessView>),
}

/// Maps an auth failure onto an operation's response enum, which must have `Unauthorized`,
/// `Forbidden` and `Unavailable` variants.
macro_rules! denied {
    ($response:ident, $denied:expr) => {
        match $denied {
            Denied::Unauthorized(e) => $response::Unauthorized(e),
            Denied::Forbidden(e) => $response::Forbidden(e),
            Denied::Unavailable(e) => $response::Unavailable(e),
        }
    };
}
pub(super) use denied;

/// Auth failures, mapped once for every operation.
pub(super) enum Denied {
    Unauthorized(Json<ApiError>),
    Forbidden(Json<ApiError>),
    Unavailable(Json<ApiError>),
}

impl From<AuthError> for Denied {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::MissingToken | AuthError::InvalidToken => {
                Denied::Unauthorized(api_error("UNAUTHORIZED", e.to_string(), None))
            }
            AuthError::Forbidden(_) => Denied::Forbidden(api_error("FORBIDDEN", e.to_string(), None)),
            AuthError::Unavailable(cause) => Denied::Unavailable(unavailable(&cause)),
        }
    }
}

pub(super) async fn require(
    state: &AppState,
    req: &Request,
    need: Scope,
    repository: Option<&str>,
) -> Result<Principal, Denied> {
    let principal = state.auth.authenticate(presented_secret(req)?.as_deref()).await?;
    state.auth.authorize(&principal, need, repository)?;
    Ok(principal)
}

/// The caller of an instance-wide listing: anonymous only where anonymous reads are on; a token
/// restricted to some repositories may list too, and sees only those (the caller filters).
pub(super) async fn reader(state: &AppState, req: &Request) -> Result<Principal, Denied> {
    let principal = state.auth.authenticate(presented_secret(req)?.as_deref()).await?;
    if let (Principal::Anonymous, Err(e)) = (&principal, state.auth.authorize(&principal, Scope::Read, None)) {
        return Err(e.into());
    }
    Ok(principal)
}

pub struct AdminApi;

#[OpenApi(prefix_path = "/api/v2")]
impl AdminApi {
    /// List repositories
    #[oai(
        path = "/repositories",
        method = "get",
        operation_id = "listRepositories",
        tag = "ApiTags::Repositories"
    )]
    async fn list_repositories(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        /// Only this kind: `remote`, `local` or `virtual`.
        kind: Query<Option<String>>,
        /// Only this package type.
        package: Query<Option<String>>,
        /// Page size (default 100, at most 1000).
        limit: Query<Option<u32>>,
        /// The `X-Next-Cursor` of the previous page, as it was (any other value is a 400).
        cursor: Query<Option<String>>,
    ) -> ListRepositoriesResponse {
        use ListRepositoriesResponse as R;
        let kind = match kind.0.as_deref().map(str::parse::<Kind>).transpose() {
            Ok(k) => k,
            Err(m) => return R::BadRequest(api_error("INVALID_FIELD", m, Some("kind"))),
        };
        let package = match package.0.as_deref().map(str::parse::<PackageType>).transpose() {
            Ok(p) => p,
            Err(m) => return R::BadRequest(api_error("INVALID_FIELD", m, Some("package"))),
        };
        let limit = limit.0.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return R::BadRequest(api_error(
                "INVALID_FIELD",
                "limit must be between 1 and 1000",
                Some("limit"),
            ));
        }
        let listing = cursor::repositories_listing();
        let after = match cursor.0.as_deref().map(|c| cursor::decode(&listing, c)).transpose() {
            Ok(after) => after,
            Err(e) => return R::BadRequest(api_error("INVALID_PARAMETER", e.to_string(), Some("cursor"))),
        };
        let filter = ListFilter {
            kind,
            package,
            after,
            limit: limit as usize,
        };
        let principal = match reader(state, req).await {
            Ok(p) => p,
            Err(d) => return denied!(R, d),
        };
        let visible = |name: &str| state.auth.authorize(&principal, Scope::Read, Some(name)).is_ok();
        match state.repositories.list_page(&filter, &visible).await {
            Ok((repos, next)) => R::Ok(
                Json(repos.into_iter().map(RepositoryView::from).collect()),
                next.map(|last| cursor::encode(&listing, &last)),
            ),
            Err(e) => match e {
                RepositoryError::Unavailable(cause) => R::Unavailable(unavailable(&cause)),
                RepositoryError::Invalid(_)
                | RepositoryError::NotFound(_)
                | RepositoryError::AlreadyExists(_)
                | RepositoryError::ManagedByConfig(_)
                | RepositoryError::InUse { .. }
                | RepositoryError::NotEmpty { .. } => R::Unavailable(unavailable(&e.to_string())),
            },
        }
    }

    /// Create a repository
    #[oai(
        path = "/repositories",
        method = "post",
        operation_id = "createRepository",
        tag = "ApiTags::Repositories"
    )]
    async fn create_repository(
        &self,
        req: &Request,
        Data(state): Data<&Arc<AppState>>,
        body: Json<RepositoryInput>,
    ) -> CreateRepositoryResponse {
        use CreateRepositoryResponse as R;
        let principal = match require(state, req, Scope::Admin, None).await {
            Ok(p) => p,
            Err(d) => return denied!(R, d),
        };
        match state.repositories.create(body.0.into()).await {
            Ok(repo) => {
                tracing::info!(repository = %repo.name, by = ?principal_name(&principal), "repository created");
                state
                    .events
                    .publish("repository_created", repo.name.as_str(), None)
                    .await;
                R::Created(Json(repo.into()))
            }
            Err(e) => {
                let message = e.to_string();
                match e {
                    RepositoryError::Invalid(f) => {
                        R::BadRequest(api_error("INVALID_FIELD", f.to_string(), Some(f.field)))
                    }
                    RepositoryError::AlreadyExists(_) => R::Conflict(api_error("REPOSITORY_EXISTS", message, None)),
                    RepositoryError::ManagedByConfig(_)
                    | RepositoryError::InUse { .. }
                    | RepositoryError::NotEmpty { .. } => R::Conflict(api_error("MANAGED_BY_CONFIG", message, None)),
                    RepositoryError::NotFound(_) => R::BadRequest(api_error("INVALID_FIELD", message, Some("members"))),
                    RepositoryError::Unavailable(cause) => R::Unavailable(unavailable(&cause)),
                }
            }
        }
    }

    /// Liveness
    #[oai(path = "/health", method = "get", operation_id = "health", tag = "ApiTags::Health")]
    async fn health(&self) -> HealthResponse {
        HealthResponse::Ok(Json(HealthView {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }))
    }

    /// Readiness of every backend
    #[oai(
        path = "/health/ready",
        method = "get",
        operation_id = "readiness",
        tag = "ApiTags::Health"
    )]
    async fn readiness(&self, Data(state): Data<&Arc<AppState>>) -> ReadinessResponse {
        let backends = state.health.readiness().await;
        let ready = backends.iter().all(|b| b.ok);
        let only_disk = backends.iter().all(|b| b.ok || b.name == "disk");
        let status = match (ready, only_disk) {
            (true, _) => "ready",
            (false, true) => "low_space",
            (false, false) => "unavailable",
        };
        let view = ReadinessView {
            status: status.into(),
            backends: backends
                .into_iter()
                .map(|b| BackendView {
                    name: b.name.into(),
                    ok: b.ok,
                    latency_ms: b.latency_ms,
                    error: b.error,
                    failure: b.failure.map(str::to_string),
                    free_bytes: b.free_bytes,
                })
                .collect(),
        };
        if ready {
            ReadinessResponse::Ready(Json(view))
        } else {
            ReadinessResponse::Unavailable(Json(view))
        }
    }
}

pub(super) fn principal_name(p: &Principal) -> &str {
    match p {
        Principal::Anonymous => "anonymous",
        Principal::Token { name, .. } => name,
    }
}
