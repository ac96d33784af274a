//! Untagged manifest retention keeps manifests pulled by digest recently: a hosted file row
//! records when it was last pulled (registry manifests only; written in batches, NULL until the
//! first pull).
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum HostedFiles {
    Table,
    LastPulledAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(HostedFiles::Table)
                    .add_column(
                        ColumnDef::new(HostedFiles::LastPulledAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(HostedFiles::Table)
                    .drop_column(HostedFiles::LastPulledAt)
                    .to_owned(),
            )
            .await
    }
}
