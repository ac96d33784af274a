//! Hosted Helm charts: what an uploaded chart archive must say about itself. A chart's identity
//! is the `name` and `version` of its `Chart.yaml` (read from the archive, never trusted from the
//! request); the version must be strict SemVer 2, as Helm itself requires, and a file name given
//! with the upload must be the `{name}-{version}.tgz` that `helm package` writes.
use serde_json::Value;

/// The largest `Chart.yaml` accepted (the archive reader stops there).
pub const MAX_CHART_YAML_BYTES: u64 = 1024 * 1024;

/// Longest chart name accepted (Helm's own limit on release-derived names is far below this).
const MAX_NAME_LEN: usize = 250;

/// The identity and metadata of an uploaded chart.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartMeta {
    pub name: String,
    pub version: String,
    /// `Chart.yaml` as JSON, copied into the index entry.
    pub metadata: Value,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChartError(pub String);

fn invalid(message: impl Into<String>) -> ChartError {
    ChartError(message.into())
}

/// A chart name that is one safe path segment: letters, digits, `.`, `_`, `-`, starting with a
/// letter or digit.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= MAX_NAME_LEN
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Parses and validates `Chart.yaml`.
pub fn parse_chart_yaml(text: &str) -> Result<ChartMeta, ChartError> {
    let metadata: Value =
        serde_yaml::from_str(text).map_err(|e| invalid(format!("Chart.yaml is not valid YAML: {e}")))?;
    if !metadata.is_object() {
        return Err(invalid("Chart.yaml is not a mapping"));
    }
    // Helm reads these fields as strings, so `version: 1.0` is the text "1.0".
    let field = |key: &str| match metadata.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    match field("apiVersion").as_deref() {
        Some("v1" | "v2") => {}
        Some(other) => return Err(invalid(format!("Chart.yaml apiVersion '{other:.40}' is not v1 or v2"))),
        None => return Err(invalid("Chart.yaml lacks apiVersion")),
    }
    let name = field("name").ok_or_else(|| invalid("Chart.yaml lacks name"))?;
    if !valid_name(&name) {
        return Err(invalid(format!(
            "chart name '{name:.80}' is not valid (letters, digits, '.', '_', '-')"
        )));
    }
    let version = field("version").ok_or_else(|| invalid("Chart.yaml lacks version"))?;
    if semver::Version::parse(&version).is_err() {
        return Err(invalid(format!("chart version '{version:.80}' is not valid SemVer 2")));
    }
    Ok(ChartMeta {
        name,
        version,
        metadata,
    })
}

/// The file name `helm package` gives a chart.
pub fn chart_filename(name: &str, version: &str) -> String {
    format!("{name}-{version}.tgz")
}

/// Where a chart is stored in its repository, and the relative URL the index gives it.
pub fn chart_path(name: &str, version: &str) -> String {
    format!("charts/{}", chart_filename(name, version))
}

/// The record key of a chart version: unique per name and version, whatever the file names.
pub fn record_key(name: &str, version: &str) -> String {
    format!("{name}/{version}")
}

/// Checks the file name of an upload before its body is read: a chart archive.
pub fn check_upload_name(filename: &str) -> Result<(), ChartError> {
    if filename.ends_with(".tgz") && filename.len() > 4 {
        Ok(())
    } else {
        Err(invalid(format!(
            "'{filename:.200}' is not a chart archive ({{name}}-{{version}}.tgz)"
        )))
    }
}

/// Checks that the file name given with an upload is the one its `Chart.yaml` implies.
pub fn check_filename(filename: &str, chart: &ChartMeta) -> Result<(), ChartError> {
    let expected = chart_filename(&chart.name, &chart.version);
    if filename == expected {
        Ok(())
    } else {
        Err(invalid(format!(
            "file name '{filename:.200}' does not match its Chart.yaml ({expected})"
        )))
    }
}

/// Whether an archive member is the chart's own `Chart.yaml` (`<chart dir>/Chart.yaml`; those of
/// subcharts sit deeper).
pub fn chart_yaml_member(member: &str) -> bool {
    let member = member.strip_prefix("./").unwrap_or(member);
    matches!(member.split_once('/'), Some((top, "Chart.yaml")) if !top.is_empty())
}

#[cfg(test)]
#[path = "hosted_tests.rs"]
mod tests;
