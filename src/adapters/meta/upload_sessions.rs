//! `UploadSessions`: OCI upload state shared by every replica, guarded by an optimistic version
//! so two replicas appending to the same upload cannot both win.
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::upload_session::{ActiveModel, Column, Entity, Model};
use super::{MetaStore, db_err, db_time};
use crate::ports::{PortError, UploadSession, UploadSessions};

fn corrupt(id: &str, what: &str, e: serde_json::Error) -> PortError {
    PortError::Backend(format!("upload session '{id}': bad {what} in the database: {e}"))
}

fn to_session(row: Model) -> Result<UploadSession, PortError> {
    Ok(UploadSession {
        state: serde_json::from_str(&row.state).map_err(|e| corrupt(&row.id, "state", e))?,
        parts: serde_json::from_str(&row.parts).map_err(|e| corrupt(&row.id, "parts", e))?,
        id: row.id,
        repo: row.repo,
        image: row.image,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn json<T: serde::Serialize>(session: &UploadSession, what: &str, value: &T) -> Result<String, PortError> {
    serde_json::to_string(value)
        .map_err(|e| PortError::Backend(format!("upload session '{}': cannot serialise {what}: {e}", session.id)))
}

#[async_trait]
impl UploadSessions for MetaStore {
    async fn create(&self, session: &UploadSession) -> Result<(), PortError> {
        let row = ActiveModel {
            id: Set(session.id.clone()),
            repo: Set(session.repo.clone()),
            image: Set(session.image.clone()),
            state: Set(json(session, "state", &session.state)?),
            parts: Set(json(session, "parts", &session.parts)?),
            version: Set(session.version),
            created_at: Set(db_time(session.created_at)),
            updated_at: Set(db_time(session.updated_at)),
        };
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<UploadSession>, PortError> {
        let row = Entity::find_by_id(id.to_string()).one(&self.db).await.map_err(db_err)?;
        row.map(to_session).transpose()
    }

    /// Compare-and-set in one `UPDATE ... WHERE id = ? AND version = ?`. No row changed means a
    /// stale version (`Conflict`) or, when the id is gone altogether, `NotFound`.
    async fn update(&self, session: &UploadSession) -> Result<(), PortError> {
        let result = Entity::update_many()
            .col_expr(Column::State, Expr::value(json(session, "state", &session.state)?))
            .col_expr(Column::Parts, Expr::value(json(session, "parts", &session.parts)?))
            .col_expr(Column::UpdatedAt, Expr::value(db_time(session.updated_at)))
            .col_expr(Column::Version, Expr::value(session.version.saturating_add(1)))
            .filter(Column::Id.eq(session.id.as_str()))
            .filter(Column::Version.eq(session.version))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        if result.rows_affected > 0 {
            return Ok(());
        }
        match Entity::find_by_id(session.id.clone())
            .one(&self.db)
            .await
            .map_err(db_err)?
        {
            Some(_) => Err(PortError::Conflict),
            None => Err(PortError::NotFound),
        }
    }

    async fn delete(&self, id: &str) -> Result<bool, PortError> {
        let result = Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected > 0)
    }

    async fn older_than(&self, at: DateTime<Utc>) -> Result<Vec<UploadSession>, PortError> {
        let rows = Entity::find()
            .filter(Column::UpdatedAt.lt(db_time(at)))
            .order_by_asc(Column::UpdatedAt)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(to_session).collect()
    }
}
