//! Contract suite for `Upstream` against tiny hand-written HTTP/1.1 servers on 127.0.0.1, so each
//! test controls exactly what goes over the wire (short bodies, stalls, redirects).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns
use artifactapi::adapters::upstream::http::{HttpUpstream, UpstreamConfig};
use artifactapi::ports::{Method, PortError, Upstream, UpstreamRequest, UpstreamResponse};
use futures::StreamExt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Serves every connection with `handle(request head, socket)`.
async fn server<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(String, TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = Arc::new(handle);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let handle = handle.clone();
            tokio::spawn(async move {
                let head = read_head(&mut socket).await;
                handle(head, socket).await;
            });
        }
    });
    addr
}

async fn read_head(socket: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await.unwrap_or(0) == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

async fn reply(mut socket: TcpStream, status: &str, headers: &[&str], body: &[u8]) {
    let mut response = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for header in headers {
        response.push_str(header);
        response.push_str("\r\n");
    }
    response.push_str("connection: close\r\n\r\n");
    socket.write_all(response.as_bytes()).await.unwrap();
    socket.write_all(body).await.unwrap();
    socket.shutdown().await.ok();
}

fn upstream() -> HttpUpstream {
    let config = UpstreamConfig {
        user_agent: "contract-test/1".into(),
        ..UpstreamConfig::default()
    };
    HttpUpstream::new(config).unwrap()
}

fn get(url: String) -> UpstreamRequest {
    UpstreamRequest {
        method: Method::Get,
        url,
        headers: vec![],
        timeout: None,
        tls: Default::default(),
        named_by_upstream: false,
    }
}

async fn fetch(url: String) -> UpstreamResponse {
    upstream().send(get(url)).await.unwrap()
}

/// Reads the whole body; test helper only (production code streams).
async fn body_of(response: UpstreamResponse) -> Result<Vec<u8>, std::io::Error> {
    let mut body = response.body;
    let mut all = Vec::new();
    while let Some(chunk) = body.next().await {
        all.extend_from_slice(&chunk?);
    }
    Ok(all)
}

#[tokio::test]
async fn get_forwards_headers_and_returns_every_response_header() {
    let addr = server(|head, socket| async move {
        let headers = [
            "X-Multi: a",
            "X-Multi: b",
            "X-Mixed-Case: yes",
            "Content-Type: text/plain",
        ];
        reply(socket, "200 OK", &headers, head.as_bytes()).await;
    })
    .await;
    let mut request = get(format!("http://{addr}/some/path?q=1"));
    request.headers = vec![
        ("accept".into(), "application/vnd.oci.image.manifest.v1+json".into()),
        ("authorization".into(), "Bearer secret-token".into()),
    ];
    let response = upstream().send(request).await.unwrap();

    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.header("x-mixed-case"), Some("yes"));
    assert!(
        response
            .headers
            .iter()
            .all(|(name, _)| *name == name.to_ascii_lowercase()),
        "{:?}",
        response.headers
    );
    let multi: Vec<&str> = response
        .headers
        .iter()
        .filter(|(n, _)| n == "x-multi")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(multi, ["a", "b"], "multi-valued headers stay separate entries");

    let echoed = String::from_utf8(body_of(response).await.unwrap()).unwrap();
    let echoed = echoed.to_ascii_lowercase();
    for line in [
        "get /some/path?q=1 http/1.1\r\n",
        "\r\naccept: application/vnd.oci.image.manifest.v1+json\r\n",
        "\r\nauthorization: bearer secret-token\r\n",
        "\r\nuser-agent: contract-test/1\r\n",
    ] {
        assert!(echoed.contains(line), "{line:?} not forwarded in {echoed}");
    }
}

#[tokio::test]
async fn head_returns_headers_and_an_empty_body() {
    let addr = server(|head, mut socket| async move {
        let response = if head.starts_with("HEAD /file HTTP/1.1") {
            "HTTP/1.1 200 OK\r\ncontent-length: 1234\r\netag: \"abc\"\r\n\r\n"
        } else {
            "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n"
        };
        socket.write_all(response.as_bytes()).await.unwrap();
    })
    .await;
    let request = UpstreamRequest {
        method: Method::Head,
        ..get(format!("http://{addr}/file"))
    };
    let response = upstream().send(request).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-length"), Some("1234"));
    assert_eq!(response.header("etag"), Some("\"abc\""));
    assert!(body_of(response).await.unwrap().is_empty());
}

