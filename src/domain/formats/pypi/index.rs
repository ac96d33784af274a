//! Index pages of a hosted PyPI repository, rendered from its package records: PEP 503 HTML and
//! PEP 691 JSON (with PEP 700 `versions`, `size` and `upload-time`), `#sha256=` fragments,
//! PEP 658/714 core metadata, PEP 592 yanks and `requires-python`.
use serde_json::{Value, json};

use super::JSON_TYPE;
use super::hosted::normalize;
use crate::domain::package::PackageRecord;

pub const HTML_TYPE: &str = "application/vnd.pypi.simple.v1+html";
pub const API_VERSION: &str = "1.1";

/// Which representation of a page the client gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Representation {
    Json,
    /// PEP 691's HTML type, when the client asked for it by name.
    Html,
    /// Plain `text/html`, for clients that negotiate nothing.
    LegacyHtml,
}

impl Representation {
    /// Picks the representation from `Accept` by quality (PEP 691); JSON wins ties.
    pub fn negotiate(accept: Option<&str>) -> Representation {
        let Some(accept) = accept else {
            return Representation::LegacyHtml;
        };
        let mut best = (Representation::LegacyHtml, -1.0f32);
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let repr = match media.as_str() {
                JSON_TYPE => Representation::Json,
                HTML_TYPE => Representation::Html,
                "text/html" | "*/*" => Representation::LegacyHtml,
                _ => continue,
            };
            let better = q > best.1 || (q == best.1 && repr == Representation::Json);
            if q > 0.0 && better {
                best = (repr, q);
            }
        }
        best.0
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Representation::Json => JSON_TYPE,
            Representation::Html => HTML_TYPE,
            Representation::LegacyHtml => "text/html; charset=utf-8",
        }
    }
}

/// What a path of the simple API names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexPage {
    /// `simple/`: every project.
    Root,
    /// `simple/{name}/`, the name as the client spelled it.
    Project(String),
}

impl IndexPage {
    /// `None` for paths outside `simple/`.
    pub fn of(path: &str) -> Option<IndexPage> {
        let rest = path.strip_prefix("simple")?;
        let rest = match rest {
            "" | "/" => return Some(IndexPage::Root),
            r => r.strip_prefix('/')?,
        };
        let name = rest.strip_suffix('/').unwrap_or(rest);
        (!name.is_empty() && !name.contains('/')).then(|| IndexPage::Project(name.to_string()))
    }

    /// The canonical path of this page (normalised name, trailing slash); a request for another
    /// spelling is redirected there, so relative links resolve the same way.
    pub fn canonical_path(&self) -> String {
        match self {
            IndexPage::Root => "simple/".to_string(),
            IndexPage::Project(name) => format!("simple/{}/", normalize(name)),
        }
    }
}

/// The repository path of a hosted distribution file.
pub fn file_path(name: &str, filename: &str) -> String {
    format!("packages/{}/{filename}", normalize(name))
}

/// The PEP 658 metadata file of a distribution file.
pub fn metadata_path(path: &str) -> String {
    format!("{path}.metadata")
}

/// The format metadata a record keeps.
pub fn record_meta(requires_python: Option<&str>, core_metadata: Option<&str>, filetype: &str) -> Value {
    json!({
        "requires_python": requires_python,
        "core_metadata": core_metadata,
        "filetype": filetype,
        "yanked": Value::Null,
    })
}

/// One file as an index lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexFile {
    pub filename: String,
    /// Relative to the project page (or absolute), without fragment.
    pub url: String,
    pub sha256: Option<String>,
    pub requires_python: Option<String>,
    /// The sha256 of the PEP 658 metadata file, when there is one.
    pub core_metadata: Option<String>,
    /// `Some("")` yanked without a reason.
    pub yanked: Option<String>,
    pub size: Option<u64>,
    pub upload_time: Option<String>,
    pub version: Option<String>,
}

