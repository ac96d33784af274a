//! `HostedPackages`: package records of hosted repositories, one row per `(repo, key)`.
use async_trait::async_trait;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entities::hosted_package::{ActiveModel, Column, Entity, Model};
use super::{MetaStore, db_err, db_time, from_db_size, parse_digest, to_db_size};
use crate::ports::{HostedPackages, PackageRecord, PortError};

fn to_record(row: Model) -> Result<PackageRecord, PortError> {
    let meta = serde_json::from_str(&row.meta)
        .map_err(|e| PortError::Backend(format!("corrupt package metadata in the database: {e}")))?;
    Ok(PackageRecord {
        digest: parse_digest(&row.digest)?,
        size: from_db_size(row.size)?,
        repo: row.repo,
        name: row.name,
        version: row.version,
        key: row.key,
        filename: row.filename,
        path: row.path,
        meta,
        created_at: row.created_at,
    })
}

fn to_row(r: &PackageRecord) -> Result<ActiveModel, PortError> {
    Ok(ActiveModel {
        repo: Set(r.repo.clone()),
        key: Set(r.key.clone()),
        name: Set(r.name.clone()),
        version: Set(r.version.clone()),
        filename: Set(r.filename.clone()),
        path: Set(r.path.clone()),
        digest: Set(r.digest.to_string()),
        size: Set(to_db_size(r.size)?),
        meta: Set(r.meta.to_string()),
        created_at: Set(db_time(r.created_at)),
    })
}

/// The records `query` selects, in upload order (then by key) after any order it has already.
async fn in_upload_order(
    query: sea_orm::Select<Entity>,
    db: &sea_orm::DatabaseConnection,
) -> Result<Vec<PackageRecord>, PortError> {
    let rows = query
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Key)
        .all(db)
        .await
        .map_err(db_err)?;
    rows.into_iter().map(to_record).collect()
}

fn id(repo: &str, key: &str) -> (String, String) {
    (repo.to_string(), key.to_string())
}

#[async_trait]
impl HostedPackages for MetaStore {
    /// A plain `INSERT`: the primary key decides the winner of concurrent creates.
    async fn create(&self, record: &PackageRecord) -> Result<(), PortError> {
        Entity::insert(to_row(record)?)
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get(&self, repo: &str, key: &str) -> Result<Option<PackageRecord>, PortError> {
        let row = Entity::find_by_id(id(repo, key)).one(&self.db).await.map_err(db_err)?;
        row.map(to_record).transpose()
    }

    async fn by_path(&self, repo: &str, path: &str) -> Result<Option<PackageRecord>, PortError> {
        let row = Entity::find()
            .filter(Column::Repo.eq(repo))
            .filter(Column::Path.eq(path))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        row.map(to_record).transpose()
    }

    /// One query for the whole page (no N+1), served by the `(repo, name)` index.
    async fn files(&self, repo: &str, name: &str) -> Result<Vec<PackageRecord>, PortError> {
        let query = Entity::find()
            .filter(Column::Repo.eq(repo))
            .filter(Column::Name.eq(name));
        in_upload_order(query, &self.db).await
    }

    async fn all(&self, repo: &str) -> Result<Vec<PackageRecord>, PortError> {
        let query = Entity::find().filter(Column::Repo.eq(repo)).order_by_asc(Column::Name);
        in_upload_order(query, &self.db).await
    }

    async fn names(&self, repo: &str) -> Result<Vec<String>, PortError> {
        Entity::find()
            .select_only()
            .column(Column::Name)
            .distinct()
            .filter(Column::Repo.eq(repo))
            .order_by_asc(Column::Name)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(db_err)
    }

    async fn set_meta(&self, repo: &str, key: &str, meta: &serde_json::Value) -> Result<bool, PortError> {
        let result = Entity::update_many()
            .col_expr(Column::Meta, sea_orm::sea_query::Expr::value(meta.to_string()))
            .filter(Column::Repo.eq(repo))
            .filter(Column::Key.eq(key))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete(&self, repo: &str, key: &str) -> Result<bool, PortError> {
        let result = Entity::delete_by_id(id(repo, key))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete_repo(&self, repo: &str) -> Result<u64, PortError> {
        let result = Entity::delete_many()
            .filter(Column::Repo.eq(repo))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected)
    }
}
