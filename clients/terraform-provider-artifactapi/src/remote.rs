//! `artifactapi_remote_<package>`: a remote (pull-through cache) repository, with every remote
//! field of the management API. `name` forces a new repository; everything else changes in
//! place with a merge patch. A field left out of the configuration plans the server's default,
//! so every field drifts when changed outside Terraform (the retention limits `max_bytes` and
//! `unused_days` plan none, and a removed line clears them). The password is never an attribute:
//! see `password.rs` (`password_env`, `password_hash`).
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use tf_provider::schema::{Attribute, AttributeConstraint, AttributeType};
use tf_provider::value::{Value, ValueBool, ValueNumber, ValueString};
use tf_provider::{AttributePath, Diagnostics};

use crate::password;
use crate::repository::RepositoryKind;
use crate::values::{
    Strings, attribute, check_unsigned, number, optional_string, or_default, string, string_list, strings, text, texts,
    unsigned,
};
use artifactapi_client::types::RepositoryView;

/// The server's defaults (DESIGN §3), planned for fields the configuration leaves out.
const DEFAULT_MUTABLE_TTL: i64 = 300;
const DEFAULT_IMMUTABLE_TTL: i64 = 0;

pub struct Remote {
    package: &'static str,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct RemoteState<'a> {
    pub id: ValueString<'a>,
    pub name: ValueString<'a>,
    pub base_url: ValueString<'a>,
    pub username: ValueString<'a>,
    pub password_env: ValueString<'a>,
    pub password_hash: ValueString<'a>,
    pub mutable_ttl: ValueNumber,
    pub immutable_ttl: ValueNumber,
    pub patterns: Strings<'a>,
    pub blocklist: Strings<'a>,
    pub mutable_patterns: Strings<'a>,
    pub immutable_patterns: Strings<'a>,
    /// Docker only: the other package types have no such attribute, and their state leaves it
    /// out (it is always null there).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub ban_tags: Strings<'a>,
    pub offline: ValueBool,
    pub ca_file: ValueString<'a>,
    pub tls_insecure_skip_verify: ValueBool,
    pub client_cert_file: ValueString<'a>,
    pub client_key_file: ValueString<'a>,
    pub max_bytes: ValueNumber,
    pub unused_days: ValueNumber,
}

/// `base_url` as configured when the server's copy is the same URL (it trims a trailing
/// slash), so the state keeps what the configuration says.
fn same_url<'a>(server: &str, prior: &ValueString<'a>) -> ValueString<'a> {
    match text(prior) {
        Some(p) if p.trim_end_matches('/') == server.trim_end_matches('/') => prior.clone(),
        _ => string(server),
    }
}

impl Remote {
    pub fn new(package: &'static str) -> Self {
        Self { package }
    }

    fn docker(&self) -> bool {
        self.package == "docker"
    }

