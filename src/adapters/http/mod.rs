//! Inbound HTTP: the package protocols (`/api/v1`), the management API (`/api/v2`, poem-openapi)
//! and `/metrics`. Handlers call `app` services only.
pub mod access_log;
pub mod admin;
pub mod auth;
pub mod errors;
pub mod events_api;
mod examples;
pub mod files;
pub mod forwarded;
pub mod front;
pub mod gc_api;
pub mod listener;
pub mod metrics;
pub mod objects_api;
pub mod probe_api;
pub mod protocol;
pub mod registry;
pub mod remote;
pub mod repositories_api;
pub mod retention_api;
pub mod startup;
pub mod stats_api;
pub mod terraform;
pub mod tokens_api;
pub mod ui;
mod virtual_repo;

use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;
use std::sync::{Arc, OnceLock};

use crate::app::auth::AuthService;
use crate::app::cas::ContentStore;
use crate::app::disk::DiskGuard;
use crate::app::events::EventBus;
use crate::app::gc::GcService;
use crate::app::health::HealthService;
use crate::app::hosted::HostedService;
use crate::app::objects::ObjectsService;
use crate::app::proxy::RemoteService;
use crate::app::registry::RegistryService;
use crate::app::registry_tokens::RegistryTokens;
use crate::app::repositories::RepositoryService;
use crate::app::retention::RetentionService;
use crate::app::sessions::SessionService;
use crate::app::stats::StatsService;
use crate::app::terraform::ProviderRegistry;
use crate::app::tokens::TokenService;
use metrics::Metrics;

/// `scheme://host` as the client addressed us (see [`forwarded`]).
pub(crate) fn client_origin(req: &poem::Request) -> Option<String> {
    match req.data::<Arc<AppState>>() {
        Some(state) => forwarded::client_origin(req, &state.trusted_proxies),
        None => forwarded::client_origin(req, &forwarded::TrustedProxies::default()),
    }
}

/// Every `Accept` line joined: docker clients send one line per media type, and an upstream
/// must see them all to pick the representation.
pub(crate) fn accept_header(req: &poem::Request) -> Option<String> {
    let lines: Vec<&str> = req
        .headers()
        .get_all(poem::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!lines.is_empty()).then(|| lines.join(", "))
}

/// The app services the HTTP layer calls.
pub struct AppState {
    /// The content store, for maintenance (temp file sweeps).
    pub cas: Arc<ContentStore>,
    /// Garbage collection (`POST /api/v2/gc`, and the periodic job in `serve`).
    pub gc: GcService,
    /// Retention policies (`/api/v2/retention`, after fetches, and the periodic job in `serve`).
    pub retention: Arc<RetentionService>,
    pub hosted: HostedService,
    pub remote: RemoteService,
    /// The Terraform provider registry (`/.well-known/terraform.json`, `/terraform/...`).
    pub providers: ProviderRegistry,
    pub registry: RegistryService,
    pub registry_tokens: RegistryTokens,
    pub repositories: RepositoryService,
    pub stats: StatsService,
    pub objects: ObjectsService,
    pub auth: AuthService,
    pub tokens: TokenService,
    pub sessions: SessionService,
    pub health: HealthService,
    /// Free space on the data disk, checked before every write request.
    pub disk: Arc<DiskGuard>,
    pub metrics: Arc<Metrics>,
    pub events: Arc<EventBus>,
    /// Whose `X-Forwarded-*` headers absolute links believe.
    pub trusted_proxies: forwarded::TrustedProxies,
    /// One line per request when `access_log` is set.
    pub access_log: Option<Arc<access_log::AccessLog>>,
}

/// Every management API group, in the order the spec lists them.
type ManagementApis = (
    admin::AdminApi,
    repositories_api::RepositoriesApi,
    objects_api::ObjectsApi,
    tokens_api::TokensApi,
    events_api::EventsApi,
    probe_api::ProbeApi,
    stats_api::StatsApi,
    gc_api::GcApi,
    retention_api::RetentionApi,
);

/// The management API's OpenAPI service (also used by `artifactapi openapi` to print the spec).
pub fn openapi_service() -> OpenApiService<ManagementApis, ()> {
    OpenApiService::new(
        (
            admin::AdminApi,
            repositories_api::RepositoriesApi,
            objects_api::ObjectsApi,
            tokens_api::TokensApi,
            events_api::EventsApi,
            probe_api::ProbeApi,
            stats_api::StatsApi,
            gc_api::GcApi,
            retention_api::RetentionApi,
        ),
        "ArtifactAPI",
        env!("CARGO_PKG_VERSION"),
    )
    .description(
        "Management API of ArtifactAPI: repositories, objects, statistics, tokens, events, probes, garbage collection, retention, health and readiness.",
    )
}

/// The router drops path parameters that are not UTF-8 once percent-decoded and then refuses
/// the route with a plain-text 400 before any handler runs; answer that in JSON like every other
/// bad path (`INVALID_PATH`, or the OCI error on `/v2`).
async fn json_path_errors<E: Endpoint>(next: E, req: poem::Request) -> poem::Result<poem::Response> {
    let registry = req.uri().path().starts_with("/v2");
    match next.call(req).await {
        Ok(response) => Ok(poem::IntoResponse::into_response(response)),
        Err(e) if e.is::<poem::error::ParsePathError>() && registry => Ok(registry::invalid_path()),
        Err(e) if e.is::<poem::error::ParsePathError>() => {
            Ok(poem::IntoResponse::into_response(errors::HttpError::invalid_utf8_path()))
        }
        Err(e) => Err(e),
    }
}

/// The spec, rendered on first request rather than at start-up (it takes milliseconds).
static SPEC_JSON: OnceLock<String> = OnceLock::new();
/// Swagger UI with the spec inlined, likewise rendered once on first request.
static DOCS_HTML: OnceLock<String> = OnceLock::new();

#[poem::handler]
fn spec_json() -> poem::Response {
    let spec = SPEC_JSON.get_or_init(|| openapi_service().spec());
    poem::Response::builder()
        .content_type("application/json")
        .body(spec.as_str())
}

#[poem::handler]
fn docs_html() -> poem::web::Html<&'static str> {
    poem::web::Html(DOCS_HTML.get_or_init(|| openapi_service().swagger_ui_html()).as_str())
}

/// Every HTTP endpoint: the front door, with protocol requests going straight to their handler
/// and everything else through the router.
pub fn routes(state: Arc<AppState>) -> front::FrontDoor {
    let api = openapi_service();
    let router = Route::new()
        .at("/api/v2/docs", docs_html)
        .at("/api/v2/docs/", docs_html)
        .nest("/ui", ui::routes())
        .at("/api/v2/openapi.json", spec_json)
        .nest(
            "/",
            Route::new()
                .at("/v2", registry::endpoint)
                .at("/v2/", registry::endpoint)
                .at("/v2/*rest", registry::endpoint)
                .at("/metrics", metrics::render)
                .at("/.well-known/terraform.json", terraform::discovery)
                .at("/terraform/providers/v1/*rest", terraform::providers)
                .nest("/", api),
        )
        .around(ui::root_redirect)
        .around(json_path_errors)
        .data(state.clone());
    front::FrontDoor::new(state, router.map_to_response().boxed())
}
