//! `RepositoryCatalog`: one row per repository, the kind's settings as JSON and the upstream
//! password encrypted beside them (`password_enc`), never inside the JSON.
use async_trait::async_trait;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::repository::{ActiveModel, Column, Entity, Model};
use super::{MetaStore, db_err, db_time};
use crate::domain::repository::{KindSettings, ManagedBy, PackageType, RepoName, Repository, Secret};
use crate::ports::{PortError, RepositoryCatalog};

impl MetaStore {
    fn settings_json(repo: &Repository) -> Result<String, PortError> {
        let json = match &repo.settings {
            KindSettings::Remote(s) => serde_json::to_string(s),
            KindSettings::Local(s) => serde_json::to_string(s),
            KindSettings::Virtual(s) => serde_json::to_string(s),
        };
        json.map_err(|e| PortError::Backend(format!("cannot serialise settings of '{}': {e}", repo.name)))
    }

    /// The encrypted password to store, `None` when the repository carries none.
    fn sealed_password(&self, repo: &Repository) -> Result<Option<String>, PortError> {
        match &repo.settings {
            KindSettings::Remote(s) => s
                .password
                .as_ref()
                .map(|p| self.cipher.seal(p.expose(), repo.name.as_str()))
                .transpose(),
            KindSettings::Local(_) | KindSettings::Virtual(_) => Ok(None),
        }
    }

    fn to_repository(&self, row: Model) -> Result<Repository, PortError> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            PortError::Backend(format!("repository '{}': bad {what} in the database: {e}", row.name))
        };
        let name = RepoName::new(&row.name).map_err(|e| corrupt("name", &e))?;
        let package: PackageType = row.package.parse().map_err(|e: String| corrupt("package", &e))?;
        let managed_by: ManagedBy = row.managed_by.parse().map_err(|e: String| corrupt("managed_by", &e))?;
        let settings = match row.kind.as_str() {
            "remote" => {
                let mut s: crate::domain::repository::RemoteSettings =
                    serde_json::from_str(&row.settings).map_err(|e| corrupt("settings", &e))?;
                s.password = row
                    .password_enc
                    .as_deref()
                    .map(|enc| self.cipher.open(enc, &row.name))
                    .transpose()?
                    .map(Secret::new);
                KindSettings::Remote(s)
            }
            "local" => KindSettings::Local(serde_json::from_str(&row.settings).map_err(|e| corrupt("settings", &e))?),
            "virtual" => {
                KindSettings::Virtual(serde_json::from_str(&row.settings).map_err(|e| corrupt("settings", &e))?)
            }
            other => return Err(corrupt("kind", &other)),
        };
        Ok(Repository {
            name,
            package,
            settings,
            managed_by,
        })
    }
}

#[async_trait]
impl RepositoryCatalog for MetaStore {
    async fn list(&self) -> Result<Vec<Repository>, PortError> {
        let rows = Entity::find()
            .order_by_asc(Column::Name)
            .all(&self.db)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(|row| self.to_repository(row)).collect()
    }

    async fn get(&self, name: &str) -> Result<Option<Repository>, PortError> {
        let row = Entity::find_by_id(name.to_string())
            .one(&self.db)
            .await
            .map_err(db_err)?;
        row.map(|row| self.to_repository(row)).transpose()
    }

    async fn create(&self, repo: &Repository) -> Result<(), PortError> {
        let now = db_time(Utc::now());
        let row = ActiveModel {
            name: Set(repo.name.as_str().to_string()),
            kind: Set(repo.kind().as_str().to_string()),
            package: Set(repo.package.as_str().to_string()),
            managed_by: Set(repo.managed_by.as_str().to_string()),
            settings: Set(Self::settings_json(repo)?),
            password_enc: Set(self.sealed_password(repo)?),
            created_at: Set(now),
            updated_at: Set(now),
        };
        Entity::insert(row)
            .exec_without_returning(&self.db)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn update(&self, repo: &Repository) -> Result<(), PortError> {
        let mut update = Entity::update_many()
            .col_expr(Column::Kind, Expr::value(repo.kind().as_str()))
            .col_expr(Column::Package, Expr::value(repo.package.as_str()))
            .col_expr(Column::ManagedBy, Expr::value(repo.managed_by.as_str()))
            .col_expr(Column::Settings, Expr::value(Self::settings_json(repo)?))
            .col_expr(Column::UpdatedAt, Expr::value(db_time(Utc::now())));
        let remote = matches!(repo.settings, KindSettings::Remote(_));
        // A remote without a new password keeps the stored one; any other kind has none.
        match self.sealed_password(repo)? {
            Some(sealed) => update = update.col_expr(Column::PasswordEnc, Expr::value(sealed)),
            None if !remote => update = update.col_expr(Column::PasswordEnc, Expr::value(Option::<String>::None)),
            None => {}
        }
        let result = update
            .filter(Column::Name.eq(repo.name.as_str()))
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        if result.rows_affected == 0 {
            return Err(PortError::NotFound);
        }
        Ok(())
    }

    async fn delete(&self, name: &str) -> Result<bool, PortError> {
        let result = Entity::delete_by_id(name.to_string())
            .exec(&self.db)
            .await
            .map_err(db_err)?;
        Ok(result.rows_affected > 0)
    }
}
