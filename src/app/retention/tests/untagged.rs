//! Untagged manifest retention over the same fakes as `tags`.
use super::tags::{Files, IMAGE, INDEX, files_pulled, row, service};
use super::*;
use crate::domain::repository::{KindSettings, LocalSettings, PackageType, RepoName};
use crate::ports::blob_store::MockBlobStore;
use crate::ports::{BlobMeta, BlobObject};
use std::collections::HashMap;

fn docker(days: u32) -> Repository {
    Repository {
        name: RepoName::new("reg").unwrap(),
        package: PackageType::Docker,
        settings: KindSettings::Local(LocalSettings {
            untagged_manifest_days: Some(days),
            ..LocalSettings::default()
        }),
        managed_by: ManagedBy::Api,
    }
}

fn image_with_subject(subject: Option<&Digest>) -> String {
    let config = Digest::of_bytes(b"{}");
    let subject = subject.map_or(String::new(), |s| {
        format!(r#","subject":{{"mediaType":"{IMAGE}","digest":"{s}","size":10}}"#)
    });
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{IMAGE}","config":{{"mediaType":"x","digest":"{config}","size":2}},"layers":[]{subject}}}"#
    )
}

fn index_of(child: &Digest) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{INDEX}","manifests":[{{"mediaType":"{IMAGE}","digest":"{child}","size":5}}]}}"#
    )
}

fn blobs(bodies: HashMap<Digest, String>) -> MockBlobStore {
    let mut blobs = MockBlobStore::new();
    blobs.expect_get().returning(move |key, _| {
        let body = bodies
            .iter()
            .find(|(d, _)| key.ends_with(d.hex()))
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| panic!("unexpected read of {key}"));
        let bytes = bytes::Bytes::from(body);
        Ok(BlobObject {
            meta: BlobMeta {
                size: bytes.len() as u64,
                last_modified: None,
            },
            body: Box::pin(futures::stream::once(async move { Ok(bytes) })),
        })
    });
    blobs
}

#[tokio::test]
async fn old_unpulled_untagged_manifests_go_unless_an_index_or_a_subject_holds_them() {
    let now = Utc::now();
    let day = 60 * 24;
    let d = |name: &str| Digest::of_bytes(name.as_bytes());
    let (tagged, old, pulled, new) = (d("tagged"), d("old"), d("pulled"), d("new"));
    let (sig, sig_old, c1, c2) = (d("sig"), d("sig-old"), d("c1"), d("c2"));
    let (index_old, index_tagged) = (d("index-old"), d("index-tagged"));
    let mut bodies: HashMap<Digest, String> = HashMap::new();
    for plain in [&tagged, &old, &pulled, &new, &c1, &c2] {
        bodies.insert(plain.clone(), image_with_subject(None));
    }
    bodies.insert(sig.clone(), image_with_subject(Some(&tagged)));
    bodies.insert(sig_old.clone(), image_with_subject(Some(&old)));
    bodies.insert(index_old.clone(), index_of(&c1));
    bodies.insert(index_tagged.clone(), index_of(&c2));
    let manifest = |digest: &Digest, days_ago: i64, media: &str| {
        row(&format!("app/_manifests/{digest}"), digest, days_ago * day, media, now)
    };
    let rows: Files = Arc::new(Mutex::new(vec![
        row("_images/app", &tagged, 0, IMAGE, now),
        row("app/_tags/latest", &tagged, 10 * day, IMAGE, now),
        row("app/_tags/multi", &index_tagged, 10 * day, INDEX, now),
        manifest(&tagged, 10, IMAGE),
        manifest(&old, 10, IMAGE),
        manifest(&pulled, 10, IMAGE),
        manifest(&new, 1, IMAGE),
        manifest(&sig, 10, IMAGE),
        manifest(&sig_old, 10, IMAGE),
        manifest(&index_old, 10, INDEX),
        manifest(&c1, 10, IMAGE),
        manifest(&index_tagged, 10, INDEX),
        manifest(&c2, 10, IMAGE),
    ]));
    let recently = HashMap::from([(format!("app/_manifests/{pulled}"), now - chrono::Duration::days(1))]);
    let svc = service(
        docker(7),
        files_pulled(&rows, recently.clone()),
        blobs(bodies.clone()),
        now,
    );
    let preview = svc.repository("reg", true).await.unwrap();
    let done = svc.repository("reg", false).await.unwrap();
    let mut removed: Vec<String> = paths(&done).into_iter().map(str::to_string).collect();
    removed.sort();
    let mut expected: Vec<String> = [&old, &sig_old, &index_old, &c1]
        .iter()
        .map(|d| format!("app@{d}"))
        .collect();
    expected.sort();
    assert_eq!(removed, expected);
    assert_eq!(preview.removed, done.removed, "the preview is what the run does");
    assert!(done.removed.iter().all(|r| r.reason == Reason::UntaggedManifest));
    let left: Vec<Digest> = rows.lock().unwrap().iter().map(|f| f.digest.clone()).collect();
    for kept in [&tagged, &pulled, &new, &sig, &index_tagged, &c2] {
        assert!(left.contains(kept), "{kept} kept");
    }
    assert!(!left.contains(&old) && !left.contains(&c1));
}
