//! A forward proxy on 127.0.0.1 that only tunnels (HTTP `CONNECT`, as clients use for https://
//! URLs) and counts the tunnels it opened per target; it can demand Basic proxy credentials.
use base64::Engine;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct State {
    tunnels: HashMap<String, usize>,
    refused: usize,
    required: Option<String>,
    /// Names only this proxy can resolve (`name:port` -> `127.0.0.1:port`).
    names: HashMap<String, String>,
}

pub struct ConnectProxy {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    pub addr: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl ConnectProxy {
    pub async fn start() -> ConnectProxy {
        Self::start_with(None).await
    }

    /// Answers 407 unless `Proxy-Authorization: Basic base64(user:password)` comes with the CONNECT.
    pub async fn start_with_auth(user: &str, password: &str) -> ConnectProxy {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Self::start_with(Some(format!("Basic {token}"))).await
    }

    async fn start_with(required: Option<String>) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(Mutex::new(State {
            required,
            ..State::default()
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(tunnel(socket, shared.clone()));
            }
        });
        ConnectProxy {
            url: format!("http://{addr}"),
            addr,
            state,
            task,
        }
    }

    /// Makes `name:port` reach `addr`: a client that can reach `name` at all must be using
    /// this proxy.
    pub fn resolve(&self, name_and_port: &str, addr: &str) {
        self.state
            .lock()
            .unwrap()
            .names
            .insert(name_and_port.to_string(), addr.to_string());
    }

    /// Tunnels opened to `target` (`host:port`).
    pub fn tunnels_to(&self, target: &str) -> usize {
        self.state.lock().unwrap().tunnels.get(target).copied().unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.state.lock().unwrap().tunnels.values().sum()
    }

    /// CONNECTs answered 407 for missing or wrong credentials.
    pub fn refused(&self) -> usize {
        self.state.lock().unwrap().refused
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tunnel(mut client: TcpStream, state: Arc<Mutex<State>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if client.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let request_line: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    let [method, target, _] = request_line[..] else {
        return;
    };
    if method != "CONNECT" {
        let _ = client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    }
    let presented = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, v)| v.trim().to_string());
    let required = state.lock().unwrap().required.clone();
    if required.is_some() && presented != required {
        state.lock().unwrap().refused += 1;
        let _ = client
            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm=\"test\"\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    }
    let address = state.lock().unwrap().names.get(target).cloned();
    let Ok(mut upstream) = TcpStream::connect(address.as_deref().unwrap_or(target)).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    *state.lock().unwrap().tunnels.entry(target.to_string()).or_default() += 1;
    if client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
