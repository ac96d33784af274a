//! The first schema: repositories, blobs, artifacts, hosted files, upload sessions, tokens and
//! signing keys.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Repositories {
    Table,
    Name,
    Kind,
    Package,
    ManagedBy,
    Settings,
    PasswordEnc,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Blobs {
    Table,
    Digest,
    Size,
    ContentType,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Artifacts {
    Table,
    Repo,
    Path,
    Digest,
    Size,
    ContentType,
    Class,
    FetchedAt,
    UpstreamEtag,
    LastAccessed,
}

#[derive(DeriveIden)]
enum HostedFiles {
    Table,
    Repo,
    Path,
    Digest,
    Size,
    ContentType,
    CreatedAt,
}

#[derive(DeriveIden)]
enum UploadSessions {
    Table,
    Id,
    Repo,
    Image,
    State,
    Parts,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tokens {
    Table,
    Id,
    Name,
    SecretHash,
    Scopes,
    Repositories,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Name,
    Algorithm,
    Material,
    CreatedAt,
}

/// A text column that sorts and compares byte-wise on every backend. SQLite's default collation
/// already is byte-wise; PostgreSQL's follows the server locale (where `a-b` may sort after `ab`),
/// which would break prefix ranges and `after` cursors, so key columns there use `"C"`.
pub(crate) fn key_text(backend: DbBackend, col: impl IntoIden) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    def.text().not_null();
    if backend == DbBackend::Postgres {
        def.extra("COLLATE \"C\"");
    }
    def
}

pub(crate) fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().take()
}

fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().null().take()
}

fn big_int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().take()
}

fn instant(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().take()
}

fn instant_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on SQLite too: a fresh start commits (and syncs) once, not per statement,
    /// and a migration cut short leaves no half-made schema.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(Repositories::Table)
                    .col(key_text(backend, Repositories::Name).primary_key())
                    .col(text(Repositories::Kind))
                    .col(text(Repositories::Package))
                    .col(text(Repositories::ManagedBy))
                    .col(text(Repositories::Settings))
                    .col(text_null(Repositories::PasswordEnc))
                    .col(instant(Repositories::CreatedAt))
                    .col(instant(Repositories::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Blobs::Table)
                    .col(text(Blobs::Digest).primary_key())
                    .col(big_int(Blobs::Size))
                    .col(text_null(Blobs::ContentType))
                    .col(instant(Blobs::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Artifacts::Table)
                    .col(key_text(backend, Artifacts::Repo))
                    .col(key_text(backend, Artifacts::Path))
                    .col(text(Artifacts::Digest))
                    .col(big_int(Artifacts::Size))
                    .col(text_null(Artifacts::ContentType))
                    .col(text(Artifacts::Class))
                    .col(instant(Artifacts::FetchedAt))
                    .col(text_null(Artifacts::UpstreamEtag))
                    .col(instant(Artifacts::LastAccessed))
                    .primary_key(Index::create().col(Artifacts::Repo).col(Artifacts::Path))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_artifacts_digest")
                    .table(Artifacts::Table)
                    .col(Artifacts::Digest)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(HostedFiles::Table)
                    .col(key_text(backend, HostedFiles::Repo))
                    .col(key_text(backend, HostedFiles::Path))
                    .col(text(HostedFiles::Digest))
                    .col(big_int(HostedFiles::Size))
                    .col(text_null(HostedFiles::ContentType))
                    .col(instant(HostedFiles::CreatedAt))
                    .primary_key(Index::create().col(HostedFiles::Repo).col(HostedFiles::Path))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_hosted_files_digest")
                    .table(HostedFiles::Table)
                    .col(HostedFiles::Digest)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UploadSessions::Table)
                    .col(text(UploadSessions::Id).primary_key())
                    .col(text(UploadSessions::Repo))
                    .col(text(UploadSessions::Image))
                    .col(text(UploadSessions::State))
                    .col(text(UploadSessions::Parts))
                    .col(big_int(UploadSessions::Version))
                    .col(instant(UploadSessions::CreatedAt))
                    .col(instant(UploadSessions::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_upload_sessions_updated_at")
                    .table(UploadSessions::Table)
                    .col(UploadSessions::UpdatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Tokens::Table)
                    .col(text(Tokens::Id).primary_key())
                    .col(text(Tokens::Name).unique_key())
                    .col(text(Tokens::SecretHash).unique_key())
                    .col(text(Tokens::Scopes))
                    .col(text(Tokens::Repositories))
                    .col(instant_null(Tokens::ExpiresAt))
                    .col(instant(Tokens::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(text(SigningKeys::Name).primary_key())
                    .col(text(SigningKeys::Algorithm))
                    .col(text(SigningKeys::Material))
                    .col(instant(SigningKeys::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SigningKeys::Table.into_iden(),
            Tokens::Table.into_iden(),
            UploadSessions::Table.into_iden(),
            HostedFiles::Table.into_iden(),
            Artifacts::Table.into_iden(),
            Blobs::Table.into_iden(),
            Repositories::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
