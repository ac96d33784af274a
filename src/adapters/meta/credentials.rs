//! `Credentials` (API tokens, only the secret's sha256 is stored) and `SigningKeys`.
use async_trait::async_trait;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::{signing_key, token};
use super::{MetaStore, db_err, db_time};
use crate::ports::{Credentials, PortError, SigningKey, SigningKeys, TokenRecord};

fn to_token(row: token::Model) -> Result<TokenRecord, PortError> {
    let corrupt = |what: &str, e: serde_json::Error| {
        PortError::Backend(format!("token '{}': bad {what} in the database: {e}", row.name))
    };
    Ok(TokenRecord {
        scopes: serde_json::from_str(&row.scopes).map_err(|e| corrupt("scopes", e))?,
        repositories: serde_json::from_str(&row.repositories).map_err(|e| corrupt("repositories", e))?,
        id: row.id,
        name: row.name,
        secret_hash: row.secret_hash,
        expires_at: row.expires_at,
        created_at: row.created_at,
    })
}

fn to_row(t: &TokenRecord) -> Result<token::ActiveModel, PortError> {
    let json = |what: &str, r: Result<String, serde_json::Error>| {
        r.map_err(|e| PortError::Backend(format!("token '{}': cannot serialise {what}: {e}", t.name)))
    };
    Ok(token::ActiveModel {
        id: Set(t.id.clone()),
        name: Set(t.name.clone()),
        secret_hash: Set(t.secret_hash.clone()),
        scopes: Set(json("scopes", serde_json::to_string(&t.scopes))?),
        repositories: Set(json("repositories", serde_json::to_string(&t.repositories))?),
        expires_at: Set(t.expires_at.map(db_time)),
        created_at: Set(db_time(t.created_at)),
    })
}

fn to_key(row: signing_key::Model) -> SigningKey {
    SigningKey {
        name: row.name,
        algorithm: row.algorithm,
        material: row.material,
        created_at: row.created_at,
    }
}

#[async_trait]
impl Credentials for MetaStore {
    /// Unique keys on id, name and secret hash turn any duplicate into `Conflict`.
    async fn create(&self, token: &TokenRecord) -> Result<(), PortError> {
        token::Entity::insert(to_row(token)?)
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn find_by_hash(&self, secret_hash: &str) -> Result<Option<TokenRecord>, PortError> {
        let row = token::Entity::find()
            .filter(token::Column::SecretHash.eq(secret_hash))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        row.map(to_token).transpose()
    }

    async fn find_by_name(&self, name: &str) -> Result<Option<TokenRecord>, PortError> {
        let row = token::Entity::find()
            .filter(token::Column::Name.eq(name))
            .one(&self.db)
            .await
            .map_err(db_err)?;
        row.map(to_token).transpose()
    }

    async fn list(&self) -> Result<Vec<TokenRecord>, PortError> {
        let rows = token::Entity::find()
            .order_by_asc(token::Column::CreatedAt)
            .order_by_asc(token::Column::Id)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(to_token).collect()
    }

    async fn revoke(&self, id: &str) -> Result<bool, PortError> {
        let result = token::Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected > 0)
    }

    /// One `INSERT ... ON CONFLICT (name) DO UPDATE`: atomic on both backends, and unlike
    /// delete-then-insert in a transaction, two concurrent replacements cannot collide on the
    /// name under PostgreSQL's read-committed isolation (the last one wins).
    async fn replace_named(&self, token: &TokenRecord) -> Result<(), PortError> {
        let replace = OnConflict::column(token::Column::Name)
            .update_columns([
                token::Column::Id,
                token::Column::SecretHash,
                token::Column::Scopes,
                token::Column::Repositories,
                token::Column::ExpiresAt,
                token::Column::CreatedAt,
            ])
            .to_owned();
        token::Entity::insert(to_row(token)?)
            .on_conflict(replace)
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}

#[async_trait]
impl SigningKeys for MetaStore {
    async fn get(&self, name: &str) -> Result<Option<SigningKey>, PortError> {
        let row = signing_key::Entity::find_by_id(name.to_string())
            .one(&self.db)
            .await
            .map_err(db_err)?;
        Ok(row.map(to_key))
    }

    /// Insert-if-absent, then read back: whoever inserted first, every caller returns that row.
    async fn get_or_create(&self, candidate: &SigningKey) -> Result<SigningKey, PortError> {
        let row = signing_key::ActiveModel {
            name: Set(candidate.name.clone()),
            algorithm: Set(candidate.algorithm.clone()),
            material: Set(candidate.material.clone()),
            created_at: Set(db_time(candidate.created_at)),
        };
        signing_key::Entity::insert(row)
            .on_conflict_do_nothing()
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        SigningKeys::get(self, &candidate.name).await?.ok_or_else(|| {
            PortError::Backend(format!(
                "signing key '{}' vanished right after it was stored",
                candidate.name
            ))
        })
    }
}
