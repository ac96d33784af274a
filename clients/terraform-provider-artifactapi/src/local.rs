//! `artifactapi_local_<package>`: a local repository. `name` forces a new repository when it
//! changes; `allow_overwrite` changes in place (left out, it plans the default, false, so a
//! change made outside Terraform shows as drift either way).
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType};
use tf_provider::value::{Value, ValueBool, ValueString};
use tf_provider::{AttributePath, Diagnostics, map};

use crate::repository::RepositoryKind;
use crate::values::{attribute, or_default, string, text};
use artifactapi_client::types::RepositoryView;

pub struct Local {
    package: &'static str,
}

impl Local {
    pub fn new(package: &'static str) -> Self {
        Self { package }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct LocalState<'a> {
    pub id: ValueString<'a>,
    pub name: ValueString<'a>,
    pub allow_overwrite: ValueBool,
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
        use AttributeConstraint::{Computed, OptionalComputed, Required};
        map! {
            "id" => attribute(AttributeType::String, "The repository name", Computed),
            "name" => attribute(AttributeType::String, "Repository name ([a-z0-9][a-z0-9._-]{0,63}); a change replaces the repository", Required),
            "allow_overwrite" => attribute(AttributeType::Bool, "Whether an upload may replace an existing path (default false, also when left out)", OptionalComputed),
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
        LocalState {
            id: string(view.name.clone()),
            name: string(view.name),
            allow_overwrite: Value::Value(view.allow_overwrite.unwrap_or(false)),
        }
    }

    fn plan<'a>(
        &self,
        _diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: &Self::State<'a>,
        _prior: Option<&Self::State<'a>>,
    ) -> Option<Self::State<'a>> {
        let mut state = proposed;
        state.id = state.name.clone();
        state.allow_overwrite = or_default(&config.allow_overwrite, false);
        Some(state)
    }

    fn body(&self, _diags: &mut Diagnostics, planned: &Self::State<'_>) -> Option<(serde_json::Value, ())> {
        let body = serde_json::json!({"allow_overwrite": planned.allow_overwrite.as_ref_option()});
        Some((body, ()))
    }
}
