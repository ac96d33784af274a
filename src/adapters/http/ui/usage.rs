//! "How to use" snippets for one repository: each package client configured against this server,
//! at the URL the browser used to reach it.
use crate::domain::repository::{Kind, PackageType, Repository};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Snippet {
    pub title: String,
    pub body: String,
}

fn snippet(title: &str, body: String) -> Snippet {
    Snippet {
        title: title.to_string(),
        body,
    }
}

/// The snippets for `repo` as served at `origin` (`scheme://host[:port]`).
pub(super) fn snippets(origin: &str, repo: &Repository) -> Vec<Snippet> {
    let kind = repo.kind();
    let name = repo.name.as_str();
    let base = format!("{origin}/api/v1/{kind}/{name}");
    let host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    let plain_http = origin.starts_with("http://");
    let bare_host = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    // A virtual takes writes into its first local member (docker through /v2, the others by
    // their upload paths), except terraform's provider registry.
    let writable = kind == Kind::Local || (kind == Kind::Virtual && repo.package != PackageType::Terraform);
    let mut out = Vec::new();
    match repo.package {
        PackageType::Generic => {
            out.push(snippet(
                "Download with curl",
                format!("curl -fsSO {base}/path/to/file.tar.gz"),
            ));
            if writable {
                out.push(snippet(
                    "Upload with curl",
                    format!(
                        "curl -fsS -T file.tar.gz {base}/path/to/file.tar.gz \\\n  -H \"Authorization: Bearer $TOKEN\""
                    ),
                ));
            }
        }
        PackageType::Docker => {
            let tls = if plain_http {
                "# plain HTTP: add the host to \"insecure-registries\" in /etc/docker/daemon.json\n"
            } else {
                ""
            };
            let mut body =
                format!("{tls}docker login {host} -u any -p \"$TOKEN\"\ndocker pull {host}/{name}/team/app:1.0");
            if writable {
                body.push_str(&format!(
                    "\ndocker tag app:1.0 {host}/{name}/team/app:1.0\ndocker push {host}/{name}/team/app:1.0"
                ));
            }
            out.push(snippet("docker login, pull and push", body));
        }
        PackageType::Pypi => {
            let trusted = if plain_http {
                format!("\ntrusted-host = {bare_host}")
            } else {
                String::new()
            };
            out.push(snippet(
                "pip.conf",
                format!("[global]\nindex-url = {base}/simple/{trusted}"),
            ));
            out.push(snippet(
                "pip and uv on the command line",
                format!("pip install --index-url {base}/simple/ requests\nuv pip install --index-url {base}/simple/ requests"),
            ));
            if writable {
                out.push(snippet(
                    "Upload with twine",
                    format!("twine upload --repository-url {base}/ -u __token__ -p \"$TOKEN\" dist/*"),
                ));
            }
        }
        PackageType::Npm => {
            let mut body = format!("registry={base}/");
            if writable {
                let auth_path = base.split_once("://").map(|(_, p)| p).unwrap_or(&base);
                body.push_str(&format!("\n//{auth_path}/:_authToken=${{TOKEN}}"));
            }
            out.push(snippet(".npmrc", body));
            out.push(snippet(
                "npm on the command line",
                format!("npm install --registry {base}/ left-pad"),
            ));
        }
        PackageType::Helm => {
            out.push(snippet(
                "helm repo add",
                format!("helm repo add {name} {base}\nhelm repo update\nhelm install demo {name}/demo"),
            ));
            if writable {
                out.push(snippet(
                    "Upload a chart",
                    format!("curl -fsS -T demo-1.0.0.tgz {base}/demo-1.0.0.tgz -H \"Authorization: Bearer $TOKEN\""),
                ));
            }
        }
        PackageType::Rpm => out.push(snippet(
            "dnf: /etc/yum.repos.d/{name}.repo",
            format!("[{name}]\nname={name} through ArtifactAPI\nbaseurl={base}/\nenabled=1\ngpgcheck=1"),
        )),
        PackageType::Alpine => {
            if kind != Kind::Remote {
                // Our indexes are signed with the instance key, which apk finds by file name.
                out.push(snippet(
                    "Trust the index signing key",
                    format!("KEY=$(wget -qO- {base}/keys/)\nwget -O /etc/apk/keys/$KEY {base}/keys/$KEY"),
                ));
            }
            out.push(snippet("apk: /etc/apk/repositories", format!("{base}/v3.20/main")));
            if writable {
                out.push(snippet(
                    "Upload with curl",
                    format!(
                        "curl -fsS -T hello-1.0-r0.apk {base}/v3.20/main/x86_64/hello-1.0-r0.apk \\\n  -H \"Authorization: Bearer $TOKEN\""
                    ),
                ));
            }
        }
        PackageType::Puppet => {
            out.push(snippet(
                "puppet module install",
                format!(
                    "puppet module install puppetlabs-stdlib --module_repository {base}\n# or in puppet.conf: [main] module_repository = {base}"
                ),
            ));
            if writable {
                out.push(snippet(
                    "Publish a release",
                    format!(
                        "curl -fsS -F file=@pkg/acme-demo-1.0.0.tar.gz {base}/v3/releases -H \"Authorization: Bearer $TOKEN\""
                    ),
                ));
            }
        }
        PackageType::Terraform => out.push(snippet(
            "Provider registry protocol",
            format!("curl -fsS {base}/v1/providers/hashicorp/random/versions"),
        )),
        PackageType::Goproxy => out.push(snippet(
            "GOPROXY",
            format!("export GOPROXY={base}\ngo mod download\n# or: go env -w GOPROXY={base}"),
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::repository::{ManagedBy, RepositoryDraft};

    fn repo(name: &str, kind: &str, package: &str) -> Repository {
        RepositoryDraft {
            name: name.into(),
            kind: kind.into(),
            package: package.into(),
            base_url: (kind == "remote").then(|| "https://upstream.test".to_string()),
            ..RepositoryDraft::default()
        }
        .validate(ManagedBy::Api)
        .unwrap()
    }

    fn bodies(origin: &str, r: &Repository) -> String {
        snippets(origin, r)
            .into_iter()
            .map(|s| format!("# {}\n{}", s.title, s.body))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn every_package_type_gets_a_snippet_at_the_clients_url() {
        for package in PackageType::ALL {
            let r = repo("r1", "remote", package.as_str());
            let text = bodies("http://cache.test:8000", &r);
            assert!(
                text.contains("cache.test:8000") && text.contains("r1"),
                "{package}: {text}"
            );
        }
    }

    #[test]
    fn clients_are_configured_as_they_expect() {
        let pip = bodies("http://cache.test:8000", &repo("py", "remote", "pypi"));
        assert!(pip.contains("index-url = http://cache.test:8000/api/v1/remote/py/simple/"));
        assert!(pip.contains("trusted-host = cache.test\n") || pip.ends_with("trusted-host = cache.test"));
        assert!(!bodies("https://cache.test", &repo("py", "remote", "pypi")).contains("trusted-host"));

        let npm = bodies("https://cache.test", &repo("js", "local", "npm"));
        assert!(npm.contains("registry=https://cache.test/api/v1/local/js/"));
        assert!(npm.contains("//cache.test/api/v1/local/js/:_authToken=${TOKEN}"));

        let docker = bodies("http://cache.test:8000", &repo("containers", "local", "docker"));
        assert!(docker.contains("docker login cache.test:8000 -u any"));
        assert!(docker.contains("docker push cache.test:8000/containers/team/app:1.0"));
        assert!(docker.contains("insecure-registries"));
        assert!(!bodies("http://c.test", &repo("hub", "remote", "docker")).contains("docker push"));

        let dnf = bodies("http://c.test", &repo("el", "remote", "rpm"));
        assert!(dnf.contains("[el]\n") && dnf.contains("baseurl=http://c.test/api/v1/remote/el/"));
        let go = bodies("http://c.test", &repo("go", "remote", "goproxy"));
        assert!(go.contains("GOPROXY=http://c.test/api/v1/remote/go"));
        let helm = bodies("http://c.test", &repo("charts", "remote", "helm"));
        assert!(helm.contains("helm repo add charts http://c.test/api/v1/remote/charts"));
    }
}
