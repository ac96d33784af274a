//! `ArtifactIndex`: what a remote repository has cached, one row per `(repo, path)`.
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use super::entities::artifact::{ActiveModel, Column, Entity, Model};
use super::{
    MetaStore, db_err, db_time, distinct_bytes, from_db_size, page_condition, parse_digest, to_db_size, usage_of,
};
use crate::ports::{AccessCursor, ArtifactIndex, CacheClass, CachedObject, PageRequest, PortError, Usage};

/// Paths per `IN (...)` list, well under SQLite's bound-parameter limit.
const IN_CHUNK: usize = 500;

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

    /// One `UPDATE ... WHERE path IN (...) AND last_accessed < at` per chunk: replicas flushing
    /// out of order never move a time back.
    async fn touch_many(&self, repo: &str, paths: &[String], at: DateTime<Utc>) -> Result<(), PortError> {
        let at = db_time(at);
        for chunk in paths.chunks(IN_CHUNK) {
            Entity::update_many()
                .col_expr(Column::LastAccessed, Expr::value(at))
                .filter(Column::Repo.eq(repo))
                .filter(Column::Path.is_in(chunk.iter().map(String::as_str)))
                .filter(Column::LastAccessed.lt(at))
                .exec(&self.db)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    /// Keyset paging on `(last_accessed, path)`, served by `idx_artifacts_repo_last_accessed`.
    async fn least_recent(
        &self,
        repo: &str,
        after: Option<AccessCursor>,
        limit: u64,
    ) -> Result<Vec<CachedObject>, PortError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut query = Entity::find().filter(Column::Repo.eq(repo));
        if let Some((at, path)) = after {
            let at = db_time(at);
            query = query.filter(
                Condition::any().add(Column::LastAccessed.gt(at)).add(
                    Condition::all()
                        .add(Column::LastAccessed.eq(at))
                        .add(Column::Path.gt(path)),
                ),
            );
        }
        let rows = query
            .order_by_asc(Column::LastAccessed)
            .order_by_asc(Column::Path)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(to_object).collect()
    }

    /// A conditional delete: a copy read since the evictor listed it stays.
    /// One transaction for the whole page: one commit (one fsync on SQLite) instead of one per row.
    async fn evict(&self, repo: &str, candidates: &[(String, DateTime<Utc>)]) -> Result<Vec<bool>, PortError> {
        let txn = self.db.begin().await.map_err(db_err)?;
        let mut gone = Vec::with_capacity(candidates.len());
        for (path, seen) in candidates {
            let result = Entity::delete_many()
                .filter(Column::Repo.eq(repo))
                .filter(Column::Path.eq(path.as_str()))
                .filter(Column::LastAccessed.lte(db_time(*seen)))
                .exec(&txn)
                .await
                .map_err(db_err)?;
            gone.push(result.rows_affected > 0);
        }
        txn.commit().await.map_err(db_err)?;
        Ok(gone)
    }

    async fn stored_bytes(&self, repo: &str) -> Result<u64, PortError> {
        distinct_bytes(&self.db, Entity, Column::Digest, Column::Size, Column::Repo.eq(repo)).await
    }
}
