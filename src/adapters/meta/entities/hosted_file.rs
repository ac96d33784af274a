use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "hosted_files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub repo: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub path: String,
    pub digest: String,
    pub size: i64,
    pub content_type: Option<String>,
    pub created_at: DateTimeUtc,
    /// Registry manifests: the last pull (by digest), written in batches.
    pub last_pulled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
