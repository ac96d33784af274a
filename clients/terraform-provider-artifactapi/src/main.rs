//! `terraform-provider-artifactapi`: manages ArtifactAPI through its management API, with the
//! client generated from `openapi/openapi.json` (`clients/rust`). Terraform starts this binary
//! and speaks the plugin protocol to it (`tf-provider`).
mod api;
mod data_repositories;
mod data_repository;
mod local;
mod password;
mod provider;
mod remote;
mod repository;
mod token;
mod values;
mod virtual_repo;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tf_provider::serve("artifactapi", provider::ArtifactApi::default()).await
}
