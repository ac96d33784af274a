//! `artifactapi_virtual`: an ordered group of members of one package type behind one URL.
//! `name` and `package` force a new repository; `members` (order matters: the first member that
//! has a path wins) and `dependency_confusion_guard` change in place. Left out, they plan the
//! server's defaults (no members; the guard on), so a change outside Terraform is drift.
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType};
use tf_provider::value::{Value, ValueBool, ValueString};
use tf_provider::{AttributePath, Diagnostics, map};

use crate::provider::PACKAGES;
use crate::repository::RepositoryKind;
use crate::values::{Strings, attribute, or_default, string, string_list, strings, text, texts};
use artifactapi_client::types::RepositoryView;

pub struct Virtual;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct VirtualState<'a> {
    pub id: ValueString<'a>,
    pub name: ValueString<'a>,
    pub package: ValueString<'a>,
    pub members: Strings<'a>,
    pub dependency_confusion_guard: ValueBool,
}

impl RepositoryKind for Virtual {
    type State<'a> = VirtualState<'a>;
    type Sent = ();

    fn kind(&self) -> &'static str {
        "virtual"
    }

    fn package(&self) -> Option<&'static str> {
        None
    }

    fn package_of(&self, planned: &Self::State<'_>) -> Option<String> {
        text(&planned.package).map(str::to_string)
    }

    fn description(&self) -> String {
        "A virtual repository: members of one package type behind one URL".into()
    }

    fn attributes(&self) -> HashMap<String, Attribute> {
        use AttributeConstraint::{Computed, OptionalComputed, Required};
        map! {
            "id" => attribute(AttributeType::String, "The repository name", Computed),
            "name" => attribute(AttributeType::String, "Repository name ([a-z0-9][a-z0-9._-]{0,63}); a change replaces the repository", Required),
            "package" => attribute(AttributeType::String, "Package type of the members (generic, docker, helm, pypi, npm, rpm, alpine, puppet, terraform, goproxy); a change replaces the repository", Required),
            "members" => attribute(string_list(), "Member repository names, in the order they are asked (the first that has a path wins)", OptionalComputed),
            "dependency_confusion_guard" => attribute(AttributeType::Bool, "A package name a local member holds is never asked of a remote member (default true)", OptionalComputed),
        }
    }

    fn validate(&self, diags: &mut Diagnostics, config: &Self::State<'_>) {
        if let Some(package) = text(&config.package)
            && !PACKAGES.contains(&package)
        {
            diags.error_short(
                format!(
                    "unknown package type '{package}' (expected one of: {})",
                    PACKAGES.join(", ")
                ),
                AttributePath::new("package"),
            );
        }
    }

    fn name<'s>(&self, state: &'s Self::State<'_>) -> &'s str {
        text(&state.name).unwrap_or("")
    }

    fn replaced_by<'a>(&self, prior: &Self::State<'a>, proposed: &Self::State<'a>) -> Vec<AttributePath> {
        let mut replace = Vec::new();
        if proposed.name != prior.name {
            replace.push(AttributePath::new("name"));
        }
        if proposed.package != prior.package {
            replace.push(AttributePath::new("package"));
        }
        replace
    }

    fn state_of<'a>(&self, view: RepositoryView, _prior: &Self::State<'a>) -> Self::State<'a> {
        VirtualState {
            id: string(view.name.clone()),
            name: string(view.name),
            package: string(view.package),
            members: strings(view.members),
            dependency_confusion_guard: Value::Value(view.dependency_confusion_guard.unwrap_or(true)),
        }
    }

    fn plan<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: &Self::State<'a>,
        _prior: Option<&Self::State<'a>>,
    ) -> Option<Self::State<'a>> {
        let mut s = proposed;
        s.id = s.name.clone();
        s.members = or_default(&config.members, Vec::new());
        s.dependency_confusion_guard = or_default(&config.dependency_confusion_guard, true);
        Some(s)
    }

    fn body(&self, _diags: &mut Diagnostics, planned: &Self::State<'_>) -> Option<(serde_json::Value, ())> {
        let body = json!({
            "members": texts(&planned.members).unwrap_or_default(),
            "dependency_confusion_guard": planned.dependency_confusion_guard.as_ref_option(),
        });
        Some((body, ()))
    }
}
