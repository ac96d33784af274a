//! Create, edit and delete a repository. Validation is the API's own (`RepositoryDraft`), and
//! its message is shown at the field it names.
use askama::Template;
use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Body, Request, Response, handler};
use std::sync::Arc;

use super::{Form, Layout, Viewer, read_form, render, see_other};
use crate::adapters::http::AppState;
use crate::domain::error::RepositoryError;
use crate::domain::repository::{Kind, KindSettings, PackageType, Repository, RepositoryDraft};
use crate::domain::token::Scope;

/// What the form shows: the submitted (or stored) values as text.
#[derive(Default)]
pub(super) struct Values {
    pub name: String,
    pub kind: String,
    pub package: String,
    pub base_url: String,
    pub username: String,
    pub has_password: bool,
    pub mutable_ttl: String,
    pub immutable_ttl: String,
    pub patterns: String,
    pub blocklist: String,
    pub mutable_patterns: String,
    pub immutable_patterns: String,
    pub ban_tags: String,
    pub offline: bool,
    pub ca_file: String,
    pub tls_insecure_skip_verify: bool,
    pub client_cert_file: String,
    pub client_key_file: String,
    pub members: String,
    pub allow_overwrite: bool,
    pub dependency_confusion_guard: bool,
    pub quota_bytes: String,
    pub max_bytes: String,
    pub unused_days: String,
    pub keep_last_tags: String,
    pub keep_tag_patterns: String,
    pub untagged_manifest_days: String,
}

impl Values {
    fn of(repo: &Repository) -> Values {
        let lines = |v: &[String]| v.join("\n");
        let mut values = Values {
            name: repo.name.to_string(),
            kind: repo.kind().to_string(),
            package: repo.package.to_string(),
            ..Values::default()
        };
        match &repo.settings {
            KindSettings::Remote(s) => {
                values.base_url = s.base_url.clone();
                values.username = s.username.clone().unwrap_or_default();
                values.has_password = s.password.is_some();
                values.mutable_ttl = s.mutable_ttl.to_string();
                values.immutable_ttl = s.immutable_ttl.to_string();
                values.patterns = lines(&s.patterns);
                values.blocklist = lines(&s.blocklist);
                values.mutable_patterns = lines(&s.mutable_patterns);
                values.immutable_patterns = lines(&s.immutable_patterns);
                values.ban_tags = lines(&s.ban_tags);
                values.offline = s.offline;
                values.ca_file = s.tls.ca_file.clone().unwrap_or_default();
                values.tls_insecure_skip_verify = s.tls.tls_insecure_skip_verify;
                values.client_cert_file = s.tls.client_cert_file.clone().unwrap_or_default();
                values.client_key_file = s.tls.client_key_file.clone().unwrap_or_default();
                values.max_bytes = s.max_bytes.map(|v| v.to_string()).unwrap_or_default();
                values.unused_days = s.unused_days.map(|v| v.to_string()).unwrap_or_default();
            }
            KindSettings::Local(s) => {
                values.allow_overwrite = s.allow_overwrite;
                values.quota_bytes = s.quota_bytes.map(|q| q.to_string()).unwrap_or_default();
                values.keep_last_tags = s.keep_last_tags.map(|k| k.to_string()).unwrap_or_default();
                values.keep_tag_patterns = lines(&s.keep_tag_patterns);
                values.untagged_manifest_days = s.untagged_manifest_days.map(|d| d.to_string()).unwrap_or_default();
            }
            KindSettings::Virtual(s) => {
                values.members = s.members.iter().map(|m| m.as_str()).collect::<Vec<_>>().join("\n");
                values.dependency_confusion_guard = s.dependency_confusion_guard;
            }
        }
        values
    }

