//! Who is calling and what they may do. Tokens are looked up by the sha256 of their secret.
use base64::Engine;
use rand::RngCore;
use std::sync::Arc;

use crate::domain::error::AuthError;
use crate::domain::token::{Grant, Scope, hash_secret};
use crate::ports::{Clock, Credentials, PortError, TokenRecord};

/// The name of the bootstrap admin token.
pub const ADMIN_TOKEN_NAME: &str = "admin";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    Token { name: String, grant: Grant },
}

pub struct AuthService {
    credentials: Arc<dyn Credentials>,
    clock: Arc<dyn Clock>,
    anonymous_read: bool,
}

fn unavailable(e: PortError) -> AuthError {
    AuthError::Unavailable(e.to_string())
}

/// The instance-wide HMAC key called `name`: created on first use, and the same on every replica
/// (whoever stores it first wins; the others read it back).
pub async fn instance_key(
    keys: &dyn crate::ports::SigningKeys,
    clock: &dyn Clock,
    name: &str,
) -> Result<crate::ports::SigningKey, PortError> {
    let candidate = crate::ports::SigningKey {
        name: name.to_string(),
        algorithm: "hmac-sha256".to_string(),
        material: generate_secret(),
        created_at: clock.now(),
    };
    keys.get_or_create(&candidate).await
}

