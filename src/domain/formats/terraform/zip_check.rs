//! Checks a provider zip as it streams past, in bounded memory: it must start like a zip, end
//! with a central directory that lists only plain relative names, and hold the provider's
//! executable at its root. Only the last `TAIL` bytes are kept (the central directory of a
//! provider archive lists a handful of files).

/// The most of the archive's end kept: the central directory and its end record must fit.
pub const TAIL: usize = 1024 * 1024;
const LOCAL_HEADER: [u8; 4] = *b"PK\x03\x04";
const CENTRAL_HEADER: [u8; 4] = *b"PK\x01\x02";
const END_RECORD: [u8; 4] = *b"PK\x05\x06";
const END_RECORD_LEN: usize = 22;

/// Fed the body chunk by chunk, then asked for a verdict.
pub struct ArchiveCheck {
    executable: String,
    head: Vec<u8>,
    tail: Vec<u8>,
    total: u64,
}

impl ArchiveCheck {
    /// `executable`: the name (without suffix) the root entry must start with,
    /// `terraform-provider-{type}`.
    pub fn new(executable: String) -> ArchiveCheck {
        ArchiveCheck {
            executable,
            head: Vec::with_capacity(4),
            tail: Vec::new(),
            total: 0,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        if self.head.len() < 4 {
            let take = (4 - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        let keep = chunk.len().min(TAIL);
        if keep == TAIL {
            self.tail.clear();
        }
        self.tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        if self.tail.len() > 2 * TAIL {
            let excess = self.tail.len() - TAIL;
            self.tail.drain(..excess);
        }
    }

    /// Bytes of the archive held right now.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// The names of the archive's entries, or why it is not a provider archive.
    pub fn finish(self) -> Result<Vec<String>, String> {
        if self.head != LOCAL_HEADER {
            return Err("the body is not a zip archive".into());
        }
        let tail = if self.tail.len() > TAIL {
            &self.tail[self.tail.len() - TAIL..]
        } else {
            &self.tail[..]
        };
        let tail_start = self.total - tail.len() as u64;
        let end = find_end_record(tail).ok_or("the zip archive has no end of central directory record")?;
        let field16 = |at: usize| u16::from_le_bytes([tail[at], tail[at + 1]]);
        let field32 = |at: usize| u32::from_le_bytes([tail[at], tail[at + 1], tail[at + 2], tail[at + 3]]);
        let entries = field16(end + 10);
        let size = field32(end + 12);
        let offset = field32(end + 16);
        if entries == u16::MAX || size == u32::MAX || offset == u32::MAX {
            return Err("zip64 archives are not accepted for providers".into());
        }
        let directory_end = u64::from(offset) + u64::from(size);
        if directory_end != tail_start + end as u64 {
            return Err("the zip archive's central directory is not where its end record says".into());
        }
        if u64::from(offset) < tail_start {
            return Err(format!(
                "the zip archive's central directory is larger than {TAIL} bytes"
            ));
        }
        let directory = &tail[(u64::from(offset) - tail_start) as usize..end];
        let names = entry_names(directory, entries)?;
        for name in &names {
            let bad = name.starts_with('/')
                || name.contains('\\')
                || name.split('/').any(|segment| segment == "..")
                || name.chars().any(char::is_control);
            if bad {
                return Err(format!("the zip archive holds an unsafe path '{name}'"));
            }
        }
        let executable = &self.executable;
        let found = names.iter().any(|name| {
            name.strip_prefix(executable.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('_') || rest == ".exe")
        });
        if !found {
            return Err(format!(
                "the zip archive does not hold the provider executable '{executable}' (or '{executable}_v<version>') at its root"
            ));
        }
        Ok(names)
    }
}

/// The end record's offset in `tail`: the last signature whose comment length reaches exactly
/// to the end.
fn find_end_record(tail: &[u8]) -> Option<usize> {
    if tail.len() < END_RECORD_LEN {
        return None;
    }
    (0..=tail.len() - END_RECORD_LEN).rev().find(|&at| {
        tail[at..at + 4] == END_RECORD && {
            let comment = usize::from(u16::from_le_bytes([tail[at + 20], tail[at + 21]]));
            at + END_RECORD_LEN + comment == tail.len()
        }
    })
}

fn entry_names(directory: &[u8], entries: u16) -> Result<Vec<String>, String> {
    let corrupt = || "the zip archive's central directory is corrupt".to_string();
    let mut names = Vec::with_capacity(usize::from(entries));
    let mut at = 0usize;
    for _ in 0..entries {
        let header = directory.get(at..at + 46).ok_or_else(corrupt)?;
        if header[..4] != CENTRAL_HEADER {
            return Err(corrupt());
        }
        let len = |i: usize| usize::from(u16::from_le_bytes([header[i], header[i + 1]]));
        let (name_len, extra_len, comment_len) = (len(28), len(30), len(32));
        let name = directory.get(at + 46..at + 46 + name_len).ok_or_else(corrupt)?;
        names.push(String::from_utf8_lossy(name).into_owned());
        at += 46 + name_len + extra_len + comment_len;
    }
    if at != directory.len() {
        return Err(corrupt());
    }
    Ok(names)
}
