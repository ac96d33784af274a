//! The upstream password of a remote, kept out of Terraform's plan and state.
//!
//! `tf-provider` speaks plugin protocol 6.5, which predates write-only attributes (Terraform
//! 1.11, protocol 6.8): any attribute set in configuration is stored in state as written, and
//! `terraform show -json` prints sensitive values in clear. So the password is never an
//! attribute: `password_env` names an environment variable of the Terraform process (the
//! provider inherits it) that holds it, and the state keeps only `password_hash`, an Argon2id
//! PHC string with a random salt. A plan reads the variable and compares it with that hash; a
//! different password (or none known, after an import) plans an update that sends it.
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tf_provider::value::{Value, ValueString};

use crate::values::text;

/// Argon2id with a smaller memory cost than the crate's default (19 MiB): the hash only
/// detects a changed password and lives in state, which must be protected anyway; a plan
/// verifies it once per remote with a password.
fn hasher() -> Result<Argon2<'static>, String> {
    let params = Params::new(8 * 1024, 3, 1, None).map_err(|e| e.to_string())?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The password held by the variable `name`, or a message saying why there is none.
pub fn from_env(name: &str) -> Result<String, String> {
    interpret(name, std::env::var(name))
}

fn interpret(name: &str, value: Result<String, std::env::VarError>) -> Result<String, String> {
    match value {
        Ok(value) if !value.is_empty() => Ok(value),
        Ok(_) => Err(format!("the environment variable {name} (password_env) is empty")),
        Err(std::env::VarError::NotPresent) => Err(format!(
            "the environment variable {name} (password_env) is not set in Terraform's environment"
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!(
            "the environment variable {name} (password_env) is not valid UTF-8"
        )),
    }
}

/// A new salted hash of `password`.
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| e.to_string())?;
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `stored` (a hash from [`hash`]) is the hash of `password`. Anything unreadable is
/// "no": the password is sent again.
pub fn matches(stored: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    hasher().is_ok_and(|h| h.verify_password(password.as_bytes(), &parsed).is_ok())
}

/// The planned `password_hash`: the prior one while the variable named by `password_env` (read
/// with `lookup`) still holds the password it was made from, unknown (an update that sends the
/// password) otherwise. Without `password_env` the password is not managed here: whatever the
/// server holds stays (the API cannot remove one).
pub fn plan_hash<'a>(
    password_env: &ValueString<'_>,
    prior_hash: &ValueString<'a>,
    lookup: impl Fn(&str) -> Result<String, String>,
) -> Result<ValueString<'a>, String> {
    Ok(match password_env {
        Value::Null => prior_hash.clone(),
        Value::Unknown => Value::Unknown,
        Value::Value(variable) => {
            let password = lookup(variable)?;
            if text(prior_hash).is_some_and(|h| matches(h, &password)) {
                prior_hash.clone()
            } else {
                Value::Unknown
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::string;

    #[test]
    fn a_hash_matches_its_password_only() {
        let stored = hash("s3cret").unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("s3cret"));
        assert!(matches(&stored, "s3cret"));
        assert!(!matches(&stored, "s3cret "));
        assert!(!matches(&stored, ""));
    }

    #[test]
    fn salts_differ() {
        assert_ne!(hash("same").unwrap(), hash("same").unwrap());
    }

    #[test]
    fn unreadable_hashes_never_match() {
        for stored in ["", "unknown", "$argon2id$", "s3cret"] {
            assert!(!matches(stored, "s3cret"), "{stored}");
        }
    }

    #[test]
    fn the_password_hash_changes_only_with_the_password() {
        let stored = string(hash("pw1").unwrap());
        let holds = |pw: &'static str| move |_: &str| Ok::<_, String>(pw.to_string());
        let env = string("PW");
        // (password_env, prior hash, variable holds) -> planned
        assert_eq!(plan_hash(&Value::Null, &stored, holds("x")).unwrap(), stored);
        assert_eq!(plan_hash(&Value::Null, &Value::Null, holds("x")).unwrap(), Value::Null);
        assert_eq!(
            plan_hash(&Value::Unknown, &stored, holds("pw1")).unwrap(),
            Value::Unknown
        );
        assert_eq!(plan_hash(&env, &stored, holds("pw1")).unwrap(), stored);
        assert_eq!(plan_hash(&env, &stored, holds("pw2")).unwrap(), Value::Unknown);
        assert_eq!(plan_hash(&env, &Value::Null, holds("pw1")).unwrap(), Value::Unknown);
        assert_eq!(plan_hash(&env, &string("junk"), holds("pw1")).unwrap(), Value::Unknown);
        let missing = plan_hash(&env, &stored, |name: &str| Err(format!("{name} is not set")));
        assert_eq!(missing.unwrap_err(), "PW is not set");
    }

    #[test]
    fn variables() {
        use std::env::VarError;
        assert_eq!(interpret("V", Ok("pw".into())).unwrap(), "pw");
        assert!(
            interpret("V", Ok(String::new()))
                .unwrap_err()
                .contains("V (password_env) is empty")
        );
        assert!(
            interpret("V", Err(VarError::NotPresent))
                .unwrap_err()
                .contains("is not set")
        );
        assert!(from_env("ARTIFACTAPI_TF_TEST_NO_SUCH_VARIABLE").is_err());
    }
}
