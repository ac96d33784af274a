//! HTTP byte ranges (RFC 9110 §14), resolved against a known size, and the `If-Range`
//! condition on them (§13.1.5).
use chrono::{DateTime, Utc};

use crate::domain::digest::Digest;

/// An inclusive byte span inside an object of known size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSpan {
    pub start: u64,
    pub end: u64,
}

impl ByteSpan {
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// What a `Range` header asks for, given the object size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: send the whole object (also for syntactically invalid or multi-range headers,
    /// which RFC 9110 lets a server ignore).
    Full,
    Partial(ByteSpan),
    /// A valid range that does not overlap the object: 416.
    Unsatisfiable,
}

/// Parses a single `bytes=` range against `size`.
pub fn resolve_range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let Ok(suffix) = last.parse::<u64>() else {
            return RangeRequest::Full;
        };
        if suffix == 0 || size == 0 {
            return RangeRequest::Unsatisfiable;
        }
        let start = size.saturating_sub(suffix);
        return RangeRequest::Partial(ByteSpan { start, end: size - 1 });
    }
    let Ok(start) = first.parse::<u64>() else {
        return RangeRequest::Full;
    };
    let end = if last.is_empty() {
        None
    } else {
        match last.parse::<u64>() {
            Ok(e) if e >= start => Some(e),
            _ => return RangeRequest::Full,
        }
    };
    if start >= size {
        return RangeRequest::Unsatisfiable;
    }
    let end = end.map_or(size - 1, |e| e.min(size - 1));
    RangeRequest::Partial(ByteSpan { start, end })
}

/// Whether a `Range` may be honoured given the client's `If-Range`: without one, yes; with a
/// strong entity tag, only if it is ours (`"<digest>"`); with an HTTP-date, only if it equals
/// the `Last-Modified` we send (`modified`, when we send one). A weak tag never holds. When it
/// does not hold the whole representation is sent (200), so a client resuming a download of
/// content that has since changed never splices two versions together.
pub fn if_range_holds(if_range: Option<&str>, digest: &Digest, modified: Option<DateTime<Utc>>) -> bool {
    let Some(validator) = if_range.map(str::trim) else {
        return true;
    };
    if let Some(tag) = validator.strip_prefix('"') {
        return tag.strip_suffix('"') == Some(digest.to_string().as_str());
    }
    match (modified, DateTime::parse_from_rfc2822(validator)) {
        (Some(modified), Ok(date)) => date.timestamp() == modified.timestamp(),
        _ => false,
    }
}

/// `range` when `if_range` holds, else none (serve the whole body).
pub fn conditional_range<'a>(
    range: Option<&'a str>,
    if_range: Option<&str>,
    digest: &Digest,
    modified: Option<DateTime<Utc>>,
) -> Option<&'a str> {
    range.filter(|_| if_range_holds(if_range, digest, modified))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_range_table() {
        let digest = Digest::of_bytes(b"current");
        let other = Digest::of_bytes(b"before");
        let modified = DateTime::parse_from_rfc2822("Wed, 02 Dec 2026 13:36:10 GMT")
            .unwrap()
            .with_timezone(&Utc);
        let ours = format!("\"{digest}\"");
        let table = [
            (None, Some(modified), true),
            (Some(ours.clone()), None, true),
            (Some(format!(" {ours} ")), None, true),
            (Some(format!("\"{other}\"")), Some(modified), false),
            (Some(format!("W/{ours}")), Some(modified), false),
            (Some(digest.to_string()), None, false),
            (Some("Wed, 02 Dec 2026 13:36:10 GMT".into()), Some(modified), true),
            (Some("Wed, 02 Dec 2026 13:36:11 GMT".into()), Some(modified), false),
            (Some("Wed, 02 Dec 2026 13:36:10 GMT".into()), None, false),
            (Some("yesterday".into()), Some(modified), false),
            (Some("\"".into()), None, false),
        ];
        for (header, modified, holds) in table {
            assert_eq!(
                if_range_holds(header.as_deref(), &digest, modified),
                holds,
                "{header:?}"
            );
        }
        assert_eq!(
            conditional_range(Some("bytes=1-"), Some(&ours), &digest, None),
            Some("bytes=1-")
        );
        assert_eq!(conditional_range(Some("bytes=1-"), Some("\"x\""), &digest, None), None);
    }

    #[test]
    fn table() {
        let p = |start, end| RangeRequest::Partial(ByteSpan { start, end });
        let table = [
            (None, 100, RangeRequest::Full),
            (Some("bytes=0-9"), 100, p(0, 9)),
            (Some("bytes=90-"), 100, p(90, 99)),
            (Some("bytes=-10"), 100, p(90, 99)),
            (Some("bytes=-1000"), 100, p(0, 99)),
            (Some("bytes=50-1000"), 100, p(50, 99)),
            (Some("bytes=100-"), 100, RangeRequest::Unsatisfiable),
            (Some("bytes=-0"), 100, RangeRequest::Unsatisfiable),
            (Some("bytes=0-0"), 0, RangeRequest::Unsatisfiable),
            (Some("bytes=9-1"), 100, RangeRequest::Full),
            (Some("bytes=0-1,5-6"), 100, RangeRequest::Full),
            (Some("items=0-1"), 100, RangeRequest::Full),
            (Some("bytes=x-1"), 100, RangeRequest::Full),
        ];
        for (header, size, expected) in table {
            assert_eq!(resolve_range(header, size), expected, "{header:?} of {size}");
        }
    }
}
