use super::*;
use crate::domain::digest::Digest;
use crate::domain::formats::terraform::hosted::GpgPublicKey;
use crate::domain::repository::{LocalSettings, ManagedBy, RepoName, VirtualSettings};
use crate::ports::HostedFile;
use crate::ports::hosted_files::MockHostedFiles;
use crate::ports::release_signer::MockReleaseSigner;
use crate::ports::repository_catalog::MockRepositoryCatalog;

fn repo(name: &str, package: PackageType, settings: KindSettings) -> Repository {
    Repository {
        name: RepoName::new(name).unwrap(),
        package,
        settings,
        managed_by: ManagedBy::Api,
    }
}

fn local(name: &str) -> Repository {
    repo(
        name,
        PackageType::Terraform,
        KindSettings::Local(LocalSettings::default()),
    )
}

fn file(repo: &str, path: &str, fill: char) -> HostedFile {
    HostedFile {
        repo: repo.into(),
        path: path.into(),
        digest: Digest::from_sha256_hex(&fill.to_string().repeat(64)).unwrap(),
        size: 10,
        content_type: None,
        created_at: chrono::DateTime::UNIX_EPOCH,
    }
}

/// A registry over `repos`, whose files are `files` (listed as the port's contract says).
fn registry(repos: Vec<Repository>, files: Vec<HostedFile>) -> ProviderRegistry {
    let mut catalog = MockRepositoryCatalog::new();
    catalog
        .expect_get()
        .returning(move |name| Ok(repos.iter().find(|r| r.name.as_str() == name).cloned()));
    let mut hosted = MockHostedFiles::new();
    hosted.expect_list().returning(move |repo, page| {
        let mut rows: Vec<HostedFile> = files
            .iter()
            .filter(|f| f.repo == repo && f.path.starts_with(&page.prefix))
            .filter(|f| page.after.as_ref().is_none_or(|a| f.path > *a))
            .cloned()
            .collect();
        rows.sort_by(|a, b| a.path.cmp(&b.path));
        rows.truncate(page.limit as usize);
        Ok(rows)
    });
    let mut signer = MockReleaseSigner::new();
    signer.expect_public_key().returning(|| GpgPublicKey {
        key_id: "0123456789ABCDEF".into(),
        ascii_armor: "armor".into(),
    });
    signer
        .expect_sign_detached()
        .returning(|data| Ok([b"sig:".as_slice(), data].concat()));
    ProviderRegistry::new(
        Arc::new(catalog),
        Arc::new(hosted),
        Arc::new(signer),
        vec!["5.0".into(), "6.0".into()],
    )
}

const RANDOM: ProviderName<'static> = ProviderName {
    namespace: "tf",
    provider: "random",
};

#[tokio::test]
async fn local_versions_download_and_signed_sums() {
    let r = registry(
        vec![local("tf")],
        vec![
            file("tf", "random/terraform-provider-random_1.0.0_linux_amd64.zip", 'a'),
            file("tf", "random/terraform-provider-random_1.0.0_darwin_arm64.zip", 'b'),
            file("tf", "random/terraform-provider-random_1.1.0_linux_amd64.zip", 'c'),
            file("tf", "random/README.md", 'd'),
            file("tf", "other/terraform-provider-other_9.0.0_linux_amd64.zip", 'e'),
        ],
    );
    let versions = r.versions(RANDOM).await.unwrap();
    let listed: Vec<&str> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec!["1.1.0", "1.0.0"]);

    let doc = r
        .download(RANDOM, "1.0.0", "linux", "amd64", "https://reg:8443")
        .await
        .unwrap();
    assert_eq!(
        doc["download_url"],
        "https://reg:8443/api/v1/local/tf/random/terraform-provider-random_1.0.0_linux_amd64.zip"
    );
    assert_eq!(
        doc["shasums_url"],
        "https://reg:8443/terraform/providers/v1/tf/random/1.0.0/SHA256SUMS"
    );
    assert_eq!(
        doc["shasums_signature_url"],
        format!("{}.sig", doc["shasums_url"].as_str().unwrap())
    );
    assert_eq!(doc["shasum"], "a".repeat(64));
    assert_eq!(doc["protocols"], serde_json::json!(["5.0", "6.0"]));

    let sums = r.shasums(RANDOM, "1.0.0").await.unwrap();
    assert_eq!(sums.lines().count(), 2);
    assert!(sums.contains(&format!(
        "{}  terraform-provider-random_1.0.0_linux_amd64.zip",
        "a".repeat(64)
    )));
    assert!(!sums.contains("1.1.0"));
    let sig = r.shasums_signature(RANDOM, "1.0.0").await.unwrap();
    assert_eq!(sig, [b"sig:".as_slice(), sums.as_bytes()].concat());
}

