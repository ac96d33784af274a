//! End to end: a virtual rpm repository over a local member and a remote member (a fake
//! upstream serving a tree indexed by createrepo_c), with the real dnf. The merged repodata
//! lists both members' packages with links through the virtual; dnf installs a local package
//! whose dependency only the remote has, and downloads a remote package byte-identical. The
//! dependency-confusion guard keeps the remote's package of a name the local member has out (listing and file).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use bytes::Bytes;
use flate2::read::GzDecoder;
use reqwest::StatusCode;
use serde_json::json;
use std::io::Read;
use std::process::Command;
use support::rpm::{available, build, dnf, dnf_checked, ok, put};
use support::server::Server;
use support::upstream::{FakeFile, FakeUpstream};

/// The merged primary.xml of the virtual `el`, and the repomd's members header.
async fn merged_primary(server: &Server) -> (String, String) {
    let r = server.get("/api/v1/virtual/el/repodata/repomd.xml").await;
    assert_eq!(r.status(), StatusCode::OK);
    let members = r.headers()["x-artifact-member"].to_str().unwrap().to_string();
    let repomd = r.text().await.unwrap();
    let href = repomd
        .split("<location href=\"")
        .find(|s| s.starts_with("repodata/") && s.contains("-primary.xml.gz"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let gz = server.get(&format!("/api/v1/virtual/el/{href}")).await;
    assert_eq!(gz.status(), StatusCode::OK);
    let mut xml = String::new();
    GzDecoder::new(gz.bytes().await.unwrap().as_ref())
        .read_to_string(&mut xml)
        .unwrap();
    (xml, members)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dnf_installs_through_a_virtual_over_local_and_remote() {
    let tools = ["dnf", "rpmbuild", "createrepo_c"].iter().all(|t| available(t));
    if support::backend_or_skip("dnf, rpmbuild and createrepo_c", tools.then_some(())).is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    // The remote's tree: the dependency, and a same-named "aaapp" at a higher version that the
    // guard must keep out.
    let tree = work.path().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    let lib = std::fs::read(build(work.path(), "aalib", "1.0", "")).unwrap();
    std::fs::write(tree.join("aalib-1.0-1.noarch.rpm"), &lib).unwrap();
    let impostor = build(work.path(), "aaapp", "9.0", "");
    std::fs::copy(&impostor, tree.join("aaapp-9.0-1.noarch.rpm")).unwrap();
    let indexed = Command::new("createrepo_c").arg(&tree).output().unwrap();
    assert!(indexed.status.success(), "{}", String::from_utf8_lossy(&indexed.stderr));
    let upstream = FakeUpstream::start().await;
    for entry in walk(&tree) {
        let rel = entry.strip_prefix(&tree).unwrap().to_string_lossy().into_owned();
        upstream.put(
            &format!("el/{rel}"),
            FakeFile::Bytes(Bytes::from(std::fs::read(&entry).unwrap())),
        );
    }

    let server = Server::start(&[]).await;
    server
        .create_repository(json!({"name": "el-local", "kind": "local", "package": "rpm"}))
        .await;
    server
        .create_repository(json!({"name": "el-remote", "kind": "remote", "package": "rpm",
            "base_url": format!("{}/el", upstream.base)}))
        .await;
    server
        .create_repository(json!({"name": "el", "kind": "virtual", "package": "rpm",
            "members": ["el-local", "el-remote"]}))
        .await;
    let app = std::fs::read(build(work.path(), "aaapp", "2.0", "aalib >= 1.0")).unwrap();
    // Published through the virtual: it lands in the local member.
    let r = put(&server, "/api/v1/virtual/el/", "aaapp-2.0-1.noarch.rpm", app).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let landed: serde_json::Value = r.json().await.unwrap();
    assert_eq!(landed["repository"], "el-local");

    let (primary, members) = merged_primary(&server).await;
    assert_eq!(members, "el-local, el-remote");
    assert!(
        primary.contains("<location href=\"_member/el-local/aaapp-2.0-1.noarch.rpm\"/>"),
        "{primary}"
    );
    assert!(primary.contains("<location href=\"_member/el-remote/aalib-1.0-1.noarch.rpm\"/>"));
    assert!(!primary.contains("aaapp-9.0"), "the guard keeps the remote's aaapp out");
    let impostor_link = "/api/v1/virtual/el/_member/el-remote/aaapp-9.0-1.noarch.rpm";
    assert_eq!(
        server.get(impostor_link).await.status(),
        StatusCode::NOT_FOUND,
        "and its file"
    );
    assert_eq!(upstream.hits("el/aaapp-9.0-1.noarch.rpm"), 0);

    let url = server.url("/api/v1/virtual/el/");
    let root = work.path().join("dnf");
    let listed = ok(
        &dnf(url.clone(), &root, &["repoquery", "--qf", "%{name}-%{version}"]).await,
        "repoquery",
    );
    assert!(listed.contains("aaapp-2.0") && listed.contains("aalib-1.0"), "{listed}");
    assert!(!listed.contains("aaapp-9.0"), "{listed}");

    // The merged repomd is signed with the instance's key too.
    let key = server.url("/api/v1/virtual/el/repodata/repomd.xml.key");
    let checked = dnf_checked(url.clone(), Some(key), &work.path().join("signed"), &["repoquery"]).await;
    assert!(ok(&checked, "repoquery with repo_gpgcheck").contains("aalib"));

    let downloads = work.path().join("downloads");
    let args = [
        "install",
        "--downloadonly",
        "--destdir",
        downloads.to_str().unwrap(),
        "aalib",
    ];
    ok(&dnf(url.clone(), &work.path().join("dl"), &args).await, "download");
    assert_eq!(std::fs::read(downloads.join("aalib-1.0-1.noarch.rpm")).unwrap(), lib);

    ok(&dnf(url.clone(), &root, &["install", "aaapp"]).await, "install");
    let installed = |name: &str| std::fs::read_to_string(root.join(format!("root/opt/{name}/{name}.txt")));
    assert_eq!(installed("aaapp").unwrap(), "aaapp 2.0\n");
    assert_eq!(
        installed("aalib").unwrap(),
        "aalib 1.0\n",
        "the remote's dependency came along"
    );
    assert_eq!(
        upstream.hits("el/aalib-1.0-1.noarch.rpm"),
        1,
        "fetched once, then from the cache"
    );

    // With the guard off the remote's higher aaapp is listed too (first member still wins per
    // exact version).
    let r = reqwest::Client::new()
        .patch(server.url("/api/v2/repositories/el"))
        .bearer_auth(support::server::ADMIN_TOKEN)
        .json(&json!({"dependency_confusion_guard": false}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let (primary, _) = merged_primary(&server).await;
    assert!(
        primary.contains("_member/el-remote/aaapp-9.0-1.noarch.rpm"),
        "{primary}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
