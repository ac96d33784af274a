//! End to end: `dnf install` through an rpm remote, from a repository tree made by the test
//! (`rpmbuild` of a noarch package, `createrepo_c` for the repodata), and again into a fresh root
//! with the upstream stopped, from cache. dnf, rpmbuild and createrepo_c are installed by
//! `scripts/test.sh`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use serde_json::json;
use std::path::Path;
use std::process::Command;
use support::server::Server;
use support::upstream::{FakeFile, FakeUpstream};

const SPEC: &str = "Name: aademo
Version: 1.0
Release: 1
Summary: ArtifactAPI test package
License: MIT
BuildArch: noarch
AutoReqProv: no

%description
A package built by the test suite.

%install
mkdir -p %{buildroot}/opt/aademo
echo 'hello from an rpm' > %{buildroot}/opt/aademo/hello.txt

%files
/opt/aademo/hello.txt
";

fn available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds the package and the repository tree under `dir/repo`.
fn build_repository(dir: &Path) -> std::path::PathBuf {
    let top = dir.join("top");
    std::fs::create_dir_all(top.join("SPECS")).unwrap();
    std::fs::write(top.join("SPECS/aademo.spec"), SPEC).unwrap();
    let built = Command::new("rpmbuild")
        .arg("-bb")
        .arg("--define")
        .arg(format!("_topdir {}", top.display()))
        .arg(top.join("SPECS/aademo.spec"))
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::copy(
        top.join("RPMS/noarch/aademo-1.0-1.noarch.rpm"),
        repo.join("aademo-1.0-1.noarch.rpm"),
    )
    .unwrap();
    let indexed = Command::new("createrepo_c").arg(&repo).output().unwrap();
    assert!(indexed.status.success(), "{}", String::from_utf8_lossy(&indexed.stderr));
    repo
}

/// Every file under `dir`, by path relative to it.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let prefix = path.file_name().unwrap().to_string_lossy().into_owned();
            out.extend(
                files_under(&path)
                    .into_iter()
                    .map(|(p, b)| (format!("{prefix}/{p}"), b)),
            );
        } else {
            out.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            ));
        }
    }
    out
}

async fn dnf_install(server: &Server, root: &Path) -> std::process::Output {
    let repo = server.url("/api/v1/remote/rpm/");
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || {
        Command::new("dnf")
            .arg("-y")
            .arg(format!("--installroot={}", root.join("root").display()))
            .arg(format!("--setopt=cachedir={}", root.join("cache").display()))
            .args([
                "--releasever=1",
                "--setopt=reposdir=/nonexistent",
                "--disablerepo=*",
                "--nogpgcheck",
            ])
            .arg(format!("--repofrompath=aa,{repo}"))
            .args(["--enablerepo=aa", "install", "aademo"])
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnf_installs_through_the_remote_and_again_from_cache() {
    let tools = ["dnf", "rpmbuild", "createrepo_c"].iter().all(|t| available(t));
    if support::backend_or_skip("dnf, rpmbuild and createrepo_c", tools.then_some(())).is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let tree = build_repository(work.path());
    let upstream = FakeUpstream::start().await;
    for (path, body) in files_under(&tree) {
        upstream.put(&format!("rpm/{path}"), FakeFile::Bytes(Bytes::from(body)));
    }
    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "rpm", "kind": "remote", "package": "rpm",
            "base_url": format!("{}/rpm", upstream.base)}))
        .await;

    let first = dnf_install(&server, &work.path().join("first")).await;
    assert!(
        first.status.success(),
        "dnf failed: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let installed = work.path().join("first/root/opt/aademo/hello.txt");
    assert_eq!(std::fs::read_to_string(installed).unwrap(), "hello from an rpm\n");
    assert_eq!(upstream.hits("rpm/aademo-1.0-1.noarch.rpm"), 1);

    upstream.stop().await;
    let second = dnf_install(&server, &work.path().join("second")).await;
    assert!(
        second.status.success(),
        "dnf from cache failed: {}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(work.path().join("second/root/opt/aademo/hello.txt").exists());
}
