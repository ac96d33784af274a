//! Issuing and checking the short-lived bearer tokens of the registry's token flow
//! (`GET /v2/token`). Signed with an instance-wide key shared by all replicas through the
//! `SigningKeys` port, so a token issued by one replica is accepted by every other.
use std::sync::Arc;

use crate::domain::error::AuthError;
use crate::domain::registry::token::{self, TokenClaims};
use crate::ports::{Clock, SigningKeys};

const KEY_NAME: &str = "registry-bearer-tokens";
/// How long a registry bearer token lives; clients fetch a new one when it runs out.
pub const TOKEN_LIFETIME_SECS: i64 = 900;

pub struct IssuedToken {
    pub token: String,
    pub expires_in: i64,
    pub issued_at: chrono::DateTime<chrono::Utc>,
}

pub struct RegistryTokens {
    keys: Arc<dyn SigningKeys>,
    clock: Arc<dyn Clock>,
    key: tokio::sync::OnceCell<Vec<u8>>,
}

impl RegistryTokens {
    pub fn new(keys: Arc<dyn SigningKeys>, clock: Arc<dyn Clock>) -> Self {
        Self {
            keys,
            clock,
            key: tokio::sync::OnceCell::new(),
        }
    }

    async fn key(&self) -> Result<&[u8], AuthError> {
        self.key
            .get_or_try_init(|| async {
                let key = crate::app::auth::instance_key(self.keys.as_ref(), self.clock.as_ref(), KEY_NAME)
                    .await
                    .map_err(|e| AuthError::Unavailable(e.to_string()))?;
                Ok(key.material.into_bytes())
            })
            .await
            .map(Vec::as_slice)
    }

    /// A token for the API token with this secret hash, or an anonymous one (`None`).
    pub async fn issue(&self, secret_hash: Option<String>) -> Result<IssuedToken, AuthError> {
        let now = self.clock.now();
        let claims = TokenClaims {
            sub: secret_hash,
            exp: now.timestamp() + TOKEN_LIFETIME_SECS,
        };
        let token = token::sign(self.key().await?, &claims)
            .ok_or_else(|| AuthError::Unavailable("cannot sign registry token".into()))?;
        Ok(IssuedToken {
            token,
            expires_in: TOKEN_LIFETIME_SECS,
            issued_at: now,
        })
    }

    /// The secret hash a valid token was issued for (`None`: anonymous).
    pub async fn verify(&self, raw: &str) -> Result<Option<String>, AuthError> {
        let now = self.clock.now().timestamp();
        token::verify(self.key().await?, raw, now)
            .map(|c| c.sub)
            .map_err(|_| AuthError::InvalidToken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::clock::MockClock;
    use crate::ports::credentials::MockSigningKeys;
    use std::sync::Mutex;

    #[tokio::test]
    async fn issued_tokens_verify_until_they_expire() {
        let now = Arc::new(Mutex::new(chrono::Utc::now()));
        let mut clock = MockClock::new();
        let at = now.clone();
        clock.expect_now().returning(move || *at.lock().unwrap());
        let mut keys = MockSigningKeys::new();
        keys.expect_get_or_create().times(1).returning(|c| Ok(c.clone()));
        let tokens = RegistryTokens::new(Arc::new(keys), Arc::new(clock));
        let issued = tokens.issue(Some("hash".into())).await.unwrap();
        assert_eq!(tokens.verify(&issued.token).await, Ok(Some("hash".into())));
        let anon = tokens.issue(None).await.unwrap();
        assert_eq!(tokens.verify(&anon.token).await, Ok(None));
        assert_eq!(tokens.verify("aar.bogus.sig").await, Err(AuthError::InvalidToken));
        *now.lock().unwrap() += chrono::Duration::seconds(TOKEN_LIFETIME_SECS);
        assert_eq!(tokens.verify(&issued.token).await, Err(AuthError::InvalidToken));
    }
}
