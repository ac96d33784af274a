//! `BlobRecords`: one row per stored blob, so GC can find what nothing references (DESIGN §5).
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SimpleExpr};
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entities::{artifact, blob, hosted_file, upload_session};
use super::{MetaStore, db_err, db_time, from_db_size, parse_digest, to_db_size};
use crate::domain::digest::Digest;
use crate::ports::{BlobRecord, BlobRecords, PortError};

/// Digests per `IN (...)` list, well under SQLite's bound-parameter limit.
const IN_CHUNK: usize = 500;

fn to_record(row: blob::Model) -> Result<BlobRecord, PortError> {
    Ok(BlobRecord {
        digest: parse_digest(&row.digest)?,
        size: from_db_size(row.size)?,
        content_type: row.content_type,
        // Rows from before the column existed were last referenced when created.
        last_referenced: row.last_referenced_at.unwrap_or(row.created_at),
        created_at: row.created_at,
    })
}

/// `NOT EXISTS (SELECT 1 FROM <table> WHERE <table>.digest = blobs.digest)`.
fn unreferenced_by<E: EntityTrait>(table: E, digest: E::Column) -> SimpleExpr {
    Expr::not_exists(
        Query::select()
            .expr(Expr::val(1))
            .from(table)
            .and_where(Expr::col((table, digest)).equals((blob::Entity, blob::Column::Digest)))
            .to_owned(),
    )
}

/// What makes a row an orphan GC may delete: no artifact, hosted file or open upload session
/// names it, and it was created and last referenced before `older_than`. An upload session
/// lists its chunk digests in a JSON array, so it is matched as a substring (a digest has no
/// `LIKE` wildcards, and sessions are few and short-lived).
fn orphan(older_than: DateTime<Utc>) -> Condition {
    let cutoff = db_time(older_than);
    let in_session = Query::select()
        .expr(Expr::val(1))
        .from(upload_session::Entity)
        .and_where(Expr::cust("upload_sessions.parts LIKE '%' || blobs.digest || '%'"))
        .to_owned();
    Condition::all()
        .add(blob::Column::CreatedAt.lt(cutoff))
        .add(
            Condition::any()
                .add(blob::Column::LastReferencedAt.is_null())
                .add(blob::Column::LastReferencedAt.lt(cutoff)),
        )
        .add(unreferenced_by(artifact::Entity, artifact::Column::Digest))
        .add(unreferenced_by(hosted_file::Entity, hosted_file::Column::Digest))
        .add(Expr::not_exists(in_session))
}

#[async_trait]
impl BlobRecords for MetaStore {
    /// `INSERT ... ON CONFLICT DO UPDATE` of the last-reference time only: the first writer's
    /// row (size, type, `created_at`) stays, and a dedupe hit pushes GC's grace period back.
    async fn record(&self, record: &BlobRecord) -> Result<(), PortError> {
        let row = blob::ActiveModel {
            digest: Set(record.digest.to_string()),
            size: Set(to_db_size(record.size)?),
            content_type: Set(record.content_type.clone()),
            created_at: Set(db_time(record.created_at)),
            last_referenced_at: Set(Some(db_time(record.last_referenced))),
        };
        blob::Entity::insert(row)
            .on_conflict(
                OnConflict::column(blob::Column::Digest)
                    .update_column(blob::Column::LastReferencedAt)
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get(&self, digest: &Digest) -> Result<Option<BlobRecord>, PortError> {
        let row = blob::Entity::find_by_id(digest.to_string())
            .one(&self.db)
            .await
            .map_err(db_err)?;
        row.map(to_record).transpose()
    }

    async fn existing(&self, digests: &[Digest]) -> Result<Vec<Digest>, PortError> {
        let mut found = Vec::new();
        for chunk in digests.chunks(IN_CHUNK) {
            let rows: Vec<String> = blob::Entity::find()
                .select_only()
                .column(blob::Column::Digest)
                .filter(blob::Column::Digest.is_in(chunk.iter().map(Digest::to_string)))
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(db_err)?;
            for row in rows {
                found.push(parse_digest(&row)?);
            }
        }
        Ok(found)
    }

    /// By digest, so a run pages through with `after` whatever it deletes on the way.
    async fn orphans(
        &self,
        older_than: DateTime<Utc>,
        after: Option<Digest>,
        limit: u64,
    ) -> Result<Vec<BlobRecord>, PortError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut query = blob::Entity::find().filter(orphan(older_than));
        if let Some(after) = after {
            query = query.filter(blob::Column::Digest.gt(after.to_string()));
        }
        let rows = query
            .order_by_asc(blob::Column::Digest)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(to_record).collect()
    }

    /// One `DELETE ... WHERE digest = ? AND <still an orphan>`: nothing can reference the blob
    /// between the check and the delete.
    async fn delete_orphan(&self, digest: &Digest, older_than: DateTime<Utc>) -> Result<bool, PortError> {
        let result = blob::Entity::delete_many()
            .filter(blob::Column::Digest.eq(digest.to_string()))
            .filter(orphan(older_than))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn delete(&self, digest: &Digest) -> Result<bool, PortError> {
        let result = blob::Entity::delete_by_id(digest.to_string())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected > 0)
    }

    /// One `SUM` over `blobs` filtered by `EXISTS` on both reference tables, so a blob counts
    /// once whatever references it.
    async fn referenced_bytes(&self, repos: Option<Vec<String>>) -> Result<u64, PortError> {
        if repos.as_ref().is_some_and(Vec::is_empty) {
            return Ok(0);
        }
        let mut in_artifacts = Query::select()
            .expr(Expr::val(1))
            .from(artifact::Entity)
            .and_where(
                Expr::col((artifact::Entity, artifact::Column::Digest)).equals((blob::Entity, blob::Column::Digest)),
            )
            .to_owned();
        let mut in_hosted = Query::select()
            .expr(Expr::val(1))
            .from(hosted_file::Entity)
            .and_where(
                Expr::col((hosted_file::Entity, hosted_file::Column::Digest))
                    .equals((blob::Entity, blob::Column::Digest)),
            )
            .to_owned();
        if let Some(repos) = &repos {
            in_artifacts.and_where(Expr::col((artifact::Entity, artifact::Column::Repo)).is_in(repos.iter().cloned()));
            in_hosted
                .and_where(Expr::col((hosted_file::Entity, hosted_file::Column::Repo)).is_in(repos.iter().cloned()));
        }
        let row: Option<i64> = blob::Entity::find()
            .select_only()
            .expr_as(Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"), "bytes")
            .filter(
                Condition::any()
                    .add(Expr::exists(in_artifacts))
                    .add(Expr::exists(in_hosted)),
            )
            .into_tuple()
            .one(&self.db)
            .await
            .map_err(db_err)?;
        from_db_size(row.unwrap_or_default())
    }

    async fn check(&self) -> Result<(), PortError> {
        self.ping().await
    }
}
