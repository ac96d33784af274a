//! A fake upstream on 127.0.0.1: serves in-memory or generated files, counts requests per path,
//! and can fail (503), cut bodies short, demand Basic auth, or stop (connection refused).
use bytes::Bytes;
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::{Body, EndpointExt, Request, Response, Route, handler};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub enum FakeFile {
    Bytes(Bytes),
    /// A body with its own content type (index pages).
    Page {
        body: Bytes,
        content_type: &'static str,
    },
    /// `support::data::stream(seed, size)`.
    Generated {
        seed: u64,
        size: u64,
    },
    /// Declares `size` bytes, sends half of them, then breaks the connection.
    CutShort {
        seed: u64,
        size: u64,
    },
}

#[derive(Default)]
struct State {
    files: HashMap<String, FakeFile>,
    hits: HashMap<String, usize>,
    failing: bool,
    basic_auth: Option<String>,
}

pub struct FakeUpstream {
    pub base: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
    shutdown: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl FakeUpstream {
    pub async fn start() -> FakeUpstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        Self::serve(TcpAcceptor::from_std(listener).unwrap(), base)
    }

    /// The same over HTTPS with `config` (see `support::tls`); `base` is `https://127.0.0.1:<port>`.
    pub async fn start_tls(config: Arc<rustls::ServerConfig>) -> FakeUpstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("https://{}", listener.local_addr().unwrap());
        Self::serve(super::tls::TlsTestAcceptor::new(listener, config), base)
    }

    fn serve(acceptor: impl poem::listener::Acceptor + 'static, base: String) -> FakeUpstream {
        let state = Arc::new(Mutex::new(State::default()));
        let app = Route::new().at("/*path", serve).data(state.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = rx.await;
            };
            let _ = poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, stop, Some(std::time::Duration::ZERO))
                .await;
        });
        FakeUpstream {
            base,
            state,
            task,
            shutdown: Mutex::new(Some(tx)),
        }
    }

    pub fn put(&self, path: &str, file: FakeFile) {
        self.state.lock().unwrap().files.insert(path.to_string(), file);
    }

    /// GET requests seen for `path` (HEAD not counted).
    pub fn hits(&self, path: &str) -> usize {
        self.state.lock().unwrap().hits.get(path).copied().unwrap_or(0)
    }

    /// Answer 503 to everything.
    pub fn set_failing(&self, failing: bool) {
        self.state.lock().unwrap().failing = failing;
    }

    /// Require `Authorization: Basic <base64(user:password)>`.
    pub fn require_basic(&self, user: &str, password: &str) {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.state.lock().unwrap().basic_auth = Some(format!("Basic {token}"));
    }

    /// Stops listening and drops open connections: later requests are refused.
    pub async fn stop(&self) {
        if let Some(tx) = self.shutdown.lock().unwrap().take() {
            let _ = tx.send(());
        }
        for _ in 0..100 {
            if self.task.is_finished() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("fake upstream did not stop");
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[handler]
fn serve(req: &Request, poem::web::Data(state): poem::web::Data<&Arc<Mutex<State>>>) -> Response {
    let path = req.uri().path().trim_start_matches('/').to_string();
    let (file, failing, auth_ok) = {
        let mut s = state.lock().unwrap();
        if req.method() == poem::http::Method::GET {
            *s.hits.entry(path.clone()).or_default() += 1;
        }
        let presented = req.headers().get("authorization").and_then(|v| v.to_str().ok());
        let auth_ok = s
            .basic_auth
            .as_deref()
            .is_none_or(|expected| presented == Some(expected));
        (s.files.get(&path).cloned(), s.failing, auth_ok)
    };
    if failing {
        return Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .body("down for maintenance");
    }
    if !auth_ok {
        return Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header("www-authenticate", "Basic realm=\"fake\"")
            .finish();
    }
    let Some(file) = file else {
        return Response::builder().status(StatusCode::NOT_FOUND).body("no such file");
    };
    let builder = Response::builder()
        .content_type("application/x-test")
        .header("etag", "\"fake-etag\"");
    let head = req.method() == poem::http::Method::HEAD;
    match file {
        FakeFile::Page { body, content_type } => Response::builder().content_type(content_type).body(body),
        FakeFile::Bytes(bytes) if head => builder.header("content-length", bytes.len()).finish(),
        FakeFile::Bytes(bytes) => builder.body(bytes),
        FakeFile::Generated { size, .. } if head => builder.header("content-length", size).finish(),
        FakeFile::Generated { seed, size } => builder
            .header("content-length", size)
            .body(Body::from_bytes_stream(super::data::stream(seed, size))),
        FakeFile::CutShort { seed, size } => {
            use futures::StreamExt;
            let half = super::data::stream(seed, size / 2);
            let broken = half.chain(futures::stream::once(async {
                Err(std::io::Error::other("connection cut"))
            }));
            builder
                .header("content-length", size)
                .body(Body::from_bytes_stream(broken))
        }
    }
}