    fn from_form(form: &Form) -> Values {
        Values {
            name: form.get("name").to_string(),
            kind: form.get("kind").to_string(),
            package: form.get("package").to_string(),
            base_url: form.get("base_url").to_string(),
            username: form.get("username").to_string(),
            has_password: false,
            mutable_ttl: form.get("mutable_ttl").to_string(),
            immutable_ttl: form.get("immutable_ttl").to_string(),
            patterns: form.get("patterns").to_string(),
            blocklist: form.get("blocklist").to_string(),
            mutable_patterns: form.get("mutable_patterns").to_string(),
            immutable_patterns: form.get("immutable_patterns").to_string(),
            ban_tags: form.get("ban_tags").to_string(),
            offline: form.checked("offline"),
            ca_file: form.get("ca_file").to_string(),
            tls_insecure_skip_verify: form.checked("tls_insecure_skip_verify"),
            client_cert_file: form.get("client_cert_file").to_string(),
            client_key_file: form.get("client_key_file").to_string(),
            members: form.get("members").to_string(),
            allow_overwrite: form.checked("allow_overwrite"),
            dependency_confusion_guard: form.checked("dependency_confusion_guard"),
            quota_bytes: form.get("quota_bytes").to_string(),
            max_bytes: form.get("max_bytes").to_string(),
            unused_days: form.get("unused_days").to_string(),
            keep_last_tags: form.get("keep_last_tags").to_string(),
            keep_tag_patterns: form.get("keep_tag_patterns").to_string(),
            untagged_manifest_days: form.get("untagged_manifest_days").to_string(),
        }
    }
}

/// An error the form shows at one field.
pub(super) type FieldMessage = (String, String);

fn seconds(form: &Form, field: &'static str) -> Result<Option<u64>, FieldMessage> {
    number(form, field, "seconds")
}

/// A blank field is `None`; anything else must be a whole number of `unit`.
fn number<T: std::str::FromStr>(form: &Form, field: &'static str, unit: &str) -> Result<Option<T>, FieldMessage> {
    match form.optional(field) {
        None => Ok(None),
        Some(text) => text
            .parse::<T>()
            .map(Some)
            .map_err(|_| (field.to_string(), format!("must be a whole number of {unit}"))),
    }
}

/// The form as the API's draft. Blank fields are left out, so the draft's own defaults apply;
/// a blank password on an edit keeps the stored one.
pub(super) fn draft(form: &Form) -> Result<RepositoryDraft, FieldMessage> {
    let remote = form.get("kind") == "remote";
    let local = form.get("kind") == "local";
    let virtual_repo = form.get("kind") == "virtual";
    Ok(RepositoryDraft {
        name: form.get("name").to_string(),
        kind: form.get("kind").to_string(),
        package: form.get("package").to_string(),
        base_url: form.optional("base_url"),
        username: form.optional("username"),
        password: form.optional("password"),
        mutable_ttl: seconds(form, "mutable_ttl")?,
        immutable_ttl: seconds(form, "immutable_ttl")?,
        patterns: form.lines("patterns"),
        blocklist: form.lines("blocklist"),
        mutable_patterns: form.lines("mutable_patterns"),
        immutable_patterns: form.lines("immutable_patterns"),
        ban_tags: form.lines("ban_tags"),
        offline: remote.then(|| form.checked("offline")),
        ca_file: form.optional("ca_file"),
        tls_insecure_skip_verify: remote.then(|| form.checked("tls_insecure_skip_verify")),
        client_cert_file: form.optional("client_cert_file"),
        client_key_file: form.optional("client_key_file"),
        members: form.lines("members"),
        allow_overwrite: local.then(|| form.checked("allow_overwrite")),
        dependency_confusion_guard: virtual_repo.then(|| form.checked("dependency_confusion_guard")),
        quota_bytes: number(form, "quota_bytes", "bytes")?,
        max_bytes: number(form, "max_bytes", "bytes")?,
        unused_days: number(form, "unused_days", "days")?,
        keep_last_tags: number(form, "keep_last_tags", "tags")?,
        keep_tag_patterns: form.lines("keep_tag_patterns"),
        untagged_manifest_days: number(form, "untagged_manifest_days", "days")?,
    })
}

#[derive(Template)]
#[template(path = "ui/repository_form.html")]
struct FormPage {
    layout: Layout,
    /// `None` when creating.
    editing: Option<String>,
    values: Values,
    kinds: Vec<&'static str>,
    packages: Vec<&'static str>,
    error: Option<FieldMessage>,
    /// A failure that belongs to no field (conflicts, config-managed).
    general: Option<String>,
}

