//! What every resource and data source does with the management client: reach it, read a
//! repository (a missing one is `None`, so a resource deleted outside Terraform leaves the
//! state), and turn API errors into diagnostics that carry the server's code and message.
use artifactapi_client::{Client, Error, types};
use tf_provider::Diagnostics;

use crate::provider::Api;

/// The configured client, or an error diagnostic when `configure` has not run.
pub fn client<'a>(api: &'a Api, diags: &mut Diagnostics) -> Option<&'a Client> {
    let client = api.get();
    if client.is_none() {
        diags.root_error_short("the artifactapi provider is not configured");
    }
    client
}

/// True when the server answered 404.
pub fn not_found<T>(error: &Error<T>) -> bool {
    error.status() == Some(reqwest::StatusCode::NOT_FOUND)
}

/// `HTTP 409: REPOSITORY_IN_USE: ...` for API errors (the body's code and message), the
/// client's own text for anything else (connection refused, bad JSON).
pub fn describe(error: Error<types::ApiError>) -> String {
    match error {
        Error::ErrorResponse(response) => {
            let status = response.status();
            let body = response.into_inner();
            format!("HTTP {}: {}: {}", status.as_u16(), body.code, body.message)
        }
        other => other.to_string(),
    }
}

/// Adds an error diagnostic for a failed call: `what` says what was being done.
pub fn report(diags: &mut Diagnostics, what: String, error: Error<types::ApiError>) {
    diags.root_error(what, describe(error));
}

/// The repository `name` as the server has it, `None` when it does not exist.
pub async fn repository(client: &Client, diags: &mut Diagnostics, name: &str) -> Option<Option<types::RepositoryView>> {
    match client.get_repository().name(name).send().await {
        Ok(found) => Some(Some(found.into_inner())),
        Err(e) if not_found(&e) => Some(None),
        Err(e) => {
            report(diags, format!("cannot read repository '{name}'"), e);
            None
        }
    }
}

/// Checks that a repository read back is the kind (and package, when given) the resource
/// manages; adds an error otherwise.
pub fn expect_shape(
    diags: &mut Diagnostics,
    repo: &types::RepositoryView,
    kind: &str,
    package: Option<&str>,
) -> Option<()> {
    if repo.kind == kind && package.is_none_or(|p| repo.package == p) {
        return Some(());
    }
    diags.root_error(
        "repository of another kind",
        format!(
            "'{}' is a {} {} repository, not {kind} {}",
            repo.name,
            repo.kind,
            repo.package,
            package.unwrap_or("")
        ),
    );
    None
}

/// Deletes a repository; one already gone is fine.
pub async fn delete_repository(client: &Client, diags: &mut Diagnostics, name: &str) -> Option<()> {
    match client.delete_repository().name(name).send().await {
        Ok(_) => Some(()),
        Err(e) if not_found(&e) => Some(()),
        Err(e) => {
            report(diags, format!("cannot delete repository '{name}'"), e);
            None
        }
    }
}

/// Applies a JSON merge patch to a repository.
pub async fn patch_repository(
    client: &Client,
    diags: &mut Diagnostics,
    name: &str,
    body: serde_json::Value,
) -> Option<()> {
    match client.patch_repository().name(name).body(body).send().await {
        Ok(_) => Some(()),
        Err(e) => {
            report(diags, format!("cannot update repository '{name}'"), e);
            None
        }
    }
}

/// Creates a repository from its JSON definition (the shape of `RepositoryInput`).
pub async fn create_repository(
    client: &Client,
    diags: &mut Diagnostics,
    name: &str,
    body: serde_json::Value,
) -> Option<()> {
    let input = match serde_json::from_value::<types::RepositoryInput>(body) {
        Ok(input) => input,
        Err(e) => {
            diags.root_error(
                format!("cannot build the definition of repository '{name}'"),
                e.to_string(),
            );
            return None;
        }
    };
    match client.create_repository().body(input).send().await {
        Ok(_) => Some(()),
        Err(e) => {
            report(diags, format!("cannot create repository '{name}'"), e);
            None
        }
    }
}
