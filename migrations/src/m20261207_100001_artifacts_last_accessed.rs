//! Retention pages a remote's cached copies least recently used first (`max_bytes`,
//! `unused_days`): an index on `(repo, last_accessed, path)` makes each page a range scan.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Artifacts {
    Table,
    Repo,
    LastAccessed,
    Path,
}

const INDEX: &str = "idx_artifacts_repo_last_accessed";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Artifacts::Table)
                    .col(Artifacts::Repo)
                    .col(Artifacts::LastAccessed)
                    .col(Artifacts::Path)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(INDEX).table(Artifacts::Table).to_owned())
            .await
    }
}
