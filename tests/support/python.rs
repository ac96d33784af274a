//! The Python package clients (installed by `scripts/test.sh`) as the PyPI tests drive them:
//! twine uploads with a token, pip and uv installs into a target directory, nothing read from
//! the user's configuration.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub async fn blocking<F: FnOnce() -> Output + Send + 'static>(f: F) -> Output {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// stdout and stderr, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `twine upload` of `files` to `url` with `token` as the password of `__token__`.
pub async fn twine(url: String, token: &str, files: Vec<PathBuf>) -> Output {
    let token = token.to_string();
    blocking(move || {
        Command::new("python3")
            .args(["-m", "twine", "upload", "--non-interactive", "--disable-progress-bar"])
            .args(["--repository-url", &url, "-u", "__token__", "-p", &token])
            .args(&files)
            .env_remove("TWINE_USERNAME")
            .env_remove("TWINE_PASSWORD")
            .env_remove("TWINE_REPOSITORY_URL")
            .output()
            .unwrap()
    })
    .await
}

pub async fn pip(index: String, requirement: &str, target: &Path) -> Output {
    let (requirement, target) = (requirement.to_string(), target.to_path_buf());
    blocking(move || {
        Command::new("python3")
            .args(["-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check"])
            .args(["--index-url", &index, "--trusted-host", "127.0.0.1", "--target"])
            .arg(&target)
            .arg(&requirement)
            .env("PIP_CONFIG_FILE", "/dev/null")
            .output()
            .unwrap()
    })
    .await
}

pub async fn uv(index: String, requirement: &str, target: &Path) -> Output {
    let (requirement, target) = (requirement.to_string(), target.to_path_buf());
    blocking(move || {
        Command::new("python3")
            .args(["-m", "uv", "pip", "install", "--no-cache", "--no-config"])
            .args(["--python", "python3", "--index-url", &index, "--target"])
            .arg(&target)
            .arg(&requirement)
            .output()
            .unwrap()
    })
    .await
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
}
