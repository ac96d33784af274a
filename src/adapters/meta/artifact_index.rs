//! `ArtifactIndex`: what a remote repository has cached, one row per `(repo, path)`.
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entities::artifact::{ActiveModel, Column, Entity, Model};
use super::{MetaStore, db_err, db_time, from_db_size, page_condition, parse_digest, to_db_size, usage_of};
use crate::ports::{ArtifactIndex, CacheClass, CachedObject, PageRequest, PortError, Usage};

fn parse_class(raw: &str) -> Result<CacheClass, PortError> {
    match raw {
        "mutable" => Ok(CacheClass::Mutable),
        "immutable" => Ok(CacheClass::Immutable),
        other => Err(PortError::Backend(format!(
            "unknown cache class '{other}' in the database"
        ))),
    }
}

fn to_object(row: Model) -> Result<CachedObject, PortError> {
    Ok(CachedObject {
        digest: parse_digest(&row.digest)?,
        size: from_db_size(row.size)?,
        class: parse_class(&row.class)?,
        repo: row.repo,
        path: row.path,
        content_type: row.content_type,
        fetched_at: row.fetched_at,
        upstream_etag: row.upstream_etag,
        last_accessed: row.last_accessed,
    })
}

fn to_row(o: &CachedObject) -> Result<ActiveModel, PortError> {
    Ok(ActiveModel {
        repo: Set(o.repo.clone()),
        path: Set(o.path.clone()),
        digest: Set(o.digest.to_string()),
        size: Set(to_db_size(o.size)?),
        content_type: Set(o.content_type.clone()),
        class: Set(o.class.as_str().to_string()),
        fetched_at: Set(db_time(o.fetched_at)),
        upstream_etag: Set(o.upstream_etag.clone()),
        last_accessed: Set(db_time(o.last_accessed)),
    })
}

fn key(repo: &str, path: &str) -> (String, String) {
    (repo.to_string(), path.to_string())
}

#[async_trait]
impl ArtifactIndex for MetaStore {
    async fn get(&self, repo: &str, path: &str) -> Result<Option<CachedObject>, PortError> {
        let row = Entity::find_by_id(key(repo, path))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        row.map(to_object).transpose()
    }

    async fn upsert(&self, object: &CachedObject) -> Result<(), PortError> {
        // One statement, so concurrent upserts of the same path never race into a unique error.
        let replace = OnConflict::columns([Column::Repo, Column::Path])
            .update_columns([
                Column::Digest,
                Column::Size,
                Column::ContentType,
                Column::Class,
                Column::FetchedAt,
                Column::UpstreamEtag,
                Column::LastAccessed,
            ])
            .to_owned();
        Entity::insert(to_row(object)?)
            .on_conflict(replace)
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn touch(&self, repo: &str, path: &str, at: DateTime<Utc>) -> Result<(), PortError> {
        Entity::update_many()
            .col_expr(Column::LastAccessed, Expr::value(db_time(at)))
            .filter(Column::Repo.eq(repo))
            .filter(Column::Path.eq(path))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete(&self, repo: &str, path: &str) -> Result<bool, PortError> {
        let result = Entity::delete_by_id(key(repo, path))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn list(&self, repo: &str, page: &PageRequest) -> Result<Vec<CachedObject>, PortError> {
        if page.limit == 0 {
            return Ok(Vec::new());
        }
        let rows = Entity::find()
            .filter(page_condition(Column::Repo, Column::Path, repo, page))
            .order_by_asc(Column::Path)
            .limit(page.limit)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(to_object).collect()
    }

    async fn delete_repo(&self, repo: &str) -> Result<u64, PortError> {
        let result = Entity::delete_many()
            .filter(Column::Repo.eq(repo))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected)
    }

    async fn usage(&self, repo: &str) -> Result<Usage, PortError> {
        usage_of(&self.db, Entity::find().filter(Column::Repo.eq(repo))).await
    }
}
