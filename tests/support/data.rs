//! Deterministic pseudo-random bodies of any size, generated chunk by chunk (never held whole).
use bytes::Bytes;
use futures::Stream;
use sha2::{Digest, Sha256};

const CHUNK: usize = 1024 * 1024;

fn chunk(seed: u64, index: u64, len: usize) -> Bytes {
    let mut state = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    Bytes::from(out)
}

/// The body as a stream of 1 MiB chunks.
pub fn stream(seed: u64, size: u64) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let chunks = size.div_ceil(CHUNK as u64);
    futures::stream::iter((0..chunks).map(move |i| {
        let len = (size - i * CHUNK as u64).min(CHUNK as u64) as usize;
        Ok(chunk(seed, i, len))
    }))
}

/// sha256 hex of the body, computed by generating it.
pub fn sha256_hex(seed: u64, size: u64) -> String {
    let mut hasher = Sha256::new();
    let chunks = size.div_ceil(CHUNK as u64);
    for i in 0..chunks {
        let len = (size - i * CHUNK as u64).min(CHUNK as u64) as usize;
        hasher.update(chunk(seed, i, len));
    }
    hex::encode(hasher.finalize())
}
