//! Logging in to the web UI with an API token. The session lives in a sealed cookie (see
//! `domain::session`), keyed by an instance-wide signing key, so any replica serves it; ended
//! sessions are remembered in the shared `TtlCache` until they would have expired anyway.
use rand::RngCore;
use std::sync::Arc;
use std::time::Duration;

use crate::app::auth::{AuthService, Principal};
use crate::domain::error::AuthError;
use crate::domain::session::{self, SessionClaims};
use crate::domain::token::hash_secret;
use crate::ports::{Clock, SigningKeys, TtlCache};

const KEY_NAME: &str = "ui-sessions";
/// How long a session lasts; a token that expires sooner ends it sooner.
pub const SESSION_LIFETIME_SECS: i64 = 12 * 3600;

/// A new session: the cookie value and how many seconds it lasts.
pub struct NewSession {
    pub value: String,
    pub max_age: i64,
    pub principal: Principal,
}

pub struct SessionService {
    keys: Arc<dyn SigningKeys>,
    cache: Arc<dyn TtlCache>,
    clock: Arc<dyn Clock>,
    key: tokio::sync::OnceCell<Vec<u8>>,
}

fn ended_key(sid: &str) -> String {
    format!("ui-session-ended:{sid}")
}

fn unavailable(e: impl std::fmt::Display) -> AuthError {
    AuthError::Unavailable(e.to_string())
}

impl SessionService {
    pub fn new(keys: Arc<dyn SigningKeys>, cache: Arc<dyn TtlCache>, clock: Arc<dyn Clock>) -> Self {
        Self {
            keys,
            cache,
            clock,
            key: tokio::sync::OnceCell::new(),
        }
    }

    async fn key(&self) -> Result<&[u8], AuthError> {
        self.key
            .get_or_try_init(|| async {
                let key = crate::app::auth::instance_key(self.keys.as_ref(), self.clock.as_ref(), KEY_NAME)
                    .await
                    .map_err(unavailable)?;
                Ok(key.material.into_bytes())
            })
            .await
            .map(Vec::as_slice)
    }

