use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "artifacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub repo: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub path: String,
    pub digest: String,
    pub size: i64,
    pub content_type: Option<String>,
    /// `mutable` | `immutable`
    pub class: String,
    pub fetched_at: DateTimeUtc,
    pub upstream_etag: Option<String>,
    pub last_accessed: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