#[tokio::test]
async fn error_statuses_are_ok_responses() {
    let addr = server(|head, socket| async move {
        match head.split_whitespace().nth(1) {
            Some("/missing") => reply(socket, "404 Not Found", &[], b"no such thing").await,
            _ => reply(socket, "503 Service Unavailable", &[], b"busy").await,
        }
    })
    .await;
    let response = fetch(format!("http://{addr}/missing")).await;
    assert_eq!(response.status, 404);
    assert_eq!(body_of(response).await.unwrap(), b"no such thing");
    let response = fetch(format!("http://{addr}/other")).await;
    assert_eq!(response.status, 503);
}

#[tokio::test]
async fn redirects_are_followed_up_to_ten() {
    let addr = server(|head, socket| async move {
        let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
        match path.as_str() {
            "/old" => reply(socket, "302 Found", &["location: /hop/1"], b"").await,
            "/new" => reply(socket, "200 OK", &[], b"moved here").await,
            "/loop" => reply(socket, "302 Found", &["location: /loop"], b"").await,
            hop => {
                let n: u32 = hop.trim_start_matches("/hop/").parse().unwrap();
                let next = if n < 9 {
                    format!("location: /hop/{}", n + 1)
                } else {
                    "location: /new".into()
                };
                reply(socket, "301 Moved Permanently", &[&next], b"").await;
            }
        }
    })
    .await;
    // /old -> /hop/1 .. /hop/9 -> /new: exactly ten redirects.
    let response = fetch(format!("http://{addr}/old")).await;
    assert_eq!(response.status, 200);
    assert_eq!(body_of(response).await.unwrap(), b"moved here");

    let error = upstream()
        .send(get(format!("http://{addr}/loop")))
        .await
        .err()
        .expect("a redirect loop fails");
    assert!(matches!(error, PortError::Backend(_)), "{error:?}");
}

#[tokio::test]
async fn connection_refused_is_a_backend_error_naming_the_host_only() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut request = get(format!("http://user:url-password@127.0.0.1:{port}/x"));
    request.headers = vec![("authorization".into(), "Basic header-secret".into())];
    let error = upstream().send(request).await.err().expect("nothing listens");
    let PortError::Backend(message) = &error else {
        panic!("expected Backend, got {error:?}")
    };
    assert!(message.contains("127.0.0.1"), "{message}");
    assert!(
        !message.contains("url-password") && !message.contains("header-secret"),
        "{message}"
    );
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_ends_in_an_error() {
    let addr = server(|_, mut socket| async move {
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n0123456789")
            .await
            .unwrap();
        socket.shutdown().await.ok();
    })
    .await;
    let response = fetch(format!("http://{addr}/cut")).await;
    assert_eq!(response.status, 200);
    let mut body = response.body;
    let mut received = 0;
    let mut failed = false;
    while let Some(item) = body.next().await {
        match item {
            Ok(chunk) => received += chunk.len(),
            Err(_) => failed = true,
        }
    }
    assert!(failed, "a cut body must never look like a short success");
    assert!(received <= 10);
}

