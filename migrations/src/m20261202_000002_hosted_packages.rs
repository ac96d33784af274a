//! Package records of hosted repositories (DESIGN §10): one row per published file with the
//! package's name and version and format metadata, so indexes render from the database alone.
use sea_orm_migration::prelude::*;

use crate::m20250101_000001_initial::{key_text, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum HostedPackages {
    Table,
    Repo,
    Key,
    Name,
    Version,
    Filename,
    Path,
    Digest,
    Size,
    Meta,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(HostedPackages::Table)
                    .if_not_exists()
                    .col(key_text(backend, HostedPackages::Repo))
                    .col(key_text(backend, HostedPackages::Key))
                    .col(key_text(backend, HostedPackages::Name))
                    .col(text(HostedPackages::Version))
                    .col(text(HostedPackages::Filename))
                    .col(text(HostedPackages::Path))
                    .col(text(HostedPackages::Digest))
                    .col(ColumnDef::new(HostedPackages::Size).big_integer().not_null())
                    .col(text(HostedPackages::Meta))
                    .col(
                        ColumnDef::new(HostedPackages::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col(HostedPackages::Repo).col(HostedPackages::Key))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_hosted_packages_name")
                    .table(HostedPackages::Table)
                    .if_not_exists()
                    .col(HostedPackages::Repo)
                    .col(HostedPackages::Name)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(HostedPackages::Table).to_owned())
            .await
    }
}
