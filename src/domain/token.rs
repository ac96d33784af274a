//! API tokens: scopes, repository globs, expiry, and how a secret is stored (only its sha256).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// What a token may do. `Admin` implies `Write`, which implies `Read`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// What a presented token grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub scopes: Vec<Scope>,
    /// Repository name globs (`*` matches any run of characters). Empty means every repository.
    pub repositories: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Grant {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }

    /// True when the grant carries `need` (or a stronger scope) for `repository`
    /// (`None`: an instance-wide action, which repository-restricted tokens never get).
    pub fn allows(&self, need: Scope, repository: Option<&str>) -> bool {
        let scoped = self.scopes.iter().any(|s| *s >= need);
        let in_reach = match repository {
            _ if self.repositories.is_empty() => true,
            Some(repo) => self.repositories.iter().any(|g| glob_matches(g, repo)),
            None => false,
        };
        scoped && in_reach
    }
}

/// The stored form of a token secret: hex sha256. Secrets are random and long, so a fast hash is
/// enough (no password stretching needed) and lookups stay a single indexed query.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `*` matches any run of characters; everything else is literal.
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return glob == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let table = [
            ("*", "anything", true),
            ("pypi-*", "pypi-remote", true),
            ("pypi-*", "npm-remote", false),
            ("*-local", "generic-local", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ];
        for (glob, text, expected) in table {
            assert_eq!(glob_matches(glob, text), expected, "{glob} ~ {text}");
        }
    }

    #[test]
    fn scopes_and_reach() {
        let g = Grant {
            scopes: vec![Scope::Write],
            repositories: vec!["team-*".into()],
            expires_at: None,
        };
        assert!(g.allows(Scope::Read, Some("team-a")));
        assert!(g.allows(Scope::Write, Some("team-a")));
        assert!(!g.allows(Scope::Admin, Some("team-a")));
        assert!(!g.allows(Scope::Write, Some("other")));
        assert!(!g.allows(Scope::Read, None));
        let admin = Grant {
            scopes: vec![Scope::Admin],
            repositories: vec![],
            expires_at: None,
        };
        assert!(admin.allows(Scope::Write, None));
    }

    #[test]
    fn expiry() {
        let now = Utc::now();
        let g = Grant {
            scopes: vec![Scope::Read],
            repositories: vec![],
            expires_at: Some(now),
        };
        assert!(g.is_expired(now));
        assert!(!g.is_expired(now - chrono::Duration::seconds(1)));
    }

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(hash_secret("").len(), 64);
        assert_ne!(hash_secret("a"), hash_secret("b"));
    }
}
