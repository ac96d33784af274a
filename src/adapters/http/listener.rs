//! The TCP acceptor: like poem's, but with `TCP_NODELAY` on every connection. Responses are
//! written as a head and then body chunks; with Nagle's algorithm on, a small response waits for
//! the client's delayed ACK (tens of milliseconds), which caps small-file throughput.
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use std::io;
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