impl IndexFile {
    pub fn from_record(record: &PackageRecord) -> IndexFile {
        let text = |key: &str| record.meta.get(key).and_then(Value::as_str).map(str::to_string);
        let yanked = match record.meta.get("yanked") {
            Some(Value::String(reason)) => Some(reason.clone()),
            Some(Value::Bool(true)) => Some(String::new()),
            _ => None,
        };
        IndexFile {
            filename: record.filename.clone(),
            url: format!("../../{}", record.path),
            sha256: Some(record.digest.hex().to_string()),
            requires_python: text("requires_python"),
            core_metadata: text("core_metadata"),
            yanked,
            size: Some(record.size),
            upload_time: Some(record.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
            version: Some(record.version.clone()),
        }
    }
}

/// A project page's content, independent of representation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProjectPage {
    pub name: String,
    pub versions: Vec<String>,
    pub files: Vec<IndexFile>,
}

impl ProjectPage {
    /// The page of `name` from its records, in upload order.
    pub fn from_records(name: &str, records: &[PackageRecord]) -> ProjectPage {
        let mut versions: Vec<String> = Vec::new();
        for r in records {
            if !versions.contains(&r.version) {
                versions.push(r.version.clone());
            }
        }
        ProjectPage {
            name: normalize(name),
            versions,
            files: records.iter().map(IndexFile::from_record).collect(),
        }
    }
}

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Renders a project page.
pub fn render_project(page: &ProjectPage, repr: Representation) -> Vec<u8> {
    match repr {
        Representation::Json => render_project_json(page),
        Representation::Html | Representation::LegacyHtml => render_project_html(page).into_bytes(),
    }
}

fn render_project_html(page: &ProjectPage) -> String {
    let name = html_escape(&page.name);
    let mut out = format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\n<title>Links for {name}</title>\n</head>\n<body>\n<h1>Links for {name}</h1>\n"
    );
    for file in &page.files {
        let mut href = file.url.clone();
        if let Some(sha) = &file.sha256 {
            href = format!("{href}#sha256={sha}");
        }
        let mut attrs = format!("href=\"{}\"", html_escape(&href));
        if let Some(rp) = &file.requires_python {
            attrs.push_str(&format!(" data-requires-python=\"{}\"", html_escape(rp)));
        }
        if let Some(sha) = &file.core_metadata {
            attrs.push_str(&format!(
                " data-dist-info-metadata=\"sha256={sha}\" data-core-metadata=\"sha256={sha}\""
            ));
        }
        if let Some(reason) = &file.yanked {
            attrs.push_str(&format!(" data-yanked=\"{}\"", html_escape(reason)));
        }
        out.push_str(&format!("<a {attrs}>{}</a><br/>\n", html_escape(&file.filename)));
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn render_project_json(page: &ProjectPage) -> Vec<u8> {
    let files: Vec<Value> = page
        .files
        .iter()
        .map(|f| {
            let metadata = match &f.core_metadata {
                Some(sha) => json!({"sha256": sha}),
                None => Value::Bool(false),
            };
            let mut file = json!({
                "filename": f.filename,
                "url": f.url,
                "hashes": f.sha256.as_ref().map_or_else(|| json!({}), |sha| json!({"sha256": sha})),
                "requires-python": f.requires_python,
                "core-metadata": metadata,
                "dist-info-metadata": metadata,
                "yanked": f.yanked.as_ref().map_or(Value::Bool(false), |r| if r.is_empty() { Value::Bool(true) } else { Value::String(r.clone()) }),
            });
            if let Some(size) = f.size {
                file["size"] = json!(size);
            }
            if let Some(time) = &f.upload_time {
                file["upload-time"] = json!(time);
            }
            file
        })
        .collect();
    let doc = json!({
        "meta": {"api-version": API_VERSION},
        "name": page.name,
        "versions": page.versions,
        "files": files,
    });
    doc.to_string().into_bytes()
}

/// Renders the root page listing `projects` (normalised names).
pub fn render_root(projects: &[String], repr: Representation) -> Vec<u8> {
    match repr {
        Representation::Json => {
            let list: Vec<Value> = projects.iter().map(|p| json!({"name": p})).collect();
            json!({"meta": {"api-version": API_VERSION}, "projects": list})
                .to_string()
                .into_bytes()
        }
        Representation::Html | Representation::LegacyHtml => {
            let mut out = format!(
                "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"pypi:repository-version\" content=\"{API_VERSION}\">\n<title>Simple index</title>\n</head>\n<body>\n"
            );
            for p in projects {
                let p = html_escape(p);
                out.push_str(&format!("<a href=\"{p}/\">{p}</a><br/>\n"));
            }
            out.push_str("</body>\n</html>\n");
            out.into_bytes()
        }
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