impl FormPage {
    /// The message for `field`, when the last submit failed there.
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    /// A field error for a field the form does not show is shown at the top instead.
    fn unplaced_error(&self) -> Option<String> {
        const SHOWN: &[&str] = &[
            "name",
            "kind",
            "package",
            "base_url",
            "username",
            "password",
            "mutable_ttl",
            "immutable_ttl",
            "patterns",
            "blocklist",
            "mutable_patterns",
            "immutable_patterns",
            "ban_tags",
            "offline",
            "ca_file",
            "tls_insecure_skip_verify",
            "client_cert_file",
            "client_key_file",
            "members",
            "allow_overwrite",
            "dependency_confusion_guard",
            "quota_bytes",
            "max_bytes",
            "unused_days",
            "keep_last_tags",
            "keep_tag_patterns",
            "untagged_manifest_days",
        ];
        self.error
            .as_ref()
            .filter(|(f, _)| !SHOWN.contains(&f.as_str()))
            .map(|(f, m)| format!("{f}: {m}"))
    }
}

fn form_page(viewer: &Viewer, state: &AppState, editing: Option<String>, values: Values) -> FormPage {
    let title = match &editing {
        Some(name) => format!("Edit {name}"),
        None => "New repository".to_string(),
    };
    FormPage {
        layout: viewer.layout(state, title, "repositories"),
        editing,
        values,
        kinds: Kind::ALL.iter().map(|k| k.as_str()).collect(),
        packages: PackageType::ALL.iter().map(|p| p.as_str()).collect(),
        error: None,
        general: None,
    }
}

/// Shows the form again with the failure at its field.
fn refused(mut page: FormPage, e: RepositoryError, viewer: &Viewer, state: &AppState) -> Response {
    let status = match e {
        RepositoryError::Invalid(f) => {
            page.error = Some((f.field.to_string(), f.message));
            StatusCode::BAD_REQUEST
        }
        RepositoryError::NotFound(missing) if page.editing.is_none() => {
            page.error = Some(("members".into(), format!("repository '{missing}' not found")));
            StatusCode::BAD_REQUEST
        }
        RepositoryError::NotFound(_) => {
            page.general = Some("the repository no longer exists".to_string());
            StatusCode::NOT_FOUND
        }
        RepositoryError::AlreadyExists(name) => {
            page.error = Some(("name".into(), format!("a repository named '{name}' exists")));
            StatusCode::CONFLICT
        }
        RepositoryError::ManagedByConfig(_) => {
            page.general = Some("this repository is defined in the config file: change it there".to_string());
            StatusCode::CONFLICT
        }
        RepositoryError::InUse { .. } => {
            page.general = Some(e.to_string());
            StatusCode::CONFLICT
        }
        RepositoryError::NotEmpty { .. } => {
            page.error = Some(("kind".into(), e.to_string()));
            StatusCode::CONFLICT
        }
        RepositoryError::Unavailable(cause) => return viewer.unavailable(state, &cause),
    };
    render(status, &page)
}

async fn admin(req: &Request, state: &AppState) -> Result<Viewer, Response> {
    let viewer = Viewer::of(req, state).await?;
    viewer.need(state, req, Scope::Admin, None)?;
    Ok(viewer)
}

