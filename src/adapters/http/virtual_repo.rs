//! GET/HEAD through a virtual repository of a format with indexes (PyPI, npm, rpm, helm,
//! goproxy, alpine): merged indexes and member files, each response naming the member that served it (`X-Artifact-Member`; a local member's also
//! `X-Artifact-Source: local`, a remote member's the remote's cache or remote).
use poem::http::{StatusCode, header};
use poem::{IntoResponse, Response};

use super::AppState;
use super::errors::HttpError;
use super::files::{StoredBody, not_modified, page_builder};
use crate::app::hosted::{ReadOutcome, ReadRequest};
use crate::app::virtual_repo::alpine::AlpineVirtual;
use crate::app::virtual_repo::generic::GenericVirtual;
use crate::app::virtual_repo::goproxy::GoproxyVirtual;
use crate::app::virtual_repo::helm::HelmVirtual;
use crate::app::virtual_repo::npm::NpmVirtual;
use crate::app::virtual_repo::puppet::PuppetVirtual;
use crate::app::virtual_repo::pypi::PypiVirtual;
use crate::app::virtual_repo::rpm::RpmVirtual;
use crate::app::virtual_repo::{VirtualError, VirtualRead};
use crate::domain::path::ArtifactPath;
use crate::domain::repository::PackageType;

const MEMBER: &str = "x-artifact-member";

impl From<VirtualError> for HttpError {
    fn from(e: VirtualError) -> Self {
        let message = e.to_string();
        match e {
            VirtualError::Hosted(e) => e.into(),
            VirtualError::Remote(e) => e.into(),
            VirtualError::NoLocalMember { .. } => {
                HttpError::new(StatusCode::METHOD_NOT_ALLOWED, "NO_LOCAL_MEMBER", message)
            }
            VirtualError::Denied { .. } => HttpError::new(StatusCode::FORBIDDEN, "FORBIDDEN", message),
        }
    }
}

fn with_member(mut response: Response, member: &str) -> Response {
    if let Ok(value) = header::HeaderValue::from_str(member) {
        response.headers_mut().insert(MEMBER, value);
    }
    response
}

/// Whether reads of a virtual repository of `package` are served here.
pub(super) fn serves(package: PackageType) -> bool {
    matches!(
        package,
        PackageType::Generic
            | PackageType::Pypi
            | PackageType::Npm
            | PackageType::Rpm
            | PackageType::Helm
            | PackageType::Goproxy
            | PackageType::Puppet
            | PackageType::Alpine
    )
}

pub(super) async fn read(
    repo: &str,
    package: PackageType,
    path: &ArtifactPath,
    request: ReadRequest<'_>,
    state: &AppState,
) -> Result<Response, HttpError> {
    let head_only = request.head_only;
    let read = match package {
        PackageType::Npm => {
            NpmVirtual::new(&state.hosted, &state.remote)
                .read(repo, path, request)
                .await?
        }
        PackageType::Pypi => {
            PypiVirtual::new(&state.hosted, &state.remote)
                .read(repo, path, request)
                .await?
        }
        PackageType::Rpm => {
            RpmVirtual::new(&state.hosted, &state.remote)
                .read(repo, path, request)
                .await?
        }
        PackageType::Alpine => {
            AlpineVirtual::new(&state.hosted, &state.remote)
                .read(repo, path, request)
                .await?
        }
        PackageType::Helm => {
            HelmVirtual::new(&state.hosted, &state.remote)
                .read(repo, path, request)
                .await?
        }
        PackageType::Generic => {
            GenericVirtual::new(&state.hosted, &state.remote)
                .read(repo, path, request)
                .await?
        }
        PackageType::Goproxy => {
            GoproxyVirtual::new(&state.hosted, &state.remote)
                .read(repo, path, request)
                .await?
        }
        PackageType::Puppet => {
            PuppetVirtual::new(&state.hosted, &state.remote)
                .read(repo, path, request)
                .await?
        }
        other => {
            return Err(HttpError::new(
                StatusCode::NOT_IMPLEMENTED,
                "NOT_IMPLEMENTED",
                format!("virtual {other} repositories are not served yet"),
            ));
        }
    };
    Ok(match read {
        VirtualRead::Page { page, members, local } => {
            let mut builder = page_builder(&page);
            if local {
                builder = builder.header("X-Artifact-Source", "local");
            }
            let response = if head_only {
                builder.finish()
            } else {
                builder.body(page.body)
            };
            with_member(response, &members.join(", "))
        }
        VirtualRead::PageNotModified(digest) => not_modified(&digest),
        VirtualRead::Redirect(canonical) => Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header(header::LOCATION, format!("/api/v1/virtual/{repo}/{canonical}"))
            .finish(),
        VirtualRead::Local { member, outcome } => {
            let response = match outcome {
                ReadOutcome::NotModified(file) => not_modified(&file.digest),
                ReadOutcome::Content { file, span, body } => {
                    let stored = StoredBody {
                        digest: &file.digest,
                        size: file.size,
                        content_type: file.content_type.as_deref(),
                        modified: file.created_at,
                        span,
                    };
                    stored.finish(stored.builder(), repo, body, state)
                }
            };
            let mut response = with_member(response, &member);
            response
                .headers_mut()
                .insert("x-artifact-source", header::HeaderValue::from_static("local"));
            response
        }
        VirtualRead::Remote { member, read } => with_member(super::remote::respond(repo, read, state), &member),
    }
    .into_response())
}
