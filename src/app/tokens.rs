//! API tokens: create (the secret is returned once and only its hash is kept), list, revoke.
use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::app::auth::{ADMIN_TOKEN_NAME, generate_secret};
use crate::domain::error::{FieldError, TokenError};
use crate::domain::token::{Scope, hash_secret};
use crate::ports::{Clock, Credentials, PortError, TokenRecord};

/// What a caller asks for.
#[derive(Clone, Debug, Default)]
pub struct TokenRequest {
    pub name: String,
    pub scopes: Vec<String>,
    /// Repository name globs (`*` wildcard); empty means every repository.
    pub repositories: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// A new token and its secret, which is never available again.
pub struct IssuedToken {
    pub record: TokenRecord,
    pub secret: String,
}

pub struct TokenService {
    credentials: Arc<dyn Credentials>,
    clock: Arc<dyn Clock>,
}

fn unavailable(e: PortError) -> TokenError {
    TokenError::Unavailable(e.to_string())
}

fn invalid(field: &'static str, message: impl Into<String>) -> TokenError {
    TokenError::Invalid(FieldError::new(field, message))
}

impl TokenService {
    pub fn new(credentials: Arc<dyn Credentials>, clock: Arc<dyn Clock>) -> Self {
        Self { credentials, clock }
    }

    pub async fn create(&self, request: TokenRequest) -> Result<IssuedToken, TokenError> {
        let name_ok = !request.name.is_empty()
            && request.name.len() <= 64
            && request
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !name_ok {
            return Err(invalid("name", "must be 1-64 characters of [A-Za-z0-9._-]"));
        }
        if request.name == ADMIN_TOKEN_NAME {
            return Err(invalid("name", "'admin' is reserved for the bootstrap token"));
        }
        if request.scopes.is_empty() {
            return Err(invalid("scopes", "at least one of read, write, admin"));
        }
        let mut scopes = request
            .scopes
            .iter()
            .map(|s| {
                Scope::parse(s).ok_or_else(|| invalid("scopes", format!("unknown scope '{s}' (read, write, admin)")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        scopes.sort();
        scopes.dedup();
        for glob in &request.repositories {
            let ok = !glob.is_empty()
                && glob.len() <= 64
                && glob
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'*'));
            if !ok {
                return Err(invalid(
                    "repositories",
                    format!("'{glob}' is not a repository name glob"),
                ));
            }
        }
        let now = self.clock.now();
        if request.expires_at.is_some_and(|e| e <= now) {
            return Err(invalid("expires_at", "must be in the future"));
        }
        let secret = generate_secret();
        let record = TokenRecord {
            id: uuid::Uuid::new_v4().to_string(),
            name: request.name,
            secret_hash: hash_secret(&secret),
            scopes,
            repositories: request.repositories,
            expires_at: request.expires_at,
            created_at: now,
        };
        match self.credentials.create(&record).await {
            Ok(()) => Ok(IssuedToken { record, secret }),
            Err(PortError::Conflict) => Err(TokenError::AlreadyExists(record.name)),
            Err(e) => Err(unavailable(e)),
        }
    }

    pub async fn list(&self) -> Result<Vec<TokenRecord>, TokenError> {
        self.credentials.list().await.map_err(unavailable)
    }

    pub async fn revoke(&self, id: &str) -> Result<(), TokenError> {
        let tokens = self.credentials.list().await.map_err(unavailable)?;
        match tokens.iter().find(|t| t.id == id) {
            None => return Err(TokenError::NotFound(id.to_string())),
            Some(t) if t.name == ADMIN_TOKEN_NAME => return Err(TokenError::Protected),
            Some(_) => {}
        }
        if self.credentials.revoke(id).await.map_err(unavailable)? {
            Ok(())
        } else {
            Err(TokenError::NotFound(id.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::clock::MockClock;
    use crate::ports::credentials::MockCredentials;

    fn service(creds: MockCredentials) -> TokenService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(Utc::now);
        TokenService::new(Arc::new(creds), Arc::new(clock))
    }

    fn request(name: &str, scopes: &[&str], repos: &[&str]) -> TokenRequest {
        TokenRequest {
            name: name.into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            repositories: repos.iter().map(|s| s.to_string()).collect(),
            expires_at: None,
        }
    }

    #[tokio::test]
    async fn creates_with_a_hashed_secret() {
        let mut creds = MockCredentials::new();
        creds
            .expect_create()
            .withf(|t| t.name == "ci" && t.scopes == vec![Scope::Read, Scope::Write] && t.secret_hash.len() == 64)
            .times(1)
            .returning(|_| Ok(()));
        let issued = service(creds)
            .create(request("ci", &["write", "read", "write"], &["team-*"]))
            .await
            .unwrap();
        assert_eq!(issued.record.secret_hash, hash_secret(&issued.secret));
        assert_ne!(issued.record.secret_hash, issued.secret);
    }

    #[tokio::test]
    async fn validation_names_the_field() {
        let past = TokenRequest {
            expires_at: Some(Utc::now() - chrono::Duration::seconds(1)),
            ..request("ci", &["read"], &[])
        };
        let table = [
            (request("", &["read"], &[]), "name"),
            (request("bad name", &["read"], &[]), "name"),
            (request("admin", &["read"], &[]), "name"),
            (request("ci", &[], &[]), "scopes"),
            (request("ci", &["root"], &[]), "scopes"),
            (request("ci", &["read"], &["Team/*"]), "repositories"),
            (past, "expires_at"),
        ];
        for (req, field) in table {
            let mut creds = MockCredentials::new();
            creds.expect_create().times(0);
            let err = service(creds).create(req.clone()).await.err().unwrap();
            assert!(
                matches!(&err, TokenError::Invalid(f) if f.field == field),
                "{req:?}: {err}"
            );
        }
    }

    #[tokio::test]
    async fn duplicate_names_conflict_and_the_admin_token_is_protected() {
        let mut creds = MockCredentials::new();
        creds.expect_create().returning(|_| Err(PortError::Conflict));
        assert!(matches!(
            service(creds).create(request("ci", &["read"], &[])).await,
            Err(TokenError::AlreadyExists(_))
        ));

        let admin = TokenRecord {
            id: "a".into(),
            name: ADMIN_TOKEN_NAME.into(),
            secret_hash: "h".into(),
            scopes: vec![Scope::Admin],
            repositories: vec![],
            expires_at: None,
            created_at: Utc::now(),
        };
        let mut creds = MockCredentials::new();
        creds.expect_list().returning(move || Ok(vec![admin.clone()]));
        creds.expect_revoke().times(0);
        let svc = service(creds);
        assert!(matches!(svc.revoke("a").await, Err(TokenError::Protected)));
        assert!(matches!(svc.revoke("nope").await, Err(TokenError::NotFound(_))));
    }
}