    /// The planned state: defaults for fields left out, and the password's hash kept when the
    /// variable still holds the password it was made from (unknown, so an update sends it,
    /// when not).
    fn plan_fields<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: RemoteState<'a>,
        config: &RemoteState<'a>,
        prior_hash: &ValueString<'a>,
    ) -> Option<RemoteState<'a>> {
        let mut s = proposed;
        s.id = s.name.clone();
        s.mutable_ttl = or_default(&config.mutable_ttl, DEFAULT_MUTABLE_TTL);
        s.immutable_ttl = or_default(&config.immutable_ttl, DEFAULT_IMMUTABLE_TTL);
        s.patterns = or_default(&config.patterns, Vec::new());
        s.blocklist = or_default(&config.blocklist, Vec::new());
        s.mutable_patterns = or_default(&config.mutable_patterns, Vec::new());
        s.immutable_patterns = or_default(&config.immutable_patterns, Vec::new());
        s.ban_tags = if self.docker() {
            or_default(&config.ban_tags, Vec::new())
        } else {
            Value::Null
        };
        s.offline = or_default(&config.offline, false);
        s.tls_insecure_skip_verify = or_default(&config.tls_insecure_skip_verify, false);
        match password::plan_hash(&config.password_env, prior_hash, password::from_env) {
            Ok(hash) => s.password_hash = hash,
            Err(message) => {
                diags.error_short(message, AttributePath::new("password_env"));
                return None;
            }
        }
        Some(s)
    }

    /// The repository's fields as JSON for the API (`null` clears an optional one in a merge
    /// patch), with the password when it must be sent.
    fn fields(&self, s: &RemoteState<'_>, password: Option<&str>) -> serde_json::Value {
        let mut body = json!({
            "base_url": text(&s.base_url),
            "username": text(&s.username),
            "mutable_ttl": unsigned(&s.mutable_ttl),
            "immutable_ttl": unsigned(&s.immutable_ttl),
            "patterns": texts(&s.patterns).unwrap_or_default(),
            "blocklist": texts(&s.blocklist).unwrap_or_default(),
            "mutable_patterns": texts(&s.mutable_patterns).unwrap_or_default(),
            "immutable_patterns": texts(&s.immutable_patterns).unwrap_or_default(),
            "offline": s.offline.as_ref_option(),
            "ca_file": text(&s.ca_file),
            "tls_insecure_skip_verify": s.tls_insecure_skip_verify.as_ref_option(),
            "client_cert_file": text(&s.client_cert_file),
            "client_key_file": text(&s.client_key_file),
            "max_bytes": unsigned(&s.max_bytes),
            "unused_days": unsigned(&s.unused_days),
        });
        if self.docker() {
            body["ban_tags"] = json!(texts(&s.ban_tags).unwrap_or_default());
        }
        if let Some(password) = password {
            body["password"] = json!(password);
        }
        body
    }

    /// The password to send when the plan left its hash unknown.
    fn password_to_send(&self, diags: &mut Diagnostics, planned: &RemoteState<'_>) -> Option<Option<String>> {
        if !planned.password_hash.is_unknown() {
            return Some(None);
        }
        let Some(variable) = text(&planned.password_env) else {
            diags.root_error_short("password_hash is unknown but password_env is not set");
            return None;
        };
        match password::from_env(variable) {
            Ok(pw) => Some(Some(pw)),
            Err(message) => {
                diags.error_short(message, AttributePath::new("password_env"));
                None
            }
        }
    }
}

impl RepositoryKind for Remote {
    type State<'a> = RemoteState<'a>;
    /// The password sent, to hash into the state.
    type Sent = Option<String>;

    fn kind(&self) -> &'static str {
        "remote"
    }

    fn package(&self) -> Option<&'static str> {
        Some(self.package)
    }

    fn package_of(&self, _planned: &Self::State<'_>) -> Option<String> {
        Some(self.package.to_string())
    }

    fn description(&self) -> String {
        format!("A remote {} repository (pull-through cache)", self.package)
    }

    fn attributes(&self) -> HashMap<String, Attribute> {
        schema_attributes(self.package)
    }

    fn validate(&self, diags: &mut Diagnostics, config: &Self::State<'_>) {
        check_unsigned(diags, "mutable_ttl", &config.mutable_ttl);
        check_unsigned(diags, "immutable_ttl", &config.immutable_ttl);
        check_unsigned(diags, "max_bytes", &config.max_bytes);
        check_unsigned(diags, "unused_days", &config.unused_days);
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

    /// The state of a repository read back from the server; `prior` supplies what the server
    /// cannot say (the password's variable and hash) and the configured spelling of base_url.
    fn state_of<'a>(&self, view: RepositoryView, prior: &Self::State<'a>) -> Self::State<'a> {
        RemoteState {
            id: string(view.name.clone()),
            name: string(view.name),
            base_url: same_url(view.base_url.as_deref().unwrap_or(""), &prior.base_url),
            username: optional_string(view.username),
            password_env: prior.password_env.clone(),
            // A password removed (or never set) on the server is drift when one is configured.
            password_hash: if view.has_password {
                prior.password_hash.clone()
            } else {
                Value::Null
            },
            mutable_ttl: view.mutable_ttl.map_or(Value::Value(DEFAULT_MUTABLE_TTL), number),
            immutable_ttl: view.immutable_ttl.map_or(Value::Value(DEFAULT_IMMUTABLE_TTL), number),
            patterns: strings(view.patterns),
            blocklist: strings(view.blocklist),
            mutable_patterns: strings(view.mutable_patterns),
            immutable_patterns: strings(view.immutable_patterns),
            ban_tags: if self.docker() {
                strings(view.ban_tags)
            } else {
                Value::Null
            },
            offline: Value::Value(view.offline.unwrap_or(false)),
            ca_file: optional_string(view.ca_file),
            tls_insecure_skip_verify: Value::Value(view.tls_insecure_skip_verify.unwrap_or(false)),
            client_cert_file: optional_string(view.client_cert_file),
            client_key_file: optional_string(view.client_key_file),
            max_bytes: view.max_bytes.map_or(Value::Null, number),
            unused_days: view.unused_days.map_or(Value::Null, |d| number(u64::from(d))),
        }
    }

    fn plan<'a>(
        &self,
        diags: &mut Diagnostics,
        proposed: Self::State<'a>,
        config: &Self::State<'a>,
        prior: Option<&Self::State<'a>>,
    ) -> Option<Self::State<'a>> {
        let prior_hash = prior.map_or(Value::Null, |p| p.password_hash.clone());
        self.plan_fields(diags, proposed, config, &prior_hash)
    }

    fn body(&self, diags: &mut Diagnostics, planned: &Self::State<'_>) -> Option<(serde_json::Value, Option<String>)> {
        let sent = self.password_to_send(diags, planned)?;
        Some((self.fields(planned, sent.as_deref()), sent))
    }

    /// The state read back, with the hash of the password just sent (or the planned one).
    fn after_write<'a>(
        &self,
        diags: &mut Diagnostics,
        mut state: Self::State<'a>,
        planned: &Self::State<'a>,
        sent: Option<String>,
    ) -> Option<Self::State<'a>> {
        state.password_hash = match sent {
            Some(pw) => match password::hash(&pw) {
                Ok(h) => string(h),
                Err(message) => {
                    diags.root_error_short(message);
                    return None;
                }
            },
            None => planned.password_hash.clone(),
        };
        Some(state)
    }
}

