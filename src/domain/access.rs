//! Which upstream paths a remote may serve (DESIGN §6 step 1): the blocklist first, then the
//! allowlist (`patterns`; none = allow all). Mutable indexes are exempt from the allowlist so a
//! client can still list what exists, except for docker, where the exemption does not apply.
use regex::Regex;

use super::repository::RemoteSettings;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    Allow,
    Deny(String),
}

/// What the rules are matched against: the format's subject (docker: the image name) and the
/// full path; a pattern matching either counts.
pub struct AccessRequest<'a> {
    pub subject: &'a str,
    pub path: &'a str,
    /// A mutable index page that the allowlist does not restrict.
    pub exempt_index: bool,
    /// The docker tag a manifest path names, checked against `ban_tags`.
    pub tag: Option<&'a str>,
}

pub fn decide(settings: &RemoteSettings, request: &AccessRequest<'_>) -> Access {
    let matching = |patterns: &[String]| {
        patterns
            .iter()
            .filter_map(|p| Regex::new(p).ok().map(|r| (p, r)))
            .find(|(_, r)| r.is_match(request.subject) || r.is_match(request.path))
            .map(|(p, _)| p.clone())
    };
    if let Some(pattern) = matching(&settings.blocklist) {
        return Access::Deny(format!("blocked by blocklist pattern '{pattern}'"));
    }
    if let Some(tag) = request.tag
        && let Some(pattern) = settings
            .ban_tags
            .iter()
            .find(|p| Regex::new(p).is_ok_and(|r| r.is_match(tag)))
    {
        return Access::Deny(format!("tag '{tag}' is banned by pattern '{pattern}'"));
    }
    if settings.patterns.is_empty() || request.exempt_index || matching(&settings.patterns).is_some() {
        Access::Allow
    } else {
        Access::Deny("not matched by any allowlist pattern".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(patterns: &[&str], blocklist: &[&str]) -> RemoteSettings {
        RemoteSettings {
            base_url: "http://127.0.0.1:1".into(),
            username: None,
            password: None,
            mutable_ttl: 300,
            immutable_ttl: 0,
            patterns: patterns.iter().map(|s| s.to_string()).collect(),
            blocklist: blocklist.iter().map(|s| s.to_string()).collect(),
            mutable_patterns: vec![],
            immutable_patterns: vec![],
            ban_tags: vec![],
            offline: false,
            tls: Default::default(),
            max_bytes: None,
            unused_days: None,
        }
    }

    fn request<'a>(subject: &'a str, path: &'a str, exempt_index: bool) -> AccessRequest<'a> {
        AccessRequest {
            subject,
            path,
            exempt_index,
            tag: None,
        }
    }

    #[test]
    fn table() {
        let s = settings(&["^tools/", "^library/alpine$"], &["secret", r"\.exe$"]);
        let table = [
            (request("tools/a.tgz", "tools/a.tgz", false), true),
            (request("other/a.tgz", "other/a.tgz", false), false),
            (request("other/index", "other/index", true), true),
            (request("tools/secret.tgz", "tools/secret.tgz", false), false),
            (request("tools/setup.exe", "tools/setup.exe", true), false),
            (request("library/alpine", "library/alpine/manifests/3", false), true),
            (request("library/alpine2", "library/alpine2/manifests/3", false), false),
        ];
        for (req, allowed) in table {
            assert_eq!(decide(&s, &req) == Access::Allow, allowed, "{}", req.path);
        }
        assert_eq!(decide(&settings(&[], &[]), &request("x", "x", false)), Access::Allow);
        assert!(matches!(decide(&s, &request("a/secret", "a/secret", false)), Access::Deny(m) if m.contains("secret")));
    }

    #[test]
    fn banned_docker_tags() {
        let mut s = settings(&[], &[]);
        s.ban_tags = vec!["^latest$".into(), "-rc".into()];
        let tagged = |tag| AccessRequest {
            subject: "library/alpine",
            path: "library/alpine/manifests/x",
            exempt_index: false,
            tag: Some(tag),
        };
        assert!(matches!(decide(&s, &tagged("latest")), Access::Deny(m) if m.contains("latest")));
        assert!(matches!(decide(&s, &tagged("3.20-rc1")), Access::Deny(_)));
        assert_eq!(decide(&s, &tagged("3.20")), Access::Allow);
        assert_eq!(
            decide(&s, &request("library/alpine", "library/alpine/blobs/x", false)),
            Access::Allow
        );
    }
}
