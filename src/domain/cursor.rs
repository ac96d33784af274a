//! List cursors (`X-Next-Cursor`): opaque to clients, and checked when they come back, so a
//! cursor this server did not hand out for this very listing is a clear 400 rather than an
//! ignored parameter or an empty page. A cursor is the listing it belongs to and the last key
//! of the page, URL-safe base64 encoded.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cursor is not one this listing handed out (pass back X-Next-Cursor as it was)")]
pub struct CursorError;

/// Which listing a cursor continues: the repositories, or one repository's objects under a
/// prefix.
pub fn repositories_listing() -> String {
    "repositories".to_string()
}

pub fn objects_listing(repo: &str, prefix: &str) -> String {
    format!("objects\n{repo}\n{prefix}")
}

/// The cursor continuing `listing` after the key `last`.
pub fn encode(listing: &str, last: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{listing}\n{last}"))
}

/// The key to continue after; anything but a cursor `encode` made for `listing` is an error.
pub fn decode(listing: &str, cursor: &str) -> Result<String, CursorError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| CursorError)?;
    let text = String::from_utf8(bytes).map_err(|_| CursorError)?;
    let last = text
        .strip_prefix(listing)
        .and_then(|rest| rest.strip_prefix('\n'))
        .ok_or(CursorError)?;
    if last.is_empty() {
        return Err(CursorError);
    }
    Ok(last.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let repos = repositories_listing();
        let objects = objects_listing("files", "docs/");
        let cursor = encode(&objects, "docs/two.txt");
        assert_eq!(decode(&objects, &cursor), Ok("docs/two.txt".to_string()));
        assert_eq!(decode(&repos, &encode(&repos, "b")), Ok("b".to_string()));
        for bad in ["", "zzz", "%%%", "not a cursor", "b", &encode(&repos, "")] {
            assert_eq!(decode(&repos, bad), Err(CursorError), "{bad:?}");
        }
        assert_eq!(decode(&repos, &cursor), Err(CursorError), "another listing's cursor");
        assert_eq!(
            decode(&objects_listing("files", "x/"), &cursor),
            Err(CursorError),
            "another prefix"
        );
        assert_eq!(decode(&objects_listing("other", "docs/"), &cursor), Err(CursorError));
    }
}
