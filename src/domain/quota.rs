//! Local repository quotas (`quota_bytes`): how much room is left and whether an upload fits.
//! What a repository stores is the sum of its distinct contents (a digest under two paths, a
//! tag and its manifest, counts once), read from the metadata database, so every replica
//! enforces the same quota.
use std::fmt;

/// The room a repository has before an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
    Unlimited,
    Limited { quota: u64, used: u64 },
}

/// An upload refused by a quota (413 `QUOTA_EXCEEDED`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub quota: u64,
    pub used: u64,
    /// The upload's size when it was known (declared, or counted before it was cut off).
    pub size: Option<u64>,
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let left = self.quota.saturating_sub(self.used);
        match self.size {
            Some(size) => write!(
                f,
                "quota exceeded: {size} bytes do not fit in the {left} bytes left of the repository's quota of {} bytes ({} stored); delete something first",
                self.quota, self.used
            ),
            None => write!(
                f,
                "quota exceeded: the upload is larger than the {left} bytes left of the repository's quota of {} bytes ({} stored); delete something first",
                self.quota, self.used
            ),
        }
    }
}

impl std::error::Error for Exceeded {}

impl Room {
    /// Refuses at once an upload that cannot fit: any upload once the quota is used up, and one
    /// whose declared `size` is more than what is left.
    pub fn admit(&self, size: Option<u64>) -> Result<(), Exceeded> {
        let Room::Limited { quota, used } = *self else {
            return Ok(());
        };
        let full = used >= quota;
        let too_big = size.is_some_and(|s| s > quota - used.min(quota));
        if full || too_big {
            Err(Exceeded { quota, used, size })
        } else {
            Ok(())
        }
    }

    /// The most an upload may read: the smaller of `max_upload` and what the quota leaves, and
    /// whether the quota is the tighter of the two (a body cut there is `QUOTA_EXCEEDED`, not
    /// `TOO_LARGE`).
    pub fn limit(&self, max_upload: u64) -> (u64, bool) {
        match *self {
            Room::Limited { quota, used } if quota.saturating_sub(used) < max_upload => {
                (quota.saturating_sub(used), true)
            }
            _ => (max_upload, false),
        }
    }

    /// The refusal of a body cut off at the quota (its size is unknown: it was not all read).
    pub fn exceeded(&self) -> Option<Exceeded> {
        match *self {
            Room::Limited { quota, used } => Some(Exceeded {
                quota,
                used,
                size: None,
            }),
            Room::Unlimited => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_what_fits() {
        let room = Room::Limited { quota: 100, used: 60 };
        let table: &[(Room, Option<u64>, bool)] = &[
            (Room::Unlimited, Some(u64::MAX), true),
            (Room::Unlimited, None, true),
            (room, Some(40), true),
            (room, Some(41), false),
            (room, None, true),
            (room, Some(0), true),
            (Room::Limited { quota: 100, used: 100 }, Some(0), false),
            (Room::Limited { quota: 100, used: 100 }, None, false),
            // Over its quota already (lowered after the fact, or concurrent uploads).
            (Room::Limited { quota: 100, used: 150 }, Some(1), false),
        ];
        for (room, size, fits) in table {
            assert_eq!(room.admit(*size).is_ok(), *fits, "{room:?} {size:?}");
        }
    }

    #[test]
    fn limit_is_the_tighter_bound() {
        assert_eq!(Room::Unlimited.limit(10), (10, false));
        assert_eq!(Room::Limited { quota: 100, used: 60 }.limit(10), (10, false));
        assert_eq!(Room::Limited { quota: 100, used: 60 }.limit(1000), (40, true));
        assert_eq!(Room::Limited { quota: 100, used: 160 }.limit(1000), (0, true));
        assert_eq!(Room::Limited { quota: 100, used: 60 }.limit(40), (40, false));
    }

    #[test]
    fn messages_say_what_is_left() {
        let e = Room::Limited { quota: 100, used: 60 }.admit(Some(50)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "quota exceeded: 50 bytes do not fit in the 40 bytes left of the repository's quota of 100 bytes (60 stored); delete something first"
        );
        assert!(Room::Unlimited.exceeded().is_none());
        assert!(
            Room::Limited { quota: 1, used: 0 }
                .exceeded()
                .unwrap()
                .to_string()
                .contains("larger than the 1 bytes left")
        );
    }
}