#[handler]
pub(super) async fn new_form(req: &Request, Data(state): Data<&Arc<AppState>>) -> Response {
    let viewer = match admin(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let values = Values {
        kind: "remote".into(),
        package: "generic".into(),
        dependency_confusion_guard: true,
        ..Values::default()
    };
    render(StatusCode::OK, &form_page(&viewer, state, None, values))
}

#[handler]
pub(super) async fn create(req: &Request, body: Body, Data(state): Data<&Arc<AppState>>) -> Response {
    let form = match read_form(req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let viewer = match admin(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut page = form_page(&viewer, state, None, Values::from_form(&form));
    let draft = match draft(&form) {
        Ok(d) => d,
        Err(error) => {
            page.error = Some(error);
            return render(StatusCode::BAD_REQUEST, &page);
        }
    };
    match state.repositories.create(draft).await {
        Ok(repo) => {
            tracing::info!(repository = %repo.name, "repository created in the web UI");
            state
                .events
                .publish("repository_created", repo.name.as_str(), None)
                .await;
            see_other(&format!("/ui/repositories/{}?saved=1", repo.name))
        }
        Err(e) => refused(page, e, &viewer, state),
    }
}

async fn existing(viewer: &Viewer, state: &AppState, name: &str) -> Result<Repository, Response> {
    match state.repositories.get(name).await {
        Ok(repo) => Ok(repo),
        Err(RepositoryError::Unavailable(cause)) => Err(viewer.unavailable(state, &cause)),
        Err(_) => Err(viewer.message(
            state,
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("There is no repository named '{name}'."),
        )),
    }
}

#[handler]
pub(super) async fn edit_form(req: &Request, Data(state): Data<&Arc<AppState>>, Path(name): Path<String>) -> Response {
    let viewer = match admin(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    match existing(&viewer, state, &name).await {
        Ok(repo) => render(
            StatusCode::OK,
            &form_page(&viewer, state, Some(name), Values::of(&repo)),
        ),
        Err(r) => r,
    }
}

#[handler]
pub(super) async fn update(
    req: &Request,
    body: Body,
    Data(state): Data<&Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    let form = match read_form(req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let viewer = match admin(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut values = Values::from_form(&form);
    if let Ok(repo) = state.repositories.get(&name).await {
        values.has_password = matches!(&repo.settings, KindSettings::Remote(s) if s.password.is_some());
    }
    let mut page = form_page(&viewer, state, Some(name.clone()), values);
    let draft = match draft(&form) {
        Ok(d) => d,
        Err(error) => {
            page.error = Some(error);
            return render(StatusCode::BAD_REQUEST, &page);
        }
    };
    match state.repositories.replace(&name, draft, false).await {
        Ok(repo) => {
            tracing::info!(repository = %repo.name, "repository replaced in the web UI");
            state
                .events
                .publish("repository_replaced", repo.name.as_str(), None)
                .await;
            see_other(&format!("/ui/repositories/{}?saved=1", repo.name))
        }
        Err(e) => refused(page, e, &viewer, state),
    }
}

#[derive(Template)]
#[template(path = "ui/repository_delete.html")]
struct DeletePage {
    layout: Layout,
    name: String,
    error: Option<String>,
    in_use: bool,
}

#[handler]
pub(super) async fn confirm_delete(
    req: &Request,
    Data(state): Data<&Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    let viewer = match admin(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = existing(&viewer, state, &name).await {
        return r;
    }
    let page = DeletePage {
        layout: viewer.layout(state, format!("Delete {name}"), "repositories"),
        name,
        error: None,
        in_use: false,
    };
    render(StatusCode::OK, &page)
}

#[handler]
pub(super) async fn delete(
    req: &Request,
    body: Body,
    Data(state): Data<&Arc<AppState>>,
    Path(name): Path<String>,
) -> Response {
    let form = match read_form(req, body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let viewer = match admin(req, state).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let force = form.checked("force");
    match state.repositories.delete(&name, force).await {
        Ok(()) => {
            tracing::info!(repository = %name, "repository deleted in the web UI");
            state.events.publish("repository_deleted", &name, None).await;
            see_other(&format!("/ui/repositories?deleted={}", super::encode(&name)))
        }
        Err(RepositoryError::Unavailable(cause)) => viewer.unavailable(state, &cause),
        Err(e) => {
            let in_use = matches!(e, RepositoryError::InUse { .. });
            let page = DeletePage {
                layout: viewer.layout(state, format!("Delete {name}"), "repositories"),
                name,
                error: Some(e.to_string()),
                in_use,
            };
            render(StatusCode::CONFLICT, &page)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_the_apis_draft() {
        let form = Form::parse(
            b"name=pypi&kind=remote&package=pypi&base_url=https%3A%2F%2Fup.test&password=&mutable_ttl=60\
              &immutable_ttl=&patterns=%5Ea%0D%0A%5Eb&offline=on",
        );
        let d = draft(&form).unwrap();
        assert_eq!(d.base_url.as_deref(), Some("https://up.test"));
        assert_eq!(d.password, None);
        assert_eq!((d.mutable_ttl, d.immutable_ttl), (Some(60), None));
        assert_eq!(d.patterns, vec!["^a", "^b"]);
        assert_eq!((d.offline, d.allow_overwrite), (Some(true), None));
        assert!(d.validate(crate::domain::repository::ManagedBy::Api).is_ok());

        let bad = Form::parse(b"name=x&kind=remote&package=generic&mutable_ttl=soon");
        assert_eq!(draft(&bad).err().map(|(f, _)| f), Some("mutable_ttl".to_string()));
        let local = draft(&Form::parse(b"name=x&kind=local&package=generic")).unwrap();
        assert_eq!((local.offline, local.allow_overwrite), (None, Some(false)));
    }
}