#[tokio::test]
async fn a_server_that_never_answers_hits_the_request_timeout() {
    let addr = server(|_, socket| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    })
    .await;
    let request = UpstreamRequest {
        timeout: Some(Duration::from_millis(200)),
        ..get(format!("http://{addr}/slow"))
    };
    let started = std::time::Instant::now();
    let error = upstream().send(request).await.err().expect("times out");
    assert!(matches!(error, PortError::Backend(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Sends a head and one chunk, pauses, then sends the rest.
async fn pausing_server(pause: Duration) -> SocketAddr {
    server(move |_, mut socket| async move {
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nfirst")
            .await
            .unwrap();
        socket.flush().await.unwrap();
        tokio::time::sleep(pause).await;
        socket.write_all(b"-last").await.ok();
    })
    .await
}

#[tokio::test]
async fn the_read_timeout_is_idle_time_between_chunks() {
    let strict = UpstreamConfig {
        read_timeout: Duration::from_millis(150),
        ..UpstreamConfig::default()
    };
    let strict = HttpUpstream::new(strict).unwrap();

    let addr = pausing_server(Duration::from_secs(30)).await;
    let response = strict.send(get(format!("http://{addr}/stall"))).await.unwrap();
    let error = body_of(response).await.expect_err("a stalled body fails");
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);

    // A per-request timeout overrides the default in both directions.
    let addr = pausing_server(Duration::from_millis(400)).await;
    let patient = UpstreamRequest {
        timeout: Some(Duration::from_secs(5)),
        ..get(format!("http://{addr}/p"))
    };
    let response = strict.send(patient).await.unwrap();
    assert_eq!(body_of(response).await.unwrap(), b"first-last");

    let addr = pausing_server(Duration::from_secs(30)).await;
    let impatient = UpstreamRequest {
        timeout: Some(Duration::from_millis(150)),
        ..get(format!("http://{addr}/i"))
    };
    let response = upstream().send(impatient).await.unwrap();
    assert!(body_of(response).await.is_err());
}

#[tokio::test]
async fn a_large_body_streams_chunk_by_chunk() {
    const SIZE: usize = 20 * 1024 * 1024;
    fn byte_at(i: usize) -> u8 {
        (i % 251) as u8
    }
    let addr = server(|_, mut socket| async move {
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {SIZE}\r\n\r\n");
        socket.write_all(head.as_bytes()).await.unwrap();
        let mut sent = 0;
        while sent < SIZE {
            let chunk: Vec<u8> = (sent..(sent + 64 * 1024).min(SIZE)).map(byte_at).collect();
            socket.write_all(&chunk).await.unwrap();
            sent += chunk.len();
        }
    })
    .await;
    let response = fetch(format!("http://{addr}/big")).await;
    assert_eq!(response.header("content-length"), Some(SIZE.to_string().as_str()));
    let mut body = response.body;
    let (mut received, mut chunks, mut largest) = (0usize, 0usize, 0usize);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        assert!(
            chunk.iter().enumerate().all(|(i, b)| *b == byte_at(received + i)),
            "corrupt at {received}"
        );
        received += chunk.len();
        largest = largest.max(chunk.len());
        chunks += 1;
    }
    assert_eq!(received, SIZE);
    assert!(
        chunks > 1 && largest < SIZE / 4,
        "{chunks} chunks, largest {largest} bytes: not streamed"
    );
}

#[tokio::test]
async fn invalid_requests_fail_without_echoing_secrets() {
    let mut request = get("http://127.0.0.1:9/x".into());
    request.headers = vec![("authorization".into(), "Bearer bad\nvalue-secret".into())];
    let error = upstream().send(request).await.err().expect("invalid header value");
    assert!(!error.to_string().contains("value-secret"), "{error}");

    let error = upstream()
        .send(get("not a url with pass:word@".into()))
        .await
        .err()
        .expect("invalid URL");
    assert!(!error.to_string().contains("word"), "{error}");
}

fn guarded(deny: &[&str]) -> HttpUpstream {
    HttpUpstream::new(UpstreamConfig {
        deny_networks: deny.iter().map(|n| n.parse().unwrap()).collect(),
        ..UpstreamConfig::default()
    })
    .unwrap()
}

fn named(url: String) -> UpstreamRequest {
    UpstreamRequest {
        named_by_upstream: true,
        ..get(url)
    }
}

#[tokio::test]
async fn hosts_named_by_upstream_content_in_denied_networks_are_refused_without_connecting() {
    let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = connections.clone();
    let addr = server(move |head, socket| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            if path == "/to-denied" {
                let port = socket.local_addr().unwrap().port();
                let location = format!("location: http://127.0.0.2:{port}/x");
                reply(socket, "302 Found", &[&location], b"").await;
            } else {
                reply(socket, "200 OK", &[], b"reached").await;
            }
        }
    })
    .await;
    let port = addr.port();
    let loopback = guarded(&["127.0.0.0/8", "::1/128"]);
    for url in [
        format!("http://127.0.0.1:{port}/x"),
        format!("http://localhost:{port}/x"),
    ] {
        let error = loopback.send(named(url.clone())).await.err().expect("refused");
        assert!(
            matches!(error, PortError::Refused(ref m) if m.contains("upstream_deny_networks")),
            "{url}: {error:?}"
        );
    }
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "never connected"
    );
    // The same host as configured (not named by upstream content) is not restricted.
    let response = loopback.send(get(format!("http://127.0.0.1:{port}/x"))).await.unwrap();
    assert_eq!(body_of(response).await.unwrap(), b"reached");

    // A redirect to a denied address is refused too.
    let only_two = guarded(&["127.0.0.2/32"]);
    let error = only_two
        .send(named(format!("http://127.0.0.1:{port}/to-denied")))
        .await
        .err()
        .expect("redirect refused");
    assert!(matches!(error, PortError::Refused(_)), "{error:?}");
    let response = only_two
        .send(named(format!("http://localhost:{port}/x")))
        .await
        .unwrap();
    assert_eq!(
        body_of(response).await.unwrap(),
        b"reached",
        "allowed names resolve as usual"
    );
}
