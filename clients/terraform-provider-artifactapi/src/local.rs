//! `artifactapi_local_<package>`: a local repository. `name` forces a new repository when it
//! changes; everything else changes in place. `allow_overwrite` left out plans the default
//! (false) and `quota_bytes` left out plans none, so a change made outside Terraform shows as
//! drift either way. Docker locals also carry the tag and manifest retention fields; the other
//! package types have no such attributes.
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType};
use tf_provider::value::{Value, ValueBool, ValueNumber, ValueString};
use tf_provider::{AttributePath, Diagnostics, map};

use crate::repository::RepositoryKind;
use crate::values::{
    Strings, attribute, check_unsigned, number, or_default, string, string_list, strings, text, texts, unsigned,
};
use artifactapi_client::types::RepositoryView;

pub struct Local {
    package: &'static str,
}

impl Local {
    pub fn new(package: &'static str) -> Self {
        Self { package }
    }

    fn docker(&self) -> bool {
        self.package == "docker"
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct LocalState<'a> {
    pub id: ValueString<'a>,
    pub name: ValueString<'a>,
    pub allow_overwrite: ValueBool,
    pub quota_bytes: ValueNumber,
    /// Docker only (`None` elsewhere, so the state has no such attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_last_tags: Option<ValueNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_tag_patterns: Option<Strings<'a>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untagged_manifest_days: Option<ValueNumber>,
}

/// A docker-only attribute as state: present (maybe null) on docker, absent elsewhere.
/// (A null read back from Terraform deserializes as `None`, so every state we answer is
/// rebuilt through this.)
fn docker_only<T>(docker: bool, value: Option<Value<T>>) -> Option<Value<T>> {
    docker.then(|| value.unwrap_or(Value::Null))
}

fn optional_number(n: Option<u64>) -> ValueNumber {
    n.map_or(Value::Null, number)
}

impl RepositoryKind for Local {
    type State<'a> = LocalState<'a>;
    type Sent = ();

    fn kind(&self) -> &'static str {
        "local"
    }

    fn package(&self) -> Option<&'static str> {
        Some(self.package)
    }

    fn package_of(&self, _planned: &Self::State<'_>) -> Option<String> {
        Some(self.package.to_string())
    }

    fn description(&self) -> String {
        format!("A local {} repository", self.package)
    }

    fn attributes(&self) -> HashMap<String, Attribute> {
        use AttributeConstraint::{Computed, Optional, OptionalComputed, Required};
        let mut a = map! {
            "id" => attribute(AttributeType::String, "The repository name", Computed),
            "name" => attribute(AttributeType::String, "Repository name ([a-z0-9][a-z0-9._-]{0,63}); a change replaces the repository", Required),
            "allow_overwrite" => attribute(AttributeType::Bool, "Whether an upload may replace an existing path (default false, also when left out)", OptionalComputed),
            "quota_bytes" => attribute(AttributeType::Number, "Bytes the repository may hold, distinct contents counted once; an upload that would go over is refused with 413 (left out: no quota)", Optional),
        };
        if self.docker() {
            a.insert(
                "keep_last_tags".into(),
                attribute(AttributeType::Number, "Each image keeps its this many most recently pushed tags (and those keep_tag_patterns match); retention deletes the others (left out: all kept)", Optional),
            );
            a.insert(
                "keep_tag_patterns".into(),
                attribute(
                    string_list(),
                    "Regexes of tags keep_last_tags never deletes (needs keep_last_tags)",
                    OptionalComputed,
                ),
            );
            a.insert(
                "untagged_manifest_days".into(),
                attribute(AttributeType::Number, "Manifests without a tag, neither pushed nor pulled by digest for this many days, are deleted by retention (left out: kept)", Optional),
            );
        }
        a
    }

    fn validate(&self, diags: &mut Diagnostics, config: &Self::State<'_>) {
        check_unsigned(diags, "quota_bytes", &config.quota_bytes);
        if let Some(n) = &config.keep_last_tags {
            check_unsigned(diags, "keep_last_tags", n);
        }
        if let Some(n) = &config.untagged_manifest_days {
            check_unsigned(diags, "untagged_manifest_days", n);
        }
    }

    fn name<'s>(&self, state: &'s Self::State<'_>) -> &'s str {
        text(&state.name).unwrap_or("")
    }

    fn replaced_by<'a>(&self, prior: &Self::State<'a>, proposed: &Self::State<'a>) -> Vec<AttributePath> {
        if proposed.name != prior.name {
            vec![AttributePath::new("name")]
        } else {
            Vec::new()
        }
    }

    fn state_of<'a>(&self, view: RepositoryView, _prior: &Self::State<'a>) -> Self::State<'a> {
        let docker = self.docker();
        LocalState {
            id: string(view.name.clone()),
            name: string(view.name),
            allow_overwrite: Value::Value(view.allow_overwrite.unwrap_or(false)),
            quota_bytes: optional_number(view.quota_bytes),
            keep_last_tags: docker.then(|| optional_number(view.keep_last_tags.map(u64::from))),
            keep_tag_patterns: docker.then(|| strings(view.keep_tag_patterns)),
            untagged_manifest_days: docker.then(|| optional_number(view.untagged_manifest_days.map(u64::from))),
        }
    }

    fn plan<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: &Self::State<'a>,
        _prior: Option<&Self::State<'a>>,
    ) -> Option<Self::State<'a>> {
        let docker = self.docker();
        let mut state = proposed;
        state.id = state.name.clone();
        state.allow_overwrite = or_default(&config.allow_overwrite, false);
        state.keep_last_tags = docker_only(docker, config.keep_last_tags);
        state.keep_tag_patterns =
            docker.then(|| or_default(config.keep_tag_patterns.as_ref().unwrap_or(&Value::Null), Vec::new()));
        state.untagged_manifest_days = docker_only(docker, config.untagged_manifest_days);
        Some(state)
    }

    /// Every field, `null` for those left out, so a line removed from the configuration clears
    /// the setting on the server (the update is a merge patch).
    fn body(&self, _diags: &mut Diagnostics, planned: &Self::State<'_>) -> Option<(serde_json::Value, ())> {
        let mut body = serde_json::json!({
            "allow_overwrite": planned.allow_overwrite.as_ref_option(),
            "quota_bytes": unsigned(&planned.quota_bytes),
        });
        if self.docker() {
            let none = Value::Null;
            body["keep_last_tags"] = serde_json::json!(unsigned(planned.keep_last_tags.as_ref().unwrap_or(&none)));
            body["keep_tag_patterns"] = serde_json::json!(
                planned
                    .keep_tag_patterns
                    .as_ref()
                    .and_then(texts)
                    .filter(|patterns| !patterns.is_empty())
            );
            body["untagged_manifest_days"] =
                serde_json::json!(unsigned(planned.untagged_manifest_days.as_ref().unwrap_or(&none)));
        }
        Some((body, ()))
    }
}

#[cfg(test)]
#[path = "local_tests.rs"]
mod tests;
