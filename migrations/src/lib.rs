//! Schema of the metadata database (DESIGN §2, §5). One migrator for SQLite and PostgreSQL: column
//! types are the portable ones sea-query renders for both backends.
pub use sea_orm_migration::prelude::*;

mod m20250101_000001_initial;
mod m20261202_000002_hosted_packages;
mod m20261202_000003_blob_last_referenced;
mod m20261207_100001_artifacts_last_accessed;
mod m20261207_100002_hosted_files_last_pulled;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250101_000001_initial::Migration),
            Box::new(m20261202_000002_hosted_packages::Migration),
            Box::new(m20261202_000003_blob_last_referenced::Migration),
            Box::new(m20261207_100001_artifacts_last_accessed::Migration),
            Box::new(m20261207_100002_hosted_files_last_pulled::Migration),
        ]
    }
}
