//! The TCP acceptor (and HTTPS on top of it): like poem's, but with `TCP_NODELAY` on every connection. Responses are
//! written as a head and then body chunks; with Nagle's algorithm on, a small response waits for
//! the client's delayed ACK (tens of milliseconds), which caps small-file throughput.
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

pub struct NoDelayAcceptor {
    listener: TcpListener,
    local: LocalAddr,
}

impl NoDelayAcceptor {
    pub async fn bind(addr: &str) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local = LocalAddr(listener.local_addr()?.into());
        Ok(Self { listener, local })
    }
}

impl Acceptor for NoDelayAcceptor {
    type Io = TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        vec![self.local.clone()]
    }

    async fn accept(&mut self) -> io::Result<(TcpStream, LocalAddr, RemoteAddr, Scheme)> {
        let (stream, peer) = self.listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok((stream, self.local.clone(), RemoteAddr(peer.into()), Scheme::HTTP))
    }
}

/// HTTPS on top of [`NoDelayAcceptor`] (so `TCP_NODELAY` holds under TLS too). The handshake
/// runs on the connection's own task, on its first read or write, so one slow client never
/// holds up the accept loop; it must finish within [`HANDSHAKE_TIMEOUT`].
pub struct TlsAcceptor {
    tcp: NoDelayAcceptor,
    tls: tokio_rustls::TlsAcceptor,
}

pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl TlsAcceptor {
    pub fn new(tcp: NoDelayAcceptor, config: Arc<rustls::ServerConfig>) -> Self {
        Self {
            tcp,
            tls: tokio_rustls::TlsAcceptor::from(config),
        }
    }
}

impl Acceptor for TlsAcceptor {
    type Io = TlsConnection;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.tcp.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(TlsConnection, LocalAddr, RemoteAddr, Scheme)> {
        let (stream, local, remote, _) = self.tcp.accept().await?;
        let handshake = Box::pin(tokio::time::timeout(HANDSHAKE_TIMEOUT, self.tls.accept(stream)));
        Ok((
            TlsConnection(State::Handshaking(handshake)),
            local,
            remote,
            Scheme::HTTPS,
        ))
    }
}

type Handshake = Pin<Box<tokio::time::Timeout<tokio_rustls::Accept<TcpStream>>>>;

/// A server-side TLS connection whose handshake completes on first use.
pub struct TlsConnection(State);

enum State {
    Handshaking(Handshake),
    Ready(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    Failed,
}

fn handshake_failed() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "TLS handshake failed")
}

impl TlsConnection {
    /// Drives the handshake; `Ready(Ok)` once the stream can carry data.
    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let State::Handshaking(handshake) = &mut self.0 {
            let outcome = match handshake.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(outcome) => outcome,
            };
            match outcome {
                Ok(Ok(stream)) => self.0 = State::Ready(Box::new(stream)),
                Ok(Err(e)) => {
                    self.0 = State::Failed;
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return Poll::Ready(Err(e));
                }
                Err(_) => {
                    self.0 = State::Failed;
                    tracing::debug!("TLS handshake timed out");
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")));
                }
            }
        }
        match self.0 {
            State::Ready(_) => Poll::Ready(Ok(())),
            State::Handshaking(_) | State::Failed => Poll::Ready(Err(handshake_failed())),
        }
    }

    fn stream(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<Pin<&mut tokio_rustls::server::TlsStream<TcpStream>>>> {
        match self.poll_handshake(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => match &mut self.0 {
                State::Ready(stream) => Poll::Ready(Ok(Pin::new(stream.as_mut()))),
                State::Handshaking(_) | State::Failed => Poll::Ready(Err(handshake_failed())),
            },
        }
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream(cx) {
            Poll::Ready(Ok(stream)) => stream.poll_read(cx, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut().stream(cx) {
            Poll::Ready(Ok(stream)) => stream.poll_write(cx, buf),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream(cx) {
            Poll::Ready(Ok(stream)) => stream.poll_write_vectored(cx, bufs),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream(cx) {
            Poll::Ready(Ok(stream)) => stream.poll_flush(cx),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.0 {
            State::Ready(stream) => Pin::new(stream.as_mut()).poll_shutdown(cx),
            // Nothing was sent over TLS yet: dropping the socket is the whole shutdown.
            State::Handshaking(_) | State::Failed => Poll::Ready(Ok(())),
        }
    }
}
