//! The instance's generated signing keys: made on the first start and kept in the metadata
//! database through `SigningKeys`, so every replica signs with the same key (whoever stores it
//! first wins; the others read it back).
use crate::ports::{Clock, SigningKey, SigningKeys};

/// The material of the key `name`, generated (as `algorithm`) and stored when absent.
pub async fn stored_or_generated(
    keys: &dyn SigningKeys,
    clock: &dyn Clock,
    (name, algorithm): (&str, &str),
    generate: impl FnOnce() -> Result<String, String>,
) -> Result<String, String> {
    if let Some(key) = keys.get(name).await.map_err(|e| e.to_string())? {
        return Ok(key.material);
    }
    let candidate = SigningKey {
        name: name.to_string(),
        algorithm: algorithm.to_string(),
        material: generate()?,
        created_at: clock.now(),
    };
    let stored = keys.get_or_create(&candidate).await.map_err(|e| e.to_string())?;
    Ok(stored.material)
}
