//! Untagged manifest retention (opt-in `untagged_manifest_days`) end to end with skopeo: two
//! tags are pushed over, leaving two untagged manifests; one is pulled by digest. The test ages
//! the manifest rows in the server's SQLite database by three days (the only way to let days
//! pass here); then the preview lists only the manifest nobody pulled, enforcing deletes it, the
//! pulled one and the tagged images still pull, and GC frees the deleted manifest's own layer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use artifactapi::adapters::meta::entities::hosted_file::{Column, Entity};
use chrono::SubsecRound;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use support::oci;
use support::server::{ADMIN_TOKEN, Server};
use support::skopeo::{args, creds, pull, skopeo, skopeo_available};

/// HEAD, which is not a pull.
async fn manifest_status(server: &Server, digest: &str) -> u16 {
    reqwest::Client::new()
        .head(server.url(&format!("/v2/containers/app/manifests/{digest}")))
        .bearer_auth(ADMIN_TOKEN)
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn stored(server: &Server, digest: &str) -> bool {
    server
        .data_dir()
        .join("blobs/blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
        .exists()
}

/// Every manifest row of the image now looks pushed three days ago.
async fn age_manifests(server: &Server) {
    let url = format!("sqlite://{}/meta.db", server.data_dir().display());
    let meta = artifactapi::adapters::meta::connect(&url, [0; 32]).await.unwrap();
    // Whole seconds: what the server writes has at most microseconds, and its conditional
    // deletes compare times exactly.
    let then = chrono::Utc::now().trunc_subsecs(0) - chrono::Duration::days(3);
    let aged = Entity::update_many()
        .col_expr(Column::CreatedAt, Expr::value(then))
        .filter(Column::Repo.eq("containers"))
        .filter(Column::Path.starts_with("app/_manifests/"))
        .exec(meta.connection())
        .await
        .unwrap();
    assert_eq!(aged.rows_affected, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untagged_manifests_nobody_pulled_go_and_a_pulled_one_stays() {
    if support::backend_or_skip("skopeo", skopeo_available().then_some(())).is_none() {
        return;
    }
    let server = Server::start(&[
        ("ARTIFACTAPI_GC_GRACE_PERIOD", "0".to_string()),
        ("ARTIFACTAPI_GC_INTERVAL", "0".to_string()),
        ("ARTIFACTAPI_RETENTION_INTERVAL", "0".to_string()),
    ])
    .await;
    server
        .create_repository(json!({"name": "containers", "kind": "local", "package": "docker",
            "untagged_manifest_days": 1}))
        .await;
    let work = tempfile::tempdir().unwrap();
    let host = &server.addr;
    let mut pushed = Vec::new();
    // `v1` and `p` are each pushed twice: their first images are left without a tag.
    for (dir, tag) in [("a", "v1"), ("b", "v1"), ("p", "p"), ("d", "p")] {
        let (layout, manifest, layers) = oci::layered(work.path(), dir, &[format!("only in {dir}\n").as_bytes()]);
        let (ok, err) = skopeo(args(&[
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            &creds(),
            &format!("oci:{}:{dir}", layout.display()),
            &format!("docker://{host}/containers/app:{tag}"),
        ]))
        .await;
        assert!(ok, "{err}");
        pushed.push((manifest, layers));
    }
    let (a, p) = (&pushed[0], &pushed[2]);

    let preview: Value = server
        .get("/api/v2/repositories/containers/retention")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(preview["objects"], 0, "pushed just now: {preview}");

    age_manifests(&server).await;
    // Pulled by digest: noted, and written before retention judges.
    pull(
        &format!("docker://{host}/containers/app@{}", p.0),
        &work.path().join("pulled-p"),
        false,
    )
    .await;

    let preview: Value = server
        .get("/api/v2/repositories/containers/retention")
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<&str> = preview["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![format!("app@{}", a.0)], "{preview}");
    assert_eq!(preview["removed"][0]["reason"], "untagged_manifest_days");
    assert_eq!(manifest_status(&server, &a.0).await, 200, "a preview changes nothing");

    let done: Value = reqwest::Client::new()
        .post(server.url("/api/v2/repositories/containers/retention"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["objects"], 1, "{done}");
    assert_eq!(manifest_status(&server, &a.0).await, 404);
    assert_eq!(
        manifest_status(&server, &p.0).await,
        200,
        "pulled by digest a moment ago"
    );

    for _ in 0..2 {
        let gc = reqwest::Client::new()
            .post(server.url("/api/v2/gc"))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(gc.status(), 200);
    }
    assert!(!stored(&server, &a.1[0]), "the deleted manifest's own layer is freed");
    assert!(stored(&server, &p.1[0]), "the pulled manifest's layer stays");
    for tag in ["v1", "p"] {
        pull(
            &format!("docker://{host}/containers/app:{tag}"),
            &work.path().join(format!("pulled-{tag}")),
            false,
        )
        .await;
    }
}
