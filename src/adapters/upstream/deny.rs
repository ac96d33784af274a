//! `upstream_deny_networks` for hosts that upstream content names (index links, token realms):
//! such a host may not be, or resolve to, a denied address. Literal IPs are checked before
//! connecting; names are resolved here and the denied addresses dropped, so the check holds for
//! the address actually connected to (no DNS rebinding between check and connect); redirects
//! are checked the same way.
use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Why a request was refused; found again in reqwest's error chain.
#[derive(Debug)]
pub struct DeniedHost(pub String);

impl std::fmt::Display for DeniedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DeniedHost {}

#[derive(Clone, Debug, Default)]
pub struct DenyList {
    networks: Arc<Vec<IpNet>>,
}

impl DenyList {
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self {
            networks: Arc::new(networks),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    /// IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
    pub fn denies(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|n| n.contains(&ip))
    }

    /// A literal IP host of `url` that is denied.
    pub fn check_literal(&self, url: &url::Url) -> Result<(), DeniedHost> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => return Ok(()),
        };
        if self.denies(ip) {
            return Err(refusal(&ip.to_string(), ip));
        }
        Ok(())
    }
}

fn refusal(host: &str, ip: IpAddr) -> DeniedHost {
    DeniedHost(format!(
        "host {host} ({ip}) named by upstream content is in upstream_deny_networks"
    ))
}

/// Resolves with the system resolver and keeps only allowed addresses.
pub struct GuardedResolver {
    pub deny: DenyList,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let deny = self.deny.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.iter().copied().filter(|a| !deny.denies(a.ip())).collect();
            match (allowed.is_empty(), found.first()) {
                (true, Some(first)) => {
                    Err(Box::new(refusal(&host, first.ip())) as Box<dyn std::error::Error + Send + Sync>)
                }
                _ => Ok(Box::new(allowed.into_iter()) as Addrs),
            }
        })
    }
}

/// Follows redirects (at most `max`) to hosts that are not denied literal IPs (named hosts go
/// through the guarded resolver).
pub fn redirect_policy(deny: DenyList, max: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= max {
            return attempt.error("too many redirects");
        }
        match deny.check_literal(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(denied) => attempt.error(denied),
        }
    })
}

/// The refusal somewhere in `e`'s causes, if that is why it failed.
pub fn denied_in(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cause {
        if let Some(denied) = err.downcast_ref::<DeniedHost>() {
            return Some(denied.0.clone());
        }
        cause = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denies_listed_networks_and_mapped_addresses() {
        let deny = DenyList::new(vec!["127.0.0.0/8".parse().unwrap(), "fe80::/10".parse().unwrap()]);
        assert!(deny.denies("127.0.0.2".parse().unwrap()));
        assert!(deny.denies("::ffff:127.0.0.1".parse().unwrap()));
        assert!(deny.denies("fe80::1".parse().unwrap()));
        assert!(!deny.denies("10.0.0.1".parse().unwrap()));
        let literal = |u: &str| deny.check_literal(&url::Url::parse(u).unwrap()).is_err();
        assert!(literal("http://127.0.0.1:5432/x"));
        assert!(literal("http://[::ffff:127.0.0.1]/x"));
        assert!(!literal("http://localhost/x"), "names are checked when resolved");
        assert!(!literal("http://192.0.2.1/x"));
    }

    #[tokio::test]
    async fn the_resolver_drops_denied_addresses() {
        let resolver = GuardedResolver {
            deny: DenyList::new(vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()]),
        };
        let name: Name = "localhost".parse().unwrap();
        let err = resolver.resolve(name).await.err().unwrap();
        assert!(denied_in(err.as_ref()).is_some(), "{err}");
    }
}
