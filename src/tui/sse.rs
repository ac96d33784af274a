//! The event tail: a Server-Sent Events parser (pure, fed whatever chunks arrive) and the
//! reconnect delay. `run.rs` drives them over HTTP.
use std::time::Duration;

/// Splits an SSE byte stream into the `data` of each event. Lines may arrive split across chunks.
#[derive(Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Vec<String>,
}

/// The longest line kept; a longer one is dropped (our events are a few hundred bytes).
const MAX_LINE: usize = 64 * 1024;

impl SseParser {
    /// Feeds a chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut done = Vec::new();
        for &b in chunk {
            if b != b'\n' {
                if self.line.len() < MAX_LINE {
                    self.line.push(b);
                }
                continue;
            }
            let mut line = std::mem::take(&mut self.line);
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line);
            if line.is_empty() {
                if !self.data.is_empty() {
                    done.push(self.data.join("\n"));
                    self.data.clear();
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                self.data.push(value.strip_prefix(' ').unwrap_or(value).to_string());
            }
            // Comments (`:` keep-alives), `event:`, `id:` and `retry:` lines carry nothing we use.
        }
        done
    }
}

/// Wait before reconnect attempt `attempt` (1-based): 1, 2, 4, 8, 16, then 30 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs((1u64 << attempt.saturating_sub(1).min(5)).min(30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let stream = b": keep-alive\n\ndata: {\"kind\":\"upload\"}\n\nevent: x\r\ndata:a\r\ndata: b\r\n\r\n";
        for split in 0..stream.len() {
            let mut parser = SseParser::default();
            let mut out = parser.push(&stream[..split]);
            out.extend(parser.push(&stream[split..]));
            assert_eq!(
                out,
                vec!["{\"kind\":\"upload\"}".to_string(), "a\nb".to_string()],
                "split at {split}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let secs: Vec<u64> = (1..=8).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
