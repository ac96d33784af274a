//! One module per package type (DESIGN §3, `Format`): how its paths are classified, where they
//! live upstream, what access patterns match, and how its indexes are rewritten so that clients
//! download every file through this remote.
pub mod alpine;
pub mod docker;
pub mod generic;
pub mod goproxy;
pub mod helm;
pub mod links;
pub mod npm;
pub mod puppet;
pub mod pypi;
pub mod rpm;
pub mod terraform;

use super::cache_policy::CacheClass;
use super::repository::PackageType;
use links::{ExternalFile, LinkError, LinkSigner};

/// What rewriting an index needs to know.
pub struct IndexContext<'a> {
    pub repo: &'a str,
    /// The remote's `base_url`: links under it map back onto repository paths.
    pub base_url: &'a str,
    /// The absolute upstream URL of the page (relative links resolve against it).
    pub page_url: &'a str,
    /// The page's repository path (links are written relative to it).
    pub page_path: &'a str,
    /// The absolute URL of this remote as the client sees it, for formats whose clients need
    /// absolute links (npm `dist.tarball`).
    pub public_base: Option<&'a str>,
    pub signer: &'a LinkSigner,
}

/// Largest index we buffer to rewrite (DESIGN §9).
pub const MAX_INDEX_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error("index is larger than {MAX_INDEX_BYTES} bytes")]
    TooLarge,
    #[error("index is not valid: {0}")]
    Invalid(String),
}

pub trait Format: Send + Sync {
    /// Mutable (an index that changes) or immutable (a published file).
    fn classify(&self, path: &str) -> CacheClass;
    /// The upstream URL of `path` under `base` (no trailing slash).
    fn upstream_url(&self, base: &str, path: &str) -> String;
    /// What allow/block patterns match besides the path (docker: the image name).
    fn pattern_subject<'a>(&self, path: &'a str) -> &'a str;
    /// True for mutable index pages the allowlist does not restrict.
    fn is_exempt_index(&self, path: &str) -> bool;

    /// Where `path` is fetched from: signed `_files/` links (from a rewritten index) resolve to
    /// their original host and promised digest; everything else lives under `base`.
    fn locate(&self, base: &str, repo: &str, path: &str, signer: &LinkSigner) -> Result<ExternalFile, LinkError> {
        if path.starts_with(links::PREFIX) {
            signer.resolve(repo, path)
        } else {
            Ok(ExternalFile {
                url: self.upstream_url(base, path),
                ..ExternalFile::default()
            })
        }
    }

    /// A cache variant for content negotiation (e.g. PEP 691 JSON vs HTML, npm abbreviated
    /// packuments), from `Accept` and, for formats whose indexes hold absolute links, the public
    /// base URL the client used.
    fn variant(&self, _path: &str, _accept: Option<&str>, _public_base: Option<&str>) -> Option<String> {
        None
    }

    /// The query string to forward upstream and key the cache on, canonical (sorted) so that
    /// equivalent requests share one entry; `None` drops it (most formats have none).
    fn query(&self, _path: &str, _query: Option<&str>) -> Option<String> {
        None
    }

    /// The tag a path names (docker manifests by tag), for `ban_tags`.
    fn tag_of<'a>(&self, _path: &'a str) -> Option<&'a str> {
        None
    }

    /// Whether the remote's credentials go upfront as Basic auth. Docker registries instead
    /// challenge first and take credentials only at their token realm (or after a Basic
    /// challenge).
    fn preemptive_basic(&self) -> bool {
        true
    }

    /// True when the client's `Accept` must reach the upstream even without a cache variant
    /// (docker manifests by digest).
    fn forwards_accept(&self, _path: &str) -> bool {
        false
    }

    /// True when a miss is served only once stored (small bodies whose digest the response
    /// must name, such as docker manifests), never streamed while fetching.
    fn buffered(&self, _path: &str) -> bool {
        false
    }

    /// Another path under which the body fetched for `path` is also valid (a docker tag
    /// manifest is also its digest manifest).
    fn alias(&self, _path: &str, _digest: &super::digest::Digest) -> Option<String> {
        None
    }

    /// True when the body at `path` is an index whose links must be rewritten.
    fn rewrites(&self, _path: &str) -> bool {
        false
    }

    fn rewrite_index(
        &self,
        body: &[u8],
        _content_type: Option<&str>,
        _ctx: &IndexContext<'_>,
    ) -> Result<Vec<u8>, RewriteError> {
        Ok(body.to_vec())
    }
}

/// The format of a package type, when its remote support exists.
pub fn for_package(package: PackageType) -> Option<&'static dyn Format> {
    match package {
        PackageType::Generic => Some(&generic::Generic),
        PackageType::Pypi => Some(&pypi::Pypi),
        PackageType::Npm => Some(&npm::Npm),
        PackageType::Goproxy => Some(&goproxy::Goproxy),
        PackageType::Helm => Some(&helm::Helm),
        PackageType::Rpm => Some(&rpm::Rpm),
        PackageType::Alpine => Some(&alpine::Alpine),
        PackageType::Terraform => Some(&terraform::Terraform),
        PackageType::Docker => Some(&docker::Docker),
        PackageType::Puppet => Some(&puppet::Puppet),
    }
}

/// Rewrites one link found in an index: a link that promises a `#sha256=` digest, or points to
/// another host, becomes a signed `_files/` link carrying the digest (so the download is verified
/// whatever its host); other links under `base_url` become repository paths. Both are relative to
/// the page, fragment kept. Anything else (mailto:, unparsable) is left alone.
pub fn rewrite_link(href: &str, ctx: &IndexContext<'_>) -> String {
    let Ok(page) = url::Url::parse(ctx.page_url) else {
        return href.to_string();
    };
    let Ok(mut target) = page.join(href) else {
        return href.to_string();
    };
    if !matches!(target.scheme(), "http" | "https") {
        return href.to_string();
    }
    let fragment = target.fragment().map(str::to_string);
    target.set_fragment(None);
    let expected = fragment
        .as_deref()
        .and_then(|f| f.strip_prefix("sha256="))
        .and_then(|hex| super::digest::Digest::from_sha256_hex(hex).ok());
    let base = format!("{}/", ctx.base_url.trim_end_matches('/'));
    let repo_path = match target.as_str().strip_prefix(&base) {
        Some(local) if expected.is_none() => local.to_string(),
        _ => ctx
            .signer
            .link(ctx.repo, &target, &links::sha_segment(expected.as_ref(), None)),
    };
    let up = "../".repeat(ctx.page_path.matches('/').count());
    match fragment {
        Some(f) => format!("{up}{repo_path}#{f}"),
        None => format!("{up}{repo_path}"),
    }
}
