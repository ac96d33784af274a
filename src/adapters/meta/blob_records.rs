//! `BlobRecords`: one row per stored blob, so GC can find what nothing references (DESIGN §5).
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entities::{artifact, blob, hosted_file};
use super::{MetaStore, db_err, db_time, from_db_size, parse_digest, to_db_size};
use crate::domain::digest::Digest;
use crate::ports::{BlobRecord, BlobRecords, PortError};

fn to_record(row: blob::Model) -> Result<BlobRecord, PortError> {
    Ok(BlobRecord {
        digest: parse_digest(&row.digest)?,
        size: from_db_size(row.size)?,
        content_type: row.content_type,
        created_at: row.created_at,
    })
}

#[async_trait]
impl BlobRecords for MetaStore {
    /// `INSERT ... ON CONFLICT DO NOTHING`: the first writer's row (and `created_at`) stays.
    async fn record(&self, record: &BlobRecord) -> Result<(), PortError> {
        let row = blob::ActiveModel {
            digest: Set(record.digest.to_string()),
            size: Set(to_db_size(record.size)?),
            content_type: Set(record.content_type.clone()),
            created_at: Set(db_time(record.created_at)),
        };
        blob::Entity::insert(row)
            .on_conflict_do_nothing()
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

    /// Oldest first, so a GC run that stops at `limit` makes progress on the next run.
    async fn orphans(&self, older_than: DateTime<Utc>, limit: u64) -> Result<Vec<BlobRecord>, PortError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let referenced_in_artifacts = Query::select()
            .expr(Expr::val(1))
            .from(artifact::Entity)
            .and_where(
                Expr::col((artifact::Entity, artifact::Column::Digest)).equals((blob::Entity, blob::Column::Digest)),
            )
            .to_owned();
        let referenced_in_hosted = Query::select()
            .expr(Expr::val(1))
            .from(hosted_file::Entity)
            .and_where(
                Expr::col((hosted_file::Entity, hosted_file::Column::Digest))
                    .equals((blob::Entity, blob::Column::Digest)),
            )
            .to_owned();
        let rows = blob::Entity::find()
            .filter(blob::Column::CreatedAt.lt(db_time(older_than)))
            .filter(Expr::not_exists(referenced_in_artifacts))
            .filter(Expr::not_exists(referenced_in_hosted))
            .order_by_asc(blob::Column::CreatedAt)
            .order_by_asc(blob::Column::Digest)
            .limit(limit)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(to_record).collect()
    }

    async fn delete(&self, digest: &Digest) -> Result<bool, PortError> {
        let result = blob::Entity::delete_by_id(digest.to_string())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn check(&self) -> Result<(), PortError> {
        self.ping().await
    }
}