fn schema_attributes(package: &str) -> HashMap<String, Attribute> {
    use AttributeConstraint::{Computed, Optional, OptionalComputed, Required};
    let s = AttributeType::String;
    let mut a: HashMap<String, Attribute> = [
        ("id", attribute(s.clone(), "The repository name", Computed)),
        ("name", attribute(s.clone(), "Repository name ([a-z0-9][a-z0-9._-]{0,63}); a change replaces the repository", Required)),
        ("base_url", attribute(s.clone(), "The upstream URL (http or https)", Required)),
        ("username", attribute(s.clone(), "Upstream user name", Optional)),
        ("password_env", attribute(s.clone(), "Name of an environment variable of the Terraform process that holds the upstream password; the password itself never enters plan or state. Left out: a password set on the server stays", Optional)),
        ("password_hash", Attribute { sensitive: true, ..attribute(s.clone(), "Salted Argon2id hash of the password last sent, to notice when the variable changes", Computed) }),
        ("mutable_ttl", attribute(AttributeType::Number, "Seconds a mutable index stays fresh (default 300)", OptionalComputed)),
        ("immutable_ttl", attribute(AttributeType::Number, "Seconds an immutable file stays fresh (0 = forever, the default)", OptionalComputed)),
        ("patterns", attribute(string_list(), "Allowlist regexes (none = allow all)", OptionalComputed)),
        ("blocklist", attribute(string_list(), "Blocklist regexes, checked first", OptionalComputed)),
        ("mutable_patterns", attribute(string_list(), "Regexes of paths to treat as mutable", OptionalComputed)),
        ("immutable_patterns", attribute(string_list(), "Regexes of paths to treat as immutable", OptionalComputed)),
        ("offline", attribute(AttributeType::Bool, "Serve the cache only (default false)", OptionalComputed)),
        ("ca_file", attribute(s.clone(), "Absolute path on the server of a PEM bundle of CAs trusted for this upstream", Optional)),
        ("tls_insecure_skip_verify", attribute(AttributeType::Bool, "Accept any upstream certificate (default false)", OptionalComputed)),
        ("client_cert_file", attribute(s.clone(), "Absolute path on the server of a PEM client certificate chain (mTLS)", Optional)),
        ("client_key_file", attribute(s, "Absolute path on the server of the client certificate's PEM key (a path: the key itself stays on the server)", Optional)),
        ("max_bytes", attribute(AttributeType::Number, "Bytes the cache may hold, distinct contents counted once; retention evicts the least recently used copies down to it (left out: unbounded)", Optional)),
        ("unused_days", attribute(AttributeType::Number, "Cached copies not downloaded for this many days are evicted by retention (left out: kept)", Optional)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if package == "docker" {
        a.insert(
            "ban_tags".into(),
            attribute(string_list(), "Tag regexes refused with 403", OptionalComputed),
        );
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view(fields: serde_json::Value) -> RepositoryView {
        let mut base = json!({"name": "r", "kind": "remote", "package": "generic", "managed_by": "api",
            "has_password": false, "base_url": "http://127.0.0.1:9"});
        crate::values::tests::merge(&mut base, fields);
        serde_json::from_value(base).unwrap()
    }

    fn configured(name: &str, base_url: &str) -> RemoteState<'static> {
        RemoteState {
            name: string(name),
            base_url: string(base_url),
            ..Default::default()
        }
    }

    #[test]
    fn left_out_fields_plan_the_server_defaults() {
        for (package, ban_tags) in [("generic", Value::Null), ("docker", Value::Value(vec![]))] {
            let remote = Remote::new(package);
            let config = configured("r", "http://127.0.0.1:9");
            let mut diags = Diagnostics::default();
            let s = remote.plan(&mut diags, config.clone(), &config, None).unwrap();
            assert_eq!(s.id, string("r"));
            assert_eq!((s.mutable_ttl, s.immutable_ttl), (Value::Value(300), Value::Value(0)));
            assert_eq!(s.patterns, Value::Value(vec![]));
            assert_eq!(s.immutable_patterns, Value::Value(vec![]));
            assert_eq!(
                (s.offline, s.tls_insecure_skip_verify),
                (Value::Value(false), Value::Value(false))
            );
            assert_eq!(s.ban_tags, ban_tags, "{package}");
            assert_eq!(s.password_hash, Value::Null);
            assert_eq!(s.username, Value::Null);
        }
    }

    #[test]
    fn configured_and_unknown_fields_are_kept() {
        let remote = Remote::new("docker");
        let config = RemoteState {
            mutable_ttl: Value::Value(60),
            patterns: Value::Unknown,
            ban_tags: strings(vec!["^latest$".into()]),
            offline: Value::Value(true),
            ..configured("r", "http://127.0.0.1:9")
        };
        let s = remote
            .plan(&mut Diagnostics::default(), config.clone(), &config, None)
            .unwrap();
        assert_eq!(s.mutable_ttl, Value::Value(60));
        assert_eq!(s.patterns, Value::Unknown);
        assert_eq!(s.ban_tags, strings(vec!["^latest$".into()]));
        assert_eq!(s.offline, Value::Value(true));
    }

    #[test]
    fn reading_back_keeps_what_the_server_cannot_say() {
        let remote = Remote::new("generic");
        let prior = RemoteState {
            password_env: string("PW"),
            password_hash: string("$argon2id$..."),
            ..configured("r", "http://127.0.0.1:9/simple/")
        };
        let with = remote.state_of(
            view(
                json!({"has_password": true, "base_url": "http://127.0.0.1:9/simple", "mutable_ttl": 60,
                "patterns": ["^a"]}),
            ),
            &prior,
        );
        assert_eq!(
            with.base_url,
            string("http://127.0.0.1:9/simple/"),
            "the configured spelling"
        );
        assert_eq!(
            (with.password_env, with.password_hash),
            (string("PW"), string("$argon2id$..."))
        );
        assert_eq!(with.mutable_ttl, Value::Value(60));
        assert_eq!(with.patterns, strings(vec!["^a".into()]));
        assert_eq!(with.ban_tags, Value::Null);
        // No password on the server any more: the hash goes, so the next plan sends it again.
        let without = remote.state_of(view(json!({"base_url": "http://127.0.0.1:10"})), &prior);
        assert_eq!(without.password_hash, Value::Null);
        assert_eq!(
            without.base_url,
            string("http://127.0.0.1:10"),
            "a different URL is drift"
        );
    }
}
