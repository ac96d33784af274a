//! The session cookie and the same-origin check that guards every form post (CSRF).
use poem::http::header;
use poem::{Request, Response};

const COOKIE: &str = "aa_session";

/// `scheme://host[:port]` of this server as the browser addressed it (forwarding headers count
/// only from `trusted_proxies`).
pub(super) fn origin(req: &Request) -> Option<String> {
    super::super::client_origin(req)
}

/// Whether the client reached us over TLS, directly or through a trusted reverse proxy.
fn is_https(req: &Request) -> bool {
    origin(req).is_some_and(|o| o.starts_with("https://"))
}

/// A state-changing post must come from our own pages: `Sec-Fetch-Site`, when the browser sends
/// it, must say `same-origin`, and `Origin` must name this server. A post with neither header is
/// refused too (every current browser sends `Origin` on a form post).
pub(super) fn same_origin(req: &Request) -> bool {
    let get = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site")
        && site != "same-origin"
    {
        return false;
    }
    match (get(header::ORIGIN.as_str()), origin(req)) {
        (Some(sent), Some(ours)) => sent.eq_ignore_ascii_case(&ours),
        (None, Some(_)) => get("sec-fetch-site") == Some("same-origin"),
        (_, None) => false,
    }
}

pub(super) fn cookie_value(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim_matches('"').to_string())
        .filter(|v| !v.is_empty())
}

fn attributes(req: &Request) -> &'static str {
    if is_https(req) {
        "Path=/ui; HttpOnly; SameSite=Strict; Secure"
    } else {
        "Path=/ui; HttpOnly; SameSite=Strict"
    }
}

pub(super) fn set_cookie(req: &Request, response: &mut Response, value: &str, max_age: i64) {
    let cookie = format!("{COOKIE}={value}; Max-Age={max_age}; {}", attributes(req));
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub(super) fn clear_cookie(req: &Request, response: &mut Response) {
    let cookie = format!("{COOKIE}=; Max-Age=0; {}", attributes(req));
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Where to go after logging in: only a path inside the UI (never another site).
pub(super) fn safe_next(next: &str) -> String {
    let inside = next.starts_with("/ui") && !next.starts_with("//") && !next.contains('\\') && !next.contains("://");
    if inside {
        next.to_string()
    } else {
        "/ui/repositories".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder()
            .method(poem::http::Method::POST)
            .uri_str("/ui/tokens");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.finish()
    }

    #[test]
    fn csrf_table() {
        let table: &[(&[(&str, &str)], bool)] = &[
            (&[("host", "a.test:8000"), ("origin", "http://a.test:8000")], true),
            (
                &[
                    ("host", "a.test:8000"),
                    ("origin", "http://a.test:8000"),
                    ("sec-fetch-site", "same-origin"),
                ],
                true,
            ),
            (&[("host", "a.test:8000"), ("sec-fetch-site", "same-origin")], true),
            (&[("host", "a.test:8000"), ("origin", "http://evil.test")], false),
            (&[("host", "a.test:8000"), ("origin", "null")], false),
            (&[("host", "a.test:8000"), ("origin", "https://a.test:8000")], false),
            (
                &[
                    ("host", "a.test:8000"),
                    ("origin", "http://a.test:8000"),
                    ("sec-fetch-site", "cross-site"),
                ],
                false,
            ),
            (
                &[
                    ("host", "a.test:8000"),
                    ("origin", "http://a.test:8000"),
                    ("sec-fetch-site", "same-site"),
                ],
                false,
            ),
            (&[("host", "a.test:8000")], false),
            (&[("origin", "http://a.test:8000")], false),
            // Forwarding headers from a peer that is not a trusted proxy are not believed.
            (
                &[
                    ("host", "internal:8000"),
                    ("x-forwarded-host", "a.test"),
                    ("x-forwarded-proto", "https"),
                    ("origin", "https://a.test"),
                ],
                false,
            ),
        ];
        for (headers, expected) in table {
            assert_eq!(same_origin(&post(headers)), *expected, "{headers:?}");
        }
    }

    #[test]
    fn cookies_are_found_and_flagged() {
        let req = post(&[("cookie", "a=1; aa_session=aas.xyz; b=2")]);
        assert_eq!(cookie_value(&req).as_deref(), Some("aas.xyz"));
        assert_eq!(cookie_value(&post(&[("cookie", "aa_session=")])), None);
        let (parts, ()) = poem::http::Request::builder()
            .uri("/ui/login")
            .header("host", "a.test")
            .body(())
            .unwrap()
            .into_parts();
        let addr: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
        let tls = Request::from_parts(
            poem::RequestParts::from((
                parts,
                Default::default(),
                poem::web::RemoteAddr(addr.into()),
                poem::http::uri::Scheme::HTTPS,
            )),
            poem::Body::empty(),
        );
        let mut response = Response::default();
        set_cookie(&tls, &mut response, "v", 60);
        let set = response.headers()[header::SET_COOKIE].to_str().unwrap();
        assert_eq!(
            set,
            "aa_session=v; Max-Age=60; Path=/ui; HttpOnly; SameSite=Strict; Secure"
        );
        // Plain HTTP, and a forwarded "https" from a peer that is not a trusted proxy.
        for plain in [
            post(&[("host", "a.test")]),
            post(&[("host", "a.test"), ("x-forwarded-proto", "https")]),
        ] {
            let mut response = Response::default();
            set_cookie(&plain, &mut response, "v", 60);
            assert!(
                !response.headers()[header::SET_COOKIE]
                    .to_str()
                    .unwrap()
                    .contains("Secure")
            );
        }
    }

    #[test]
    fn next_stays_inside_the_ui() {
        assert_eq!(safe_next("/ui/tokens?x=1"), "/ui/tokens?x=1");
        for bad in [
            "https://evil.test/ui",
            "//evil.test",
            "/api/v2/tokens",
            "",
            "/ui\\..\\x",
            "/ui@evil://x",
        ] {
            assert_eq!(safe_next(bad), "/ui/repositories", "{bad}");
        }
    }
}
