//! GC of a local docker repository, end to end with skopeo (installed by `scripts/test.sh`): two
//! tags of one image share a layer; after the first tag's manifest is deleted, GC drops the links
//! only that manifest named and then frees their blobs, while the shared layer stays and the other
//! tag still pulls back byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::{Value, json};
use support::oci;
use support::server::{ADMIN_TOKEN, Server};
use support::skopeo::{pull, push, skopeo_available};

async fn run_gc(server: &Server) -> Value {
    let response = reqwest::Client::new()
        .post(server.url("/api/v2/gc"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn stored(server: &Server, digest: &str) -> bool {
    server
        .data_dir()
        .join("blobs/blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
        .exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_image_frees_its_own_layers_and_keeps_the_shared_one() {
    if support::backend_or_skip("skopeo", skopeo_available().then_some(())).is_none() {
        return;
    }
    // No grace period, and no periodic run to race the explicit ones.
    let server = Server::start(&[
        ("ARTIFACTAPI_GC_GRACE_PERIOD", "0".to_string()),
        ("ARTIFACTAPI_GC_INTERVAL", "0".to_string()),
    ])
    .await;
    server
        .create_repository(json!({"name": "containers", "kind": "local", "package": "docker"}))
        .await;
    let work = tempfile::tempdir().unwrap();
    let host = &server.addr;
    let shared: &[u8] = b"a base layer both tags use\n";
    let (old, old_manifest, old_layers) = oci::layered(work.path(), "old", &[shared, b"only the old tag\n"]);
    let (new, _, new_layers) = oci::layered(work.path(), "new", &[shared, b"only the new tag\n"]);
    assert_eq!(old_layers[0], new_layers[0]);
    push(&old, "old", &format!("docker://{host}/containers/team/app:old"), false).await;
    push(&new, "new", &format!("docker://{host}/containers/team/app:new"), false).await;

    // Nothing is unreferenced yet: a run frees nothing.
    let report = run_gc(&server).await;
    assert_eq!(
        (report["links_deleted"].as_u64(), report["blobs_deleted"].as_u64()),
        (Some(0), Some(0))
    );

    let deleted = reqwest::Client::new()
        .delete(server.url(&format!("/v2/containers/team/app/manifests/{old_manifest}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);

    // A dry run says what would go and changes nothing.
    let dry = reqwest::Client::new()
        .post(server.url("/api/v2/gc?dry_run=true"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let dry: Value = dry.json().await.unwrap();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["links_deleted"], 2, "the old tag's own layer and config: {dry}");
    assert!(stored(&server, &old_layers[1]));

    // The first run drops the two links (their blobs' last reference becomes now, so they
    // outlive this run's blob pass) and frees the deleted manifest; the next run frees the old
    // tag's config and own layer.
    let first = run_gc(&server).await;
    assert_eq!(first["links_deleted"], 2, "{first}");
    assert_eq!(first["blobs_deleted"], 1, "{first}");
    assert!(!stored(&server, &old_manifest), "the deleted manifest is freed");
    assert!(
        stored(&server, &old_layers[1]),
        "a blob whose link just went waits one run"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = run_gc(&server).await;
    assert_eq!(second["links_deleted"], 0, "{second}");
    assert_eq!(second["blobs_deleted"], 2, "{second}");
    assert!(second["bytes_freed"].as_u64().unwrap() > 0);
    assert!(!stored(&server, &old_layers[1]), "the old tag's own layer is freed");
    assert!(stored(&server, &new_layers[0]), "the shared layer stays");
    assert!(stored(&server, &new_layers[1]));

    // The other tag still pulls back byte for byte; the deleted one is gone.
    let back = work.path().join("back");
    pull(&format!("docker://{host}/containers/team/app:new"), &back, false).await;
    assert_eq!(oci::blob_names(&back), oci::blob_names(&new));
    let gone = server
        .get(&format!("/v2/containers/team/app/blobs/{}", old_layers[1]))
        .await;
    assert_eq!(gone.status(), 404);
}
