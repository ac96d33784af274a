//! Virtual PyPI repositories: the members' simple pages merged into one. Members come in
//! order; the root is the union of their project names; a project page is the union of their
//! files, the first member winning on a file name. Every link points back through the virtual as
//! `_member/{member}/{project}/{member path}`, so the member that serves a file is named by its
//! link (a remote member's signed `_files/` link stays signed and digest-checked), and the
//! project a file belongs to is known when the dependency-confusion guard decides who may serve
//! it. Member pages are read in either representation (PEP 691 JSON or PEP 503 HTML).
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

use super::hosted::{normalize, parse_filename};
use super::index::{IndexFile, ProjectPage};

/// The prefix of links to a member's files.
pub const MEMBER_PREFIX: &str = "_member/";

/// Largest member page parsed (a remote's page is already bounded by the remote).
pub const MAX_MEMBER_PAGE: usize = super::super::MAX_INDEX_BYTES;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("member page is not valid: {0}")]
    Invalid(String),
}

/// What a member's project page holds, its links relative to that member's `simple/{name}/`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemberPage {
    pub versions: Vec<String>,
    pub files: Vec<IndexFile>,
}

impl From<ProjectPage> for MemberPage {
    fn from(page: ProjectPage) -> Self {
        MemberPage {
            versions: page.versions,
            files: page.files,
        }
    }
}

/// A merged project page and the members whose files it lists, in member order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MergedPage {
    pub page: ProjectPage,
    pub contributors: Vec<String>,
}

/// Merges the pages of `project` from `members` (in member order): first member wins on a file
/// name; versions are the union, in first-seen order. Files whose links cannot be routed back to
/// their member (absolute links a remote left alone) are dropped.
pub fn merge_project(project: &str, members: Vec<(String, MemberPage)>) -> MergedPage {
    let name = normalize(project);
    let mut merged = MergedPage {
        page: ProjectPage {
            name: name.clone(),
            ..ProjectPage::default()
        },
        contributors: Vec::new(),
    };
    for (member, page) in members {
        let mut contributed = false;
        for mut file in page.files {
            if merged.page.files.iter().any(|f| f.filename == file.filename) {
                continue;
            }
            let Some(path) = member_path(&name, &file.url) else {
                continue;
            };
            file.url = format!("../../{}", virtual_link(&member, &name, &path));
            merged.page.files.push(file);
            contributed = true;
        }
        for version in page.versions {
            if !merged.page.versions.contains(&version) {
                merged.page.versions.push(version);
            }
        }
        if contributed && !merged.contributors.contains(&member) {
            merged.contributors.push(member);
        }
    }
    merged
}

/// The union of project names (normalised, sorted).
pub fn merge_root(members: Vec<Vec<String>>) -> Vec<String> {
    let mut names: Vec<String> = members.into_iter().flatten().map(|n| normalize(&n)).collect();
    names.sort();
    names.dedup();
    names
}

/// The virtual's path of a member's file: `_member/{member}/{project}/{member path}`.
pub fn virtual_link(member: &str, project: &str, member_path: &str) -> String {
    format!("{MEMBER_PREFIX}{member}/{project}/{member_path}")
}

/// The member repository path a page link names (the link is relative to the member's
/// `simple/{project}/`), percent-encoding kept; `None` for links outside the member.
pub fn member_path(project: &str, link: &str) -> Option<String> {
    let base = url::Url::parse(&format!("http://member.invalid/simple/{project}/")).ok()?;
    let mut resolved = base.join(link).ok()?;
    if resolved.host_str() != Some("member.invalid") || resolved.scheme() != "http" || resolved.port().is_some() {
        return None;
    }
    resolved.set_fragment(None);
    resolved.set_query(None);
    let path = resolved.path().trim_start_matches('/');
    (!path.is_empty()).then(|| path.to_string())
}

/// A request for a member's file through the virtual.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberFile {
    pub member: String,
    /// The normalised project the file belongs to.
    pub project: String,
    /// The path inside the member.
    pub path: String,
}

/// Parses a (decoded) virtual path `_member/{member}/{project}/{path}`. The file name must
/// belong to the project the link names (when it parses as a distribution file name), so a
/// hand-made link cannot move a file under another project's guard decision.
pub fn member_file(path: &str) -> Option<MemberFile> {
    let rest = path.strip_prefix(MEMBER_PREFIX)?;
    let mut parts = rest.splitn(3, '/');
    let (member, project, path) = (parts.next()?, parts.next()?, parts.next()?);
    if member.is_empty() || path.is_empty() || normalize(project) != project || project.is_empty() {
        return None;
    }
    let filename = path.rsplit('/').next().unwrap_or_default();
    let filename = filename.strip_suffix(".metadata").unwrap_or(filename);
    if let Ok(dist) = parse_filename(filename)
        && normalize(&dist.name) != project
    {
        return None;
    }
    Some(MemberFile {
        member: member.to_string(),
        project: project.to_string(),
        path: path.to_string(),
    })
}

/// Reads a member's project page in the representation it came in.
pub fn parse_project(body: &[u8], content_type: Option<&str>) -> Result<MemberPage, MergeError> {
    if body.len() > MAX_MEMBER_PAGE {
        return Err(MergeError::Invalid("page too large".into()));
    }
    if content_type.is_some_and(|t| t.contains("json")) {
        parse_project_json(body)
    } else {
        let html = std::str::from_utf8(body).map_err(|_| MergeError::Invalid("HTML page is not UTF-8".into()))?;
        Ok(parse_project_html(html))
    }
}

