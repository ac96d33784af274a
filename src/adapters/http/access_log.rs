//! The access log: one line per request, off by default and apart from the diagnostic log
//! (`log_level`), so a busy server does not pay for a tracing span and event per request.
//! Lines go through a bounded queue to one writer thread; when the writer falls behind, lines
//! are dropped and counted rather than slowing requests down.
use poem::{Request, Response};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::Instant;

use crate::app::config::AccessLogTarget;

/// Lines waiting for the writer; beyond this they are dropped.
const QUEUE_LINES: usize = 16 * 1024;

/// How the lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFormat {
    /// `time remote method path status bytes duration_ms`, space-separated.
    Text,
    /// One JSON object per line.
    Json,
}

pub struct AccessLog {
    queue: SyncSender<String>,
    format: LineFormat,
    dropped: AtomicU64,
}

impl AccessLog {
    /// `None` when the target is `off`. A file is opened (created, appended to) now, so a bad
    /// path fails start-up with its reason.
    pub fn open(target: &AccessLogTarget, format: LineFormat) -> std::io::Result<Option<Arc<Self>>> {
        let out: Box<dyn Write + Send> = match target {
            AccessLogTarget::Off => return Ok(None),
            AccessLogTarget::Stdout => Box::new(std::io::stdout()),
            AccessLogTarget::Stderr => Box::new(std::io::stderr()),
            AccessLogTarget::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?,
            ),
        };
        let (queue, lines) = sync_channel(QUEUE_LINES);
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(lines, out))?;
        Ok(Some(Arc::new(Self {
            queue,
            format,
            dropped: AtomicU64::new(0),
        })))
    }

    /// Lines dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn push(&self, line: String) {
        match self.queue.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Writes whatever has queued, then flushes once: one write call per burst, not per line.
fn write_lines(lines: Receiver<String>, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    while let Ok(first) = lines.recv() {
        let mut line = Some(first);
        while let Some(text) = line {
            if out.write_all(text.as_bytes()).is_err() {
                return;
            }
            line = lines.try_recv().ok();
        }
        if out.flush().is_err() {
            return;
        }
    }
}

/// What one line says. The query string is left out: it may carry credentials.
struct Entry<'a> {
    remote: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    bytes: Option<u64>,
    millis: f64,
}

fn render(entry: &Entry<'_>, format: LineFormat) -> String {
    let time = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
    match format {
        LineFormat::Text => format!(
            "{time} {} {} {} {} {} {:.3}\n",
            entry.remote,
            entry.method,
            entry.path,
            entry.status,
            entry.bytes.map(|b| b.to_string()).unwrap_or_else(|| "-".into()),
            entry.millis
        ),
        LineFormat::Json => {
            let mut line = serde_json::json!({
                "time": time.to_string(),
                "remote": entry.remote,
                "method": entry.method,
                "path": entry.path,
                "status": entry.status,
                "bytes": entry.bytes,
                "duration_ms": (entry.millis * 1000.0).round() / 1000.0,
            })
            .to_string();
            line.push('\n');
            line
        }
    }
}

/// A request whose line is written once its response head is ready (`bytes` is the
/// Content-Length when the response has one).
pub struct Pending {
    log: Arc<AccessLog>,
    started: Instant,
    remote: Option<String>,
    method: poem::http::Method,
    path: String,
}

impl Pending {
    pub fn start(log: &Arc<AccessLog>, req: &Request) -> Self {
        Self {
            log: log.clone(),
            started: Instant::now(),
            remote: req.remote_addr().as_socket_addr().map(|a| a.ip().to_string()),
            method: req.method().clone(),
            path: req.uri().path().to_string(),
        }
    }

    pub fn finish(self, response: &Response) {
        let bytes = response
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let entry = Entry {
            remote: self.remote.as_deref().unwrap_or("-"),
            method: self.method.as_str(),
            path: &self.path,
            status: response.status().as_u16(),
            bytes,
            millis: self.started.elapsed().as_secs_f64() * 1000.0,
        };
        self.log.push(render(&entry, self.log.format));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry<'static> {
        Entry {
            remote: "10.0.0.1",
            method: "GET",
            path: "/api/v1/remote/pypi/simple/x/",
            status: 200,
            bytes: Some(42),
            millis: 1.2345,
        }
    }

    #[test]
    fn text_lines_have_every_field_in_order() {
        let line = render(&entry(), LineFormat::Text);
        let fields: Vec<&str> = line.trim_end().split(' ').collect();
        assert_eq!(
            fields[1..],
            ["10.0.0.1", "GET", "/api/v1/remote/pypi/simple/x/", "200", "42", "1.234"]
        );
        assert!(line.ends_with('\n'));
    }

    #[test]
    fn json_lines_parse() {
        let line = render(&Entry { bytes: None, ..entry() }, LineFormat::Json);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["status"], 200);
        assert_eq!(v["bytes"], serde_json::Value::Null);
        assert_eq!(v["path"], "/api/v1/remote/pypi/simple/x/");
    }

    #[test]
    fn a_file_target_gets_the_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = AccessLog::open(&AccessLogTarget::File(path.clone()), LineFormat::Text)
            .unwrap()
            .unwrap();
        log.push("one\n".into());
        log.push("two\n".into());
        for _ in 0..200 {
            if std::fs::read_to_string(&path).unwrap() == "one\ntwo\n" {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("lines not written: {:?}", std::fs::read_to_string(&path));
    }

    #[test]
    fn off_opens_nothing_and_a_bad_path_is_an_error() {
        assert!(
            AccessLog::open(&AccessLogTarget::Off, LineFormat::Text)
                .unwrap()
                .is_none()
        );
        let err = AccessLog::open(
            &AccessLogTarget::File("/nonexistent/dir/a.log".into()),
            LineFormat::Text,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("/nonexistent/dir/a.log"), "{err}");
    }
}
