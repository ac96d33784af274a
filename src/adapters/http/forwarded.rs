//! The origin (`scheme://host`) a client addressed, for absolute links. `X-Forwarded-Host` and
//! `X-Forwarded-Proto` are believed only from `trusted_proxies` peers: anyone else could make
//! this server hand out links to a host of their choosing. Otherwise the `Host` header and the
//! connection's own scheme (https when serving TLS) decide.
use ipnet::IpNet;
use poem::Request;
use poem::http::uri::Scheme;
use poem::web::RemoteAddr;
use std::net::IpAddr;

/// The peers whose forwarding headers are believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(ranges: Vec<IpNet>) -> Self {
        Self(ranges)
    }

    fn trusts(&self, peer: &RemoteAddr) -> bool {
        let Some(addr) = peer.as_socket_addr() else {
            return false;
        };
        let ip = match addr.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        self.0.iter().any(|range| range.contains(&ip))
    }
}

/// `scheme://host` as the client addressed us; `None` when the host is missing or holds odd
/// characters.
pub(crate) fn client_origin(req: &Request, trusted: &TrustedProxies) -> Option<String> {
    let get = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok());
    let forwarded = trusted.trusts(req.remote_addr());
    let forwarded_host = forwarded.then(|| get("x-forwarded-host")).flatten();
    // HTTP/2 clients send `:authority`, which arrives as the URI's authority, not as `Host`.
    let host = forwarded_host
        .or_else(|| get(poem::http::header::HOST.as_str()))
        .or_else(|| req.uri().authority().map(|a| a.as_str()))?;
    let valid = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    if !valid {
        return None;
    }
    let scheme = match forwarded.then(|| get("x-forwarded-proto")).flatten() {
        Some("https") => "https",
        Some("http") => "http",
        _ if *req.scheme() == Scheme::HTTPS => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, scheme: Scheme, headers: &[(&str, &str)]) -> Request {
        request_to("/x", peer, scheme, headers)
    }

    fn request_to(uri: &str, peer: &str, scheme: Scheme, headers: &[(&str, &str)]) -> Request {
        let mut builder = poem::http::Request::builder().uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let (parts, ()) = builder.body(()).unwrap().into_parts();
        let addr: std::net::SocketAddr = peer.parse().unwrap();
        let parts = poem::RequestParts::from((parts, Default::default(), RemoteAddr(addr.into()), scheme));
        Request::from_parts(parts, poem::Body::empty())
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_peers() {
        let trusted = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]);
        let forwarded = [
            ("host", "internal:8000"),
            ("x-forwarded-host", "repo.example.internal"),
            ("x-forwarded-proto", "https"),
        ];
        let table = [
            (
                "10.1.2.3:5000",
                Scheme::HTTP,
                &forwarded[..],
                "https://repo.example.internal",
            ),
            (
                "[::ffff:10.1.2.3]:5000",
                Scheme::HTTP,
                &forwarded[..],
                "https://repo.example.internal",
            ),
            (
                "[::1]:5000",
                Scheme::HTTP,
                &forwarded[..],
                "https://repo.example.internal",
            ),
            ("203.0.113.7:5000", Scheme::HTTP, &forwarded[..], "http://internal:8000"),
            (
                "203.0.113.7:5000",
                Scheme::HTTPS,
                &forwarded[..],
                "https://internal:8000",
            ),
            ("10.1.2.3:5000", Scheme::HTTPS, &[("host", "a:1")][..], "https://a:1"),
            (
                "10.1.2.3:5000",
                Scheme::HTTPS,
                &[("host", "a:1"), ("x-forwarded-proto", "http")][..],
                "http://a:1",
            ),
        ];
        for (peer, scheme, headers, expected) in table {
            let req = request(peer, scheme, headers);
            assert_eq!(
                client_origin(&req, &trusted).as_deref(),
                Some(expected),
                "{peer} {headers:?}"
            );
        }
        let h2 = request_to("https://repo.internal:8443/x", "203.0.113.7:5000", Scheme::HTTPS, &[]);
        assert_eq!(
            client_origin(&h2, &trusted).as_deref(),
            Some("https://repo.internal:8443")
        );
        let odd = request("10.1.2.3:5000", Scheme::HTTP, &[("host", "a/b")]);
        assert_eq!(client_origin(&odd, &trusted), None);
        let nobody = TrustedProxies::default();
        let req = request("10.1.2.3:5000", Scheme::HTTP, &forwarded);
        assert_eq!(client_origin(&req, &nobody).as_deref(), Some("http://internal:8000"));
    }
}