#[tokio::test]
async fn misses_and_wrong_repositories() {
    let r = registry(
        vec![
            local("tf"),
            repo(
                "files",
                PackageType::Generic,
                KindSettings::Local(LocalSettings::default()),
            ),
        ],
        vec![file(
            "tf",
            "random/terraform-provider-random_1.0.0_linux_amd64.zip",
            'a',
        )],
    );
    let miss = |e: HostedError| matches!(e, HostedError::NotFound(_));
    assert!(miss(
        r.download(RANDOM, "1.0.0", "windows", "amd64", "").await.unwrap_err()
    ));
    assert!(miss(
        r.download(RANDOM, "2.0.0", "linux", "amd64", "").await.unwrap_err()
    ));
    assert!(miss(r.shasums(RANDOM, "not-a-version").await.unwrap_err()));
    let none = ProviderName {
        namespace: "tf",
        provider: "none",
    };
    assert!(miss(r.versions(none).await.unwrap_err()));
    let bad = ProviderName {
        namespace: "tf",
        provider: "Bad_Name",
    };
    assert!(miss(r.versions(bad).await.unwrap_err()));
    let generic = ProviderName {
        namespace: "files",
        provider: "random",
    };
    assert!(matches!(
        r.versions(generic).await.unwrap_err(),
        HostedError::WrongKind { .. }
    ));
    let absent = ProviderName {
        namespace: "nope",
        provider: "random",
    };
    assert!(matches!(
        r.versions(absent).await.unwrap_err(),
        HostedError::RepositoryNotFound(_)
    ));
}

#[tokio::test]
async fn a_virtual_merges_versions_first_member_first() {
    let members = ["one", "missing", "files", "two"]
        .iter()
        .map(|m| RepoName::new(m).unwrap())
        .collect();
    let r = registry(
        vec![
            repo(
                "all",
                PackageType::Terraform,
                KindSettings::Virtual(VirtualSettings::new(members)),
            ),
            local("one"),
            local("two"),
            repo(
                "files",
                PackageType::Generic,
                KindSettings::Local(LocalSettings::default()),
            ),
        ],
        vec![
            file("one", "random/terraform-provider-random_1.0.0_linux_amd64.zip", 'a'),
            file("two", "random/terraform-provider-random_1.0.0_darwin_arm64.zip", 'b'),
            file("two", "random/terraform-provider-random_2.0.0_linux_amd64.zip", 'c'),
            file("files", "random/terraform-provider-random_3.0.0_linux_amd64.zip", 'd'),
        ],
    );
    let all = ProviderName {
        namespace: "all",
        provider: "random",
    };
    let versions = r.versions(all).await.unwrap();
    assert_eq!(
        versions["versions"],
        serde_json::json!([
            {"version": "2.0.0", "protocols": ["5.0", "6.0"], "platforms": [{"os": "linux", "arch": "amd64"}]},
            {"version": "1.0.0", "protocols": ["5.0", "6.0"], "platforms": [{"os": "linux", "arch": "amd64"}]},
        ])
    );
    let doc = r.download(all, "2.0.0", "linux", "amd64", "https://h").await.unwrap();
    assert_eq!(
        doc["download_url"],
        "https://h/api/v1/local/two/random/terraform-provider-random_2.0.0_linux_amd64.zip"
    );
    assert_eq!(
        doc["shasums_url"],
        "https://h/terraform/providers/v1/two/random/2.0.0/SHA256SUMS"
    );
    // 1.0.0 comes whole from the first member: its darwin build in `two` is not offered.
    assert!(matches!(
        r.download(all, "1.0.0", "darwin", "arm64", "").await.unwrap_err(),
        HostedError::NotFound(_)
    ));
    let sums = r.shasums(all, "1.0.0").await.unwrap();
    assert_eq!(
        sums,
        format!("{}  terraform-provider-random_1.0.0_linux_amd64.zip\n", "a".repeat(64))
    );
}
