//! One module per package type (DESIGN §3, `Format`): how its paths are classified, where they
//! live upstream, and what access patterns match. Index rewriting and rendering come with each
//! format's remote and local support.
pub mod generic;

use super::cache_policy::CacheClass;
use super::repository::PackageType;

pub trait Format: Send + Sync {
    /// Mutable (an index that changes) or immutable (a published file).
    fn classify(&self, path: &str) -> CacheClass;
    /// The upstream URL of `path` under `base` (no trailing slash).
    fn upstream_url(&self, base: &str, path: &str) -> String;
    /// What allow/block patterns match besides the path (docker: the image name).
    fn pattern_subject<'a>(&self, path: &'a str) -> &'a str;
    /// True for mutable index pages the allowlist does not restrict.
    fn is_exempt_index(&self, path: &str) -> bool;
}

/// The format of a package type, when its remote support exists.
pub fn for_package(package: PackageType) -> Option<&'static dyn Format> {
    match package {
        PackageType::Generic => Some(&generic::Generic),
        PackageType::Docker
        | PackageType::Helm
        | PackageType::Pypi
        | PackageType::Npm
        | PackageType::Rpm
        | PackageType::Alpine
        | PackageType::Puppet
        | PackageType::Terraform
        | PackageType::Goproxy => None,
    }
}
