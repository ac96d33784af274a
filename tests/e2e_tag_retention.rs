//! Tag retention on a local docker repository, end to end with skopeo: `keep_last_tags` = 2 and
//! a `keep_tag_patterns` that spares `stable`. The preview lists the old tags and the manifests
//! they leave untagged and changes nothing; enforcing deletes them, the kept tags still pull, and
//! GC then frees the deleted images' own layers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod support;

use serde_json::{Value, json};
use support::oci;
use support::server::{ADMIN_TOKEN, Server};
use support::skopeo::{pull, push, skopeo_available};

fn stored(server: &Server, digest: &str) -> bool {
    server
        .data_dir()
        .join("blobs/blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
        .exists()
}

async fn tags(server: &Server) -> Vec<String> {
    let list: Value = reqwest::Client::new()
        .get(server.url("/v2/containers/app/tags/list"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut tags: Vec<String> = list["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    tags
}

async fn post(server: &Server, path: &str) -> Value {
    let response = reqwest::Client::new()
        .post(server.url(path))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_tags_go_their_layers_are_freed_and_kept_tags_still_pull() {
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
            "keep_last_tags": 2, "keep_tag_patterns": ["^stable$"]}))
        .await;
    let work = tempfile::tempdir().unwrap();
    let host = &server.addr;
    let shared: &[u8] = b"a base layer every tag uses\n";
    // Pushed oldest first: stable, v1, v2, v3, v4.
    let mut images = Vec::new();
    for tag in ["stable", "v1", "v2", "v3", "v4"] {
        let own = format!("only in {tag}\n");
        let (layout, manifest, layers) = oci::layered(work.path(), tag, &[shared, own.as_bytes()]);
        push(&layout, tag, &format!("docker://{host}/containers/app:{tag}"), false).await;
        images.push((tag, manifest, layers));
    }
    assert_eq!(tags(&server).await, ["stable", "v1", "v2", "v3", "v4"]);

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
    let (v1_manifest, v2_manifest) = (&images[1].1, &images[2].1);
    assert_eq!(
        listed,
        vec![
            "app:v1".to_string(),
            "app:v2".to_string(),
            format!("app@{v1_manifest}"),
            format!("app@{v2_manifest}")
        ],
        "{preview}"
    );
    assert!(
        preview["removed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["reason"] == "keep_last_tags")
    );
    assert_eq!(tags(&server).await.len(), 5, "a preview changes nothing");

    let done = post(&server, "/api/v2/repositories/containers/retention").await;
    assert_eq!(done["objects"], 4, "{done}");
    assert_eq!(tags(&server).await, ["stable", "v3", "v4"]);
    let gone = reqwest::Client::new()
        .get(server.url(&format!("/v2/containers/app/manifests/{v1_manifest}")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404, "the untagged manifest went too");

    // GC: the first run drops the deleted images' layer links, the next frees their blobs.
    post(&server, "/api/v2/gc").await;
    post(&server, "/api/v2/gc").await;
    for (tag, _, layers) in &images {
        let freed = matches!(*tag, "v1" | "v2");
        assert_eq!(!stored(&server, &layers[1]), freed, "{tag}'s own layer");
    }
    assert!(stored(&server, &images[0].2[0]), "the shared layer stays");
    for tag in ["stable", "v4"] {
        pull(
            &format!("docker://{host}/containers/app:{tag}"),
            &work.path().join(format!("pulled-{tag}")),
            false,
        )
        .await;
    }
}
