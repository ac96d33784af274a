//! `HostedFiles`: files published to local repositories, one row per `(repo, path)`.
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::entities::hosted_file::{ActiveModel, Column, Entity, Model};
use super::{
    MetaStore, db_err, db_time, distinct_bytes, from_db_size, page_condition, parse_digest, to_db_size, usage_of,
};
use crate::ports::{HostedFile, HostedFiles, PageRequest, PortError, Usage};

fn to_file(row: Model) -> Result<HostedFile, PortError> {
    Ok(HostedFile {
        digest: parse_digest(&row.digest)?,
        size: from_db_size(row.size)?,
        repo: row.repo,
        path: row.path,
        content_type: row.content_type,
        created_at: row.created_at,
    })
}

fn to_row(f: &HostedFile) -> Result<ActiveModel, PortError> {
    Ok(ActiveModel {
        repo: Set(f.repo.clone()),
        path: Set(f.path.clone()),
        digest: Set(f.digest.to_string()),
        size: Set(to_db_size(f.size)?),
        content_type: Set(f.content_type.clone()),
        created_at: Set(db_time(f.created_at)),
        // Never written by a create or an upsert: a re-push keeps the pull history.
        last_pulled_at: NotSet,
    })
}

fn key(repo: &str, path: &str) -> (String, String) {
    (repo.to_string(), path.to_string())
}

#[async_trait]
impl HostedFiles for MetaStore {
    async fn get(&self, repo: &str, path: &str) -> Result<Option<HostedFile>, PortError> {
        let row = Entity::find_by_id(key(repo, path))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        row.map(to_file).transpose()
    }

    /// A plain `INSERT`: the primary key decides the winner of concurrent creates.
    async fn create(&self, file: &HostedFile) -> Result<(), PortError> {
        Entity::insert(to_row(file)?)
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn upsert(&self, file: &HostedFile) -> Result<(), PortError> {
        let replace = OnConflict::columns([Column::Repo, Column::Path])
            .update_columns([Column::Digest, Column::Size, Column::ContentType, Column::CreatedAt])
            .to_owned();
        Entity::insert(to_row(file)?)
            .on_conflict(replace)
            .exec_without_returning(&self.db)
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

    /// One conditional `DELETE`: a row rewritten since it was read stays.
    async fn delete_unchanged(&self, file: &HostedFile) -> Result<bool, PortError> {
        let result = Entity::delete_many()
            .filter(Column::Repo.eq(file.repo.as_str()))
            .filter(Column::Path.eq(file.path.as_str()))
            .filter(Column::Digest.eq(file.digest.to_string()))
            .filter(Column::CreatedAt.eq(db_time(file.created_at)))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn list(&self, repo: &str, page: &PageRequest) -> Result<Vec<HostedFile>, PortError> {
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
        rows.into_iter().map(to_file).collect()
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

    /// Like `ArtifactIndex::touch_many`: chunks of 500 paths, never moving a time back.
    async fn touch_pulled(&self, repo: &str, paths: &[String], at: DateTime<Utc>) -> Result<(), PortError> {
        let at = db_time(at);
        for chunk in paths.chunks(500) {
            Entity::update_many()
                .col_expr(Column::LastPulledAt, Expr::value(at))
                .filter(Column::Repo.eq(repo))
                .filter(Column::Path.is_in(chunk.iter().map(String::as_str)))
                .filter(
                    Condition::any()
                        .add(Column::LastPulledAt.is_null())
                        .add(Column::LastPulledAt.lt(at)),
                )
                .exec(&self.db)
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    async fn last_pulled(&self, repo: &str, path: &str) -> Result<Option<DateTime<Utc>>, PortError> {
        let row: Option<Option<DateTime<Utc>>> = Entity::find()
            .select_only()
            .column(Column::LastPulledAt)
            .filter(Column::Repo.eq(repo))
            .filter(Column::Path.eq(path))
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(db_err)?;
        Ok(row.flatten())
    }

    async fn stored_bytes(&self, repo: &str) -> Result<u64, PortError> {
        distinct_bytes(&self.db, Entity, Column::Digest, Column::Size, Column::Repo.eq(repo)).await
    }
}