/// Reads a member's root page: its project names.
pub fn parse_root(body: &[u8], content_type: Option<&str>) -> Result<Vec<String>, MergeError> {
    if body.len() > MAX_MEMBER_PAGE {
        return Err(MergeError::Invalid("page too large".into()));
    }
    if content_type.is_some_and(|t| t.contains("json")) {
        let doc: Value = serde_json::from_slice(body).map_err(|e| MergeError::Invalid(e.to_string()))?;
        let projects = doc.get("projects").and_then(Value::as_array).into_iter().flatten();
        Ok(projects
            .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
            .collect())
    } else {
        let html = std::str::from_utf8(body).map_err(|_| MergeError::Invalid("HTML page is not UTF-8".into()))?;
        Ok(anchors(html).map(|a| html_unescape(a.text.trim())).collect())
    }
}

fn parse_project_json(body: &[u8]) -> Result<MemberPage, MergeError> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| MergeError::Invalid(e.to_string()))?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
    let mut page = MemberPage {
        versions: doc
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        files: Vec::new(),
    };
    for f in doc.get("files").and_then(Value::as_array).into_iter().flatten() {
        let (Some(filename), Some(url)) = (text(f, "filename"), text(f, "url")) else {
            continue;
        };
        // PEP 714 names it core-metadata; older pages only dist-info-metadata.
        let metadata = f.get("core-metadata").or_else(|| f.get("dist-info-metadata"));
        let yanked = match f.get("yanked") {
            Some(Value::Bool(true)) => Some(String::new()),
            Some(Value::String(reason)) => Some(reason.clone()),
            _ => None,
        };
        let (url, fragment_sha) = split_fragment(&url);
        page.files.push(IndexFile {
            filename,
            url,
            sha256: f
                .pointer("/hashes/sha256")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or(fragment_sha),
            requires_python: text(f, "requires-python"),
            core_metadata: metadata
                .and_then(|m| m.get("sha256"))
                .and_then(Value::as_str)
                .map(str::to_string),
            yanked,
            size: f.get("size").and_then(Value::as_u64),
            upload_time: text(f, "upload-time"),
            version: None,
        });
    }
    Ok(page)
}

/// `url#sha256=hex` into the URL and the hex.
fn split_fragment(href: &str) -> (String, Option<String>) {
    match href.split_once('#') {
        Some((url, fragment)) => (
            url.to_string(),
            fragment.strip_prefix("sha256=").map(str::to_ascii_lowercase),
        ),
        None => (href.to_string(), None),
    }
}

fn parse_project_html(html: &str) -> MemberPage {
    let mut page = MemberPage::default();
    for anchor in anchors(html) {
        let Some(href) = anchor.attr("href") else {
            continue;
        };
        let (url, sha256) = split_fragment(&href);
        let filename = html_unescape(anchor.text.trim());
        let filename = if filename.is_empty() {
            url.rsplit('/').next().unwrap_or_default().to_string()
        } else {
            filename
        };
        if filename.is_empty() {
            continue;
        }
        let metadata = anchor
            .attr("data-core-metadata")
            .or_else(|| anchor.attr("data-dist-info-metadata"));
        let version = parse_filename(&filename).ok().map(|d| d.version);
        if let Some(v) = &version
            && !page.versions.contains(v)
        {
            page.versions.push(v.clone());
        }
        page.files.push(IndexFile {
            filename,
            url,
            sha256,
            requires_python: anchor.attr("data-requires-python"),
            core_metadata: metadata.and_then(|m| m.strip_prefix("sha256=").map(str::to_string)),
            yanked: anchor.attr("data-yanked"),
            size: None,
            upload_time: None,
            version,
        });
    }
    page
}

struct Anchor<'a> {
    attrs: &'a str,
    text: &'a str,
}

impl Anchor<'_> {
    /// An attribute's unescaped value; `Some("")` for one present without a value.
    fn attr(&self, name: &str) -> Option<String> {
        let pattern = attr_pattern()?;
        pattern.captures_iter(self.attrs).find_map(|caps| {
            if !caps[1].eq_ignore_ascii_case(name) {
                return None;
            }
            let value = caps.get(2).or_else(|| caps.get(3)).or_else(|| caps.get(4));
            Some(html_unescape(value.map_or("", |m| m.as_str())))
        })
    }
}

fn anchor_pattern() -> Option<&'static Regex> {
    static ANCHOR: OnceLock<Option<Regex>> = OnceLock::new();
    ANCHOR
        .get_or_init(|| Regex::new(r"(?is)<a\s([^>]*)>(.*?)</a\s*>").ok())
        .as_ref()
}

fn attr_pattern() -> Option<&'static Regex> {
    static ATTR: OnceLock<Option<Regex>> = OnceLock::new();
    ATTR.get_or_init(|| Regex::new(r#"([A-Za-z][A-Za-z0-9_:.-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"#).ok())
        .as_ref()
}

fn anchors(html: &str) -> impl Iterator<Item = Anchor<'_>> {
    anchor_pattern().into_iter().flat_map(move |p| {
        p.captures_iter(html).filter_map(|caps| {
            Some(Anchor {
                attrs: caps.get(1)?.as_str(),
                text: caps.get(2)?.as_str(),
            })
        })
    })
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
