//! The real `terraform` CLI driving `terraform-provider-artifactapi` (the workspace crate) through
//! `dev_overrides` in a scratch directory: no `terraform init`, no registry.
use std::path::{Path, PathBuf};
use std::process::Command;

use super::server::{ADMIN_TOKEN, Server};

/// The provider binary, built now (a no-op when `cargo test --workspace` built it already).
pub fn provider_dir() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "terraform-provider-artifactapi"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "building terraform-provider-artifactapi failed");
    // target/debug/deps/<this test> → target/debug
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    assert!(dir.join("terraform-provider-artifactapi").exists(), "{}", dir.display());
    dir
}

pub fn terraform_available() -> bool {
    let found = Command::new("terraform")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("ARTIFACTAPI_REQUIRE_TERRAFORM").as_deref() != Ok("1"),
            "ARTIFACTAPI_REQUIRE_TERRAFORM=1 but no terraform CLI on PATH"
        );
        eprintln!("SKIPPED: the terraform CLI is not on PATH");
    }
    found
}

pub struct Tf {
    pub dir: tempfile::TempDir,
    server_base: String,
    /// What `required_providers` says of the provider: source (and version).
    requirement: String,
}

const DEV_SOURCE: &str = "artifactapi.test/artifactapi/artifactapi";

impl Tf {
    /// The provider from `providers` (a cargo target directory) through `dev_overrides`.
    pub fn new(server: &Server, providers: &Path) -> Tf {
        let cli = format!(
            "disable_checkpoint = true\nprovider_installation {{\n  dev_overrides {{\n    \"{DEV_SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            providers.display()
        );
        Self::with_cli(server, &cli, format!("source = \"{DEV_SOURCE}\""))
    }

    /// The provider installed by `terraform init` from the registry at `source`.
    pub fn from_registry(server: &Server, source: &str, version: &str) -> Tf {
        let requirement = format!("source = \"{source}\", version = \"{version}\"");
        Self::with_cli(server, "disable_checkpoint = true\n", requirement)
    }

    fn with_cli(server: &Server, cli: &str, requirement: String) -> Tf {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cli.tfrc"), cli).unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        Tf {
            dir,
            server_base: server.base.clone(),
            requirement,
        }
    }

    /// Writes main.tf: the provider block, then `resources`.
    pub fn config(&self, resources: &str) {
        let text = format!(
            "terraform {{\n  required_providers {{\n    artifactapi = {{ {} }}\n  }}\n}}\n\nprovider \"artifactapi\" {{\n  url   = \"{}\"\n  token = \"{ADMIN_TOKEN}\"\n}}\n\n{resources}",
            self.requirement, self.server_base
        );
        std::fs::write(self.dir.path().join("main.tf"), text).unwrap();
    }

    /// Runs terraform; returns the exit code and the output.
    pub fn run(&self, args: &[&str]) -> (i32, String) {
        self.run_with(args, &[])
    }

    /// Runs terraform with `env` on top of its clean environment.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
        // Options go before the command's arguments (import's ADDR ID); `output` and `show`
        // never prompt and take no -input.
        let options: &[&str] = match args[0] {
            "output" | "show" => &["-no-color"],
            _ => &["-no-color", "-input=false"],
        };
        let out = Command::new("terraform")
            .arg(args[0])
            .args(options)
            .args(&args[1..])
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("TF_CLI_CONFIG_FILE", self.dir.path().join("cli.tfrc"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, &[])
    }

    pub fn ok_with(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let (code, out) = self.run_with(args, env);
        assert_eq!(code, 0, "terraform {args:?}:\n{out}");
        out
    }
}