    /// Checks `secret` and opens a session for it.
    pub async fn login(&self, auth: &AuthService, secret: &str) -> Result<NewSession, AuthError> {
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(AuthError::MissingToken);
        }
        let principal = auth.authenticate(Some(secret)).await?;
        let now = self.clock.now().timestamp();
        let mut exp = now + SESSION_LIFETIME_SECS;
        if let Principal::Token { grant, .. } = &principal
            && let Some(expires) = grant.expires_at
        {
            exp = exp.min(expires.timestamp());
        }
        let mut sid = [0u8; 16];
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut sid);
        rand::rng().fill_bytes(&mut nonce);
        let claims = SessionClaims {
            sid: hex::encode(sid),
            sub: hash_secret(secret),
            exp,
        };
        let value = session::seal(self.key().await?, nonce, &claims)
            .ok_or_else(|| AuthError::Unavailable("cannot seal a session".into()))?;
        Ok(NewSession {
            value,
            max_age: exp - now,
            principal,
        })
    }

    /// Who a session cookie belongs to: `InvalidToken` when it is forged, expired, ended, or its
    /// API token is gone.
    pub async fn resolve(&self, auth: &AuthService, value: &str) -> Result<Principal, AuthError> {
        let claims = self.open(value).await?;
        if self
            .cache
            .is_fresh(&ended_key(&claims.sid))
            .await
            .map_err(unavailable)?
        {
            return Err(AuthError::InvalidToken);
        }
        auth.authenticate_hash(&claims.sub).await
    }

    /// Ends a session on every replica (a cookie that does not open is already over).
    pub async fn logout(&self, value: &str) -> Result<(), AuthError> {
        let Ok(claims) = self.open(value).await else {
            return Ok(());
        };
        let remaining = (claims.exp - self.clock.now().timestamp()).max(1);
        self.cache
            .mark_fresh(&ended_key(&claims.sid), Duration::from_secs(remaining as u64))
            .await
            .map_err(unavailable)
    }

    async fn open(&self, value: &str) -> Result<SessionClaims, AuthError> {
        let now = self.clock.now().timestamp();
        session::open(self.key().await?, value, now).map_err(|_| AuthError::InvalidToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::Scope;
    use crate::ports::clock::MockClock;
    use crate::ports::credentials::{MockCredentials, MockSigningKeys};
    use crate::ports::ttl_cache::MockTtlCache;
    use crate::ports::{SigningKey, TokenRecord};
    use std::sync::Mutex;

    const SECRET: &str = "aa_the-secret";

    fn clock() -> Arc<MockClock> {
        let mut c = MockClock::new();
        c.expect_now().returning(chrono::Utc::now);
        Arc::new(c)
    }

    fn keys() -> Arc<MockSigningKeys> {
        let mut keys = MockSigningKeys::new();
        keys.expect_get_or_create().returning(|candidate| {
            Ok(SigningKey {
                material: "fixed-material".into(),
                ..candidate.clone()
            })
        });
        Arc::new(keys)
    }

    /// A cache that remembers marked keys, like the real ones do.
    fn cache() -> Arc<MockTtlCache> {
        let marked = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut cache = MockTtlCache::new();
        let m = marked.clone();
        cache.expect_mark_fresh().returning(move |k, _| {
            m.lock().unwrap().push(k.to_string());
            Ok(())
        });
        cache
            .expect_is_fresh()
            .returning(move |k| Ok(marked.lock().unwrap().iter().any(|x| x == k)));
        Arc::new(cache)
    }

    fn auth(token_alive: Arc<Mutex<bool>>) -> AuthService {
        let mut creds = MockCredentials::new();
        creds.expect_find_by_hash().returning(move |h| {
            Ok(
                (h == hash_secret(SECRET) && *token_alive.lock().unwrap()).then(|| TokenRecord {
                    id: "1".into(),
                    name: "ops".into(),
                    secret_hash: hash_secret(SECRET),
                    scopes: vec![Scope::Admin],
                    repositories: vec![],
                    expires_at: None,
                    created_at: chrono::Utc::now(),
                }),
            )
        });
        AuthService::new(Arc::new(creds), clock(), true)
    }

    #[tokio::test]
    async fn login_resolve_logout_and_revocation() {
        let alive = Arc::new(Mutex::new(true));
        let auth = auth(alive.clone());
        let sessions = SessionService::new(keys(), cache(), clock());
        assert_eq!(
            sessions.login(&auth, "wrong").await.err(),
            Some(AuthError::InvalidToken)
        );
        assert_eq!(sessions.login(&auth, "  ").await.err(), Some(AuthError::MissingToken));

        let session = sessions.login(&auth, SECRET).await.unwrap();
        assert!(!session.value.contains(SECRET) && !session.value.contains(&hash_secret(SECRET)));
        assert_eq!(session.max_age, SESSION_LIFETIME_SECS);
        let who = sessions.resolve(&auth, &session.value).await.unwrap();
        assert!(matches!(who, Principal::Token { name, .. } if name == "ops"));

        // Another replica (a second service over the same key store) opens it too.
        let other = SessionService::new(keys(), cache(), clock());
        assert!(other.resolve(&auth, &session.value).await.is_ok());

        assert_eq!(
            sessions.resolve(&auth, "aas.forged").await.err(),
            Some(AuthError::InvalidToken)
        );
        let second = sessions.login(&auth, SECRET).await.unwrap();
        sessions.logout(&session.value).await.unwrap();
        assert_eq!(
            sessions.resolve(&auth, &session.value).await.err(),
            Some(AuthError::InvalidToken)
        );
        assert!(
            sessions.resolve(&auth, &second.value).await.is_ok(),
            "only the one session ends"
        );

        *alive.lock().unwrap() = false;
        assert_eq!(
            sessions.resolve(&auth, &second.value).await.err(),
            Some(AuthError::InvalidToken)
        );
    }
}
