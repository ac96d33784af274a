//! GC's grace period counts from a blob's last reference, not only its creation: the CAS sets
//! `last_referenced_at` whenever it stores or re-ingests (deduplicates onto) a digest. Rows from
//! before this column have it NULL and count from `created_at`.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Blobs {
    Table,
    LastReferencedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Blobs::Table)
                    .add_column(
                        ColumnDef::new(Blobs::LastReferencedAt)
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
                    .table(Blobs::Table)
                    .drop_column(Blobs::LastReferencedAt)
                    .to_owned(),
            )
            .await
    }
}