/// A fresh random token secret (256 bits, URL-safe).
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("aa_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

impl AuthService {
    pub fn new(credentials: Arc<dyn Credentials>, clock: Arc<dyn Clock>, anonymous_read: bool) -> Self {
        Self {
            credentials,
            clock,
            anonymous_read,
        }
    }

    /// Resolves a presented secret (`None`: no credentials sent).
    pub async fn authenticate(&self, secret: Option<&str>) -> Result<Principal, AuthError> {
        let Some(secret) = secret else {
            return Ok(Principal::Anonymous);
        };
        self.authenticate_hash(&hash_secret(secret)).await
    }

    /// Resolves a token by the hash of its secret (what a registry bearer token carries).
    pub async fn authenticate_hash(&self, secret_hash: &str) -> Result<Principal, AuthError> {
        let record = self
            .credentials
            .find_by_hash(secret_hash)
            .await
            .map_err(unavailable)?
            .ok_or(AuthError::InvalidToken)?;
        let grant = Grant {
            scopes: record.scopes,
            repositories: record.repositories,
            expires_at: record.expires_at,
        };
        if grant.is_expired(self.clock.now()) {
            return Err(AuthError::InvalidToken);
        }
        Ok(Principal::Token {
            name: record.name,
            grant,
        })
    }

    /// Checks `need` on `repository` (`None`: instance-wide). Anonymous callers may read when
    /// `anonymous_read` is on, and nothing else.
    pub fn authorize(&self, principal: &Principal, need: Scope, repository: Option<&str>) -> Result<(), AuthError> {
        match principal {
            Principal::Anonymous if need == Scope::Read && self.anonymous_read => Ok(()),
            Principal::Anonymous => Err(AuthError::MissingToken),
            Principal::Token { grant, .. } if grant.allows(need, repository) => Ok(()),
            Principal::Token { .. } => Err(AuthError::Forbidden(need.as_str())),
        }
    }

    /// Makes sure an admin token exists. With `configured` (ARTIFACTAPI_ADMIN_TOKEN) its hash
    /// replaces the stored one. Without, a token is generated on first start and returned so the
    /// caller can print it once; later starts return `None`.
    pub async fn bootstrap_admin(&self, configured: Option<&str>) -> Result<Option<String>, AuthError> {
        let make = |secret: &str| TokenRecord {
            id: uuid::Uuid::new_v4().to_string(),
            name: ADMIN_TOKEN_NAME.to_string(),
            secret_hash: hash_secret(secret),
            scopes: vec![Scope::Admin],
            repositories: vec![],
            expires_at: None,
            created_at: self.clock.now(),
        };
        if let Some(secret) = configured {
            let current = self
                .credentials
                .find_by_name(ADMIN_TOKEN_NAME)
                .await
                .map_err(unavailable)?;
            if current.is_none_or(|t| t.secret_hash != hash_secret(secret)) {
                self.credentials
                    .replace_named(&make(secret))
                    .await
                    .map_err(unavailable)?;
            }
            return Ok(None);
        }
        if self
            .credentials
            .find_by_name(ADMIN_TOKEN_NAME)
            .await
            .map_err(unavailable)?
            .is_some()
        {
            return Ok(None);
        }
        let secret = generate_secret();
        match self.credentials.create(&make(&secret)).await {
            Ok(()) => Ok(Some(secret)),
            // Another replica created it first; its start printed the secret.
            Err(PortError::Conflict) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Replaces the admin token with a new random one and returns it (`artifactapi token reset-admin`).
    pub async fn reset_admin(&self) -> Result<String, AuthError> {
        let secret = generate_secret();
        let record = TokenRecord {
            id: uuid::Uuid::new_v4().to_string(),
            name: ADMIN_TOKEN_NAME.to_string(),
            secret_hash: hash_secret(&secret),
            scopes: vec![Scope::Admin],
            repositories: vec![],
            expires_at: None,
            created_at: self.clock.now(),
        };
        self.credentials.replace_named(&record).await.map_err(unavailable)?;
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::clock::MockClock;
    use crate::ports::credentials::MockCredentials;

    fn clock() -> Arc<MockClock> {
        let mut c = MockClock::new();
        c.expect_now().returning(chrono::Utc::now);
        Arc::new(c)
    }

    fn record(secret: &str, scopes: Vec<Scope>, expires_in: Option<i64>) -> TokenRecord {
        TokenRecord {
            id: "1".into(),
            name: "ci".into(),
            secret_hash: hash_secret(secret),
            scopes,
            repositories: vec!["team-*".into()],
            expires_at: expires_in.map(|s| chrono::Utc::now() + chrono::Duration::seconds(s)),
            created_at: chrono::Utc::now(),
        }
    }

    fn service(creds: MockCredentials, anonymous_read: bool) -> AuthService {
        AuthService::new(Arc::new(creds), clock(), anonymous_read)
    }

    #[tokio::test]
    async fn authenticates_by_hash_and_rejects_unknown_or_expired() {
        let mut creds = MockCredentials::new();
        let valid = record("good", vec![Scope::Write], Some(60));
        let expired = record("old", vec![Scope::Write], Some(-1));
        creds.expect_find_by_hash().returning(move |h| {
            Ok([valid.clone(), expired.clone()]
                .into_iter()
                .find(|r| r.secret_hash == h))
        });
        let svc = service(creds, true);
        assert!(matches!(svc.authenticate(Some("good")).await, Ok(Principal::Token { name, .. }) if name == "ci"));
        assert_eq!(svc.authenticate(Some("bad")).await, Err(AuthError::InvalidToken));
        assert_eq!(svc.authenticate(Some("old")).await, Err(AuthError::InvalidToken));
        assert_eq!(svc.authenticate(None).await, Ok(Principal::Anonymous));
    }

    #[test]
    fn authorization_table() {
        let writer = Principal::Token {
            name: "ci".into(),
            grant: Grant {
                scopes: vec![Scope::Write],
                repositories: vec!["team-*".into()],
                expires_at: None,
            },
        };
        let open = service(MockCredentials::new(), true);
        let closed = service(MockCredentials::new(), false);
        assert_eq!(open.authorize(&Principal::Anonymous, Scope::Read, Some("x")), Ok(()));
        assert_eq!(
            open.authorize(&Principal::Anonymous, Scope::Write, Some("x")),
            Err(AuthError::MissingToken)
        );
        assert_eq!(
            closed.authorize(&Principal::Anonymous, Scope::Read, Some("x")),
            Err(AuthError::MissingToken)
        );
        assert_eq!(open.authorize(&writer, Scope::Write, Some("team-a")), Ok(()));
        assert_eq!(
            open.authorize(&writer, Scope::Write, Some("other")),
            Err(AuthError::Forbidden("write"))
        );
        assert_eq!(
            open.authorize(&writer, Scope::Admin, None),
            Err(AuthError::Forbidden("admin"))
        );
    }

    #[tokio::test]
    async fn first_start_generates_an_admin_token_once() {
        let mut creds = MockCredentials::new();
        creds.expect_find_by_name().times(1).returning(|_| Ok(None));
        creds
            .expect_create()
            .withf(|t| t.name == ADMIN_TOKEN_NAME && t.scopes == vec![Scope::Admin])
            .times(1)
            .returning(|_| Ok(()));
        let secret = service(creds, true).bootstrap_admin(None).await.unwrap().unwrap();
        assert!(secret.starts_with("aa_") && secret.len() > 40);

        let mut creds = MockCredentials::new();
        creds
            .expect_find_by_name()
            .returning(|_| Ok(Some(record("x", vec![Scope::Admin], None))));
        creds.expect_create().times(0);
        assert_eq!(service(creds, true).bootstrap_admin(None).await.unwrap(), None);
    }

    #[tokio::test]
    async fn configured_admin_token_replaces_only_when_different() {
        let mut creds = MockCredentials::new();
        creds
            .expect_find_by_name()
            .returning(|_| Ok(Some(record("old", vec![Scope::Admin], None))));
        creds
            .expect_replace_named()
            .withf(|t| t.secret_hash == hash_secret("new"))
            .times(1)
            .returning(|_| Ok(()));
        assert_eq!(service(creds, true).bootstrap_admin(Some("new")).await.unwrap(), None);

        let mut creds = MockCredentials::new();
        creds
            .expect_find_by_name()
            .returning(|_| Ok(Some(record("same", vec![Scope::Admin], None))));
        creds.expect_replace_named().times(0);
        service(creds, true).bootstrap_admin(Some("same")).await.unwrap();
    }

    #[tokio::test]
    async fn losing_the_bootstrap_race_prints_nothing() {
        let mut creds = MockCredentials::new();
        creds.expect_find_by_name().returning(|_| Ok(None));
        creds.expect_create().returning(|_| Err(PortError::Conflict));
        assert_eq!(service(creds, true).bootstrap_admin(None).await.unwrap(), None);
    }
}
