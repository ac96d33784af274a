//! Upstream Bearer auth, as docker registries ask for it: a 401 with `WWW-Authenticate: Bearer
//! realm=...,service=...,scope=...` means "fetch a token from the realm and retry". The token is
//! fetched with the remote's credentials (or anonymously), kept until 30 s before it expires, and
//! sent upfront on later requests for the same image.
use futures::StreamExt;
use serde::Deserialize;

use super::fetch::{basic_credentials, named_by_upstream, request_headers};
use super::{Inner, Target};
use crate::domain::formats::docker::BearerChallenge;
use crate::ports::{Method, PortError, UpstreamRequest, UpstreamResponse};

/// Token responses are small; anything bigger is not one.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;
/// Tokens are dropped this long before they expire, so none runs out mid-request.
const EXPIRY_MARGIN_SECS: i64 = 30;
/// Token lifetime when the response does not say (the distribution token spec's default).
const DEFAULT_LIFETIME_SECS: i64 = 60;
/// Cached tokens kept at most; the cache is cleared when it grows past this.
const MAX_CACHED_TOKENS: usize = 10_000;

#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<i64>,
}

/// Tokens are per remote and image (the scope a registry grants).
fn cache_key(target: &Target) -> String {
    format!("{}\n{}", target.repo, target.format.pattern_subject(&target.path))
}

/// What a realm answered.
enum Token {
    Granted(String),
    Refused(String),
}

fn set_bearer(headers: &mut Vec<(String, String)>, token: &str) {
    headers.retain(|(k, _)| k != "authorization");
    headers.push(("authorization".into(), format!("Bearer {token}")));
}

impl Inner {
    /// Sends a request for `target`, answering one Bearer challenge on the way.
    pub(super) async fn send_upstream(&self, target: &Target, method: Method) -> Result<UpstreamResponse, PortError> {
        let key = cache_key(target);
        let mut headers = request_headers(target);
        if let Some(token) = self.cached_bearer(&key).await {
            set_bearer(&mut headers, &token);
        }
        let named_by_upstream = named_by_upstream(&target.location.url, &target.settings.base_url);
        let request = |headers: Vec<(String, String)>| UpstreamRequest {
            method,
            url: target.location.url.clone(),
            headers,
            timeout: None,
            tls: target.settings.tls.clone(),
            named_by_upstream,
        };
        let response = self.upstream.send(request(headers.clone())).await?;
        if response.status != 401 {
            return Ok(response);
        }
        let challenge_header = response.header("www-authenticate").unwrap_or_default();
        let Some(challenge) = BearerChallenge::parse(challenge_header) else {
            // A Basic challenge to a format that does not send credentials upfront.
            let basic_asked = challenge_header.trim_start().to_ascii_lowercase().starts_with("basic");
            let already_sent = headers.iter().any(|(k, _)| k == "authorization");
            return match basic_credentials(target) {
                Some(basic) if basic_asked && !already_sent => {
                    headers.push(("authorization".into(), basic));
                    self.upstream.send(request(headers)).await
                }
                _ => Ok(response),
            };
        };
        match self.fetch_bearer(target, &challenge).await? {
            Token::Granted(token) => {
                set_bearer(&mut headers, &token);
                self.upstream.send(request(headers)).await
            }
            Token::Refused(reason) => {
                tracing::warn!(repository = %target.repo, reason, "upstream token request failed");
                Ok(response)
            }
        }
    }

    async fn cached_bearer(&self, key: &str) -> Option<String> {
        let now = self.clock.now();
        let tokens = self.bearer_tokens.lock().await;
        tokens
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(t, _)| t.clone())
    }

    /// Asks the realm for a token. A realm that cannot be reached (network, TLS) is an error,
    /// like the upstream itself; a refusal leaves the upstream's 401 to answer with.
    async fn fetch_bearer(&self, target: &Target, challenge: &BearerChallenge) -> Result<Token, PortError> {
        match self.ask_realm(target, challenge).await? {
            Ok(token) => Ok(Token::Granted(token)),
            Err(reason) => Ok(Token::Refused(reason)),
        }
    }

    /// The token, or why the realm gave none (never including credentials).
    async fn ask_realm(
        &self,
        target: &Target,
        challenge: &BearerChallenge,
    ) -> Result<Result<String, String>, PortError> {
        let Some(url) = challenge.token_url() else {
            return Ok(Err("the challenge's realm is not an http(s) URL".into()));
        };
        let response = self.upstream.send(self.realm_request(target, url)).await?;
        Ok(self.read_token(target, response).await)
    }

    fn realm_request(&self, target: &Target, url: String) -> UpstreamRequest {
        UpstreamRequest {
            method: Method::Get,
            named_by_upstream: named_by_upstream(&url, &target.settings.base_url),
            url,
            headers: basic_credentials(target)
                .map(|b| ("authorization".to_string(), b))
                .into_iter()
                .collect(),
            timeout: None,
            tls: target.settings.tls.clone(),
        }
    }

    async fn read_token(&self, target: &Target, response: UpstreamResponse) -> Result<String, String> {
        if response.status != 200 {
            return Err(format!("token endpoint answered HTTP {}", response.status));
        }
        let mut body = response.body;
        let mut buffer = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| e.to_string())?;
            if buffer.len() + chunk.len() > MAX_TOKEN_RESPONSE {
                return Err("token response too large".into());
            }
            buffer.extend_from_slice(&chunk);
        }
        let parsed: TokenResponse = serde_json::from_slice(&buffer).map_err(|_| "token response is not JSON")?;
        let token = parsed
            .token
            .or(parsed.access_token)
            .filter(|t| !t.is_empty())
            .ok_or("token response has no token")?;
        let lifetime = parsed.expires_in.unwrap_or(DEFAULT_LIFETIME_SECS);
        if lifetime > EXPIRY_MARGIN_SECS {
            let until = self.clock.now() + chrono::Duration::seconds(lifetime - EXPIRY_MARGIN_SECS);
            let mut tokens = self.bearer_tokens.lock().await;
            if tokens.len() >= MAX_CACHED_TOKENS {
                tokens.clear();
            }
            tokens.insert(cache_key(target), (token.clone(), until));
        }
        Ok(token)
    }
}
