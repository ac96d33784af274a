//! The real npm CLI against a repository of the server under test: a user config per
//! registry and token, a private cache, and package directories the tests publish.
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::python::blocking;
use super::server::Server;

/// Writes a package directory (`package.json` + `index.js` naming `name@version`) and returns it.
pub fn package(work: &Path, name: &str, version: &str, dependencies: Value) -> PathBuf {
    let dir = work.join(format!("{}-{version}", name.replace('/', "_")));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = json!({"name": name, "version": version, "main": "index.js", "description": "hosted demo",
        "license": "MIT", "dependencies": dependencies});
    std::fs::write(dir.join("package.json"), manifest.to_string()).unwrap();
    std::fs::write(dir.join("index.js"), format!("module.exports = '{name}@{version}';\n")).unwrap();
    dir
}

/// npm configured for one registry URL, with or without a token.
pub struct Npm {
    pub registry: String,
    userconfig: PathBuf,
    cache: PathBuf,
}

impl Npm {
    /// npm with `registry_path` (e.g. `/api/v1/local/npml/`) of `server` as its registry and
    /// `token` (if any) as its `_authToken` there, the way users write it in `.npmrc`.
    pub fn new(server: &Server, work: &Path, registry_path: &str, token: Option<&str>) -> Npm {
        let registry = server.url(registry_path);
        let auth_key = registry.trim_start_matches("http:");
        let tag = registry_path.replace('/', "_");
        let userconfig = work.join(format!("npmrc{tag}{}", token.map_or(0, str::len)));
        let mut rc = format!("registry={registry}\n");
        if let Some(token) = token {
            rc.push_str(&format!("{auth_key}:_authToken={token}\n"));
        }
        std::fs::write(&userconfig, rc).unwrap();
        Npm {
            registry,
            userconfig,
            cache: work.join(".npm-cache"),
        }
    }

    pub async fn run(&self, dir: &Path, args: &[&str]) -> Output {
        let mut command = Command::new("npm");
        command
            .args(args)
            .args(["--no-audit", "--no-fund", "--no-update-notifier", "--fetch-retries=0"])
            .arg("--cache")
            .arg(&self.cache)
            .current_dir(dir)
            .env("NPM_CONFIG_USERCONFIG", &self.userconfig)
            .env("NPM_CONFIG_REGISTRY", &self.registry);
        blocking(move || command.output().unwrap()).await
    }
}

/// The `resolved` URLs of a project's `package-lock.json`.
pub fn resolved_urls(project: &Path) -> Vec<String> {
    let lock: Value =
        serde_json::from_str(&std::fs::read_to_string(project.join("package-lock.json")).unwrap()).unwrap();
    lock["packages"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|p| p["resolved"].as_str().map(str::to_string))
        .collect()
}
