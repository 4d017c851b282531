//! [`services::hf::HubClient`] against the stub Hub: commit with preupload + LFS, downloads
//! with hash checks, and the 401 / 409 / 429 paths.

use std::time::Duration;

use services::hf::{HubClient, HubConfig, RepoFile, RepoId, UploadFile};
use services::http::HttpSettings;
use services::{Secret, ServiceError};

use crate::hub_stub;

fn fast() -> HttpSettings {
    HttpSettings {
        timeout: Duration::from_secs(10),
        ..crate::stub::fast(HttpSettings::default())
    }
}

fn client(base: &str, token: &str) -> HubClient {
    let cfg = HubConfig {
        endpoint: base.to_string(),
        token: Some(Secret::new(token)),
        default_repo: None,
    };
    HubClient::with_settings(&cfg, fast()).unwrap()
}

fn files() -> Vec<UploadFile> {
    vec![
        UploadFile {
            path: "model.json".into(),
            bytes: br#"{"format":1}"#.to_vec(),
        },
        UploadFile {
            path: "weights.safetensors".into(),
            bytes: (0..5000u32).flat_map(|i| i.to_le_bytes()).collect(),
        },
        UploadFile {
            path: "plots/fan.png".into(),
            bytes: vec![0x89, b'P', b'N', b'G', 1, 2, 3],
        },
    ]
}

#[tokio::test]
async fn commit_sends_small_files_inline_and_binaries_through_lfs() {
    let (base, st) = hub_stub::start("hf_good").await;
    let c = client(&base, "hf_good");
    let repo = RepoId::parse("me/model").unwrap();
    assert!(c.create_repo(&repo, true).await.unwrap());
    // 409 on a second create is "exists already", not an error.
    assert!(!c.create_repo(&repo, true).await.unwrap());
    let info = c
        .upload_files(&repo, "main", &files(), "add model")
        .await
        .unwrap();
    assert_eq!(info.lfs_uploaded, 2);
    assert!(info.commit_url.contains("/me/model/commit/"));
    {
        let s = st.lock().unwrap();
        assert_eq!(s.commits, 1);
        let keys: Vec<&str> = s
            .last_commit
            .iter()
            .map(|l| l["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["header", "file", "lfsFile", "lfsFile"]);
        assert_eq!(s.last_commit[0]["value"]["summary"], "add model");
        // The pre-signed storage URL never sees the token.
        assert_eq!(s.put_auth.len(), 2);
        assert!(s.put_auth.iter().all(|a| a.is_empty()), "{:?}", s.put_auth);
    }
    // Publishing the same files again: LFS objects already stored are not re-sent.
    let again = c
        .upload_files(&repo, "main", &files(), "again")
        .await
        .unwrap();
    assert_eq!(again.lfs_uploaded, 0);

    // Listing and verified download.
    let listed = c.list_files(&repo, "main").await.unwrap();
    assert_eq!(listed.len(), 3);
    let w = listed
        .iter()
        .find(|f| f.path == "weights.safetensors")
        .unwrap();
    assert!(w.lfs_sha256.is_some());
    let got = c.download(&repo, "main", w, 1 << 20).await.unwrap();
    assert_eq!(got, files()[1].bytes);
    // A listing whose hash does not match the bytes is refused.
    let lying = RepoFile {
        lfs_sha256: Some("00".repeat(32)),
        ..w.clone()
    };
    let err = c
        .download(&repo, "main", &lying, 1 << 20)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sha256"), "{err}");
    // So is a body larger than the cap.
    let err = c.download(&repo, "main", w, 100).await.unwrap_err();
    assert!(matches!(err, ServiceError::TooLarge { .. }), "{err}");
}

#[tokio::test]
async fn an_upload_failing_halfway_commits_nothing() {
    let (base, st) = hub_stub::start("hf_good").await;
    st.lock().unwrap().fail_puts_after = Some(1);
    let c = client(&base, "hf_good");
    let repo = RepoId::parse("me/model").unwrap();
    c.create_repo(&repo, false).await.unwrap();
    let err = c
        .upload_files(&repo, "main", &files(), "add")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 400"), "{err}");
    let s = st.lock().unwrap();
    assert_eq!(s.puts, 1, "one object went up before the failure");
    assert_eq!(s.commits, 0, "no commit after a failed upload");
    assert!(!s.files.contains_key("me/model"));
}

#[tokio::test]
async fn a_wrong_token_is_an_auth_error_naming_the_status() {
    let (base, _st) = hub_stub::start("hf_good").await;
    let c = client(&base, "hf_bad");
    let repo = RepoId::parse("me/model").unwrap();
    let err = c.create_repo(&repo, false).await.unwrap_err();
    assert!(
        matches!(err, ServiceError::Auth { status: 401, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("refused the credentials"), "{msg}");
    assert!(!msg.contains("hf_bad"), "the token leaked: {msg}");
}

#[tokio::test]
async fn rate_limits_are_retried_after_retry_after() {
    let (base, st) = hub_stub::start("hf_good").await;
    st.lock().unwrap().rate_limit_preuploads = 2;
    let c = client(&base, "hf_good");
    let repo = RepoId::parse("me/model").unwrap();
    c.create_repo(&repo, false).await.unwrap();
    c.upload_files(&repo, "main", &files(), "add")
        .await
        .unwrap();
    assert_eq!(st.lock().unwrap().commits, 1);
    // Past the retries: a RateLimited error that says so.
    st.lock().unwrap().rate_limit_preuploads = 100;
    let err = c
        .upload_files(&repo, "main", &files(), "add")
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::RateLimited { .. }), "{err}");
}

#[tokio::test]
async fn unsafe_paths_are_refused_before_anything_is_sent() {
    let (base, st) = hub_stub::start("hf_good").await;
    let c = client(&base, "hf_good");
    let repo = RepoId::parse("me/model").unwrap();
    let bad = vec![UploadFile {
        path: "../escape".into(),
        bytes: vec![1],
    }];
    assert!(c.upload_files(&repo, "main", &bad, "x").await.is_err());
    assert_eq!(st.lock().unwrap().commits, 0);
}

#[tokio::test]
async fn dataset_repositories_use_the_dataset_paths() {
    use services::hf::RepoKind;
    let (base, st) = hub_stub::start("hf_good").await;
    let c = client(&base, "hf_good");
    let repo = RepoId::parse("me/plans").unwrap();
    assert!(c
        .create_repo_of(RepoKind::Dataset, &repo, false)
        .await
        .unwrap());
    assert!(!c
        .create_repo_of(RepoKind::Dataset, &repo, false)
        .await
        .unwrap());
    let info = c
        .upload_files_to(RepoKind::Dataset, &repo, "main", &files(), "add")
        .await
        .unwrap();
    assert_eq!(info.lfs_uploaded, 2, "LFS through datasets/<repo>.git");
    {
        let s = st.lock().unwrap();
        assert!(s.repos.contains("datasets/me/plans"));
        assert!(!s.repos.contains("me/plans"), "no model repository made");
        assert_eq!(s.files["datasets/me/plans"].len(), 3);
    }
    let listed = c
        .list_files_of(RepoKind::Dataset, &repo, "main")
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
    // The model namespace does not have it.
    assert!(c.list_files(&repo, "main").await.is_err());
    assert_eq!(
        c.repo_url_of(RepoKind::Dataset, &repo),
        format!("{base}/datasets/me/plans")
    );
    let url = c.file_url(RepoKind::Dataset, &repo, "main", "model.json");
    assert_eq!(
        url,
        format!("{base}/datasets/me/plans/resolve/main/model.json")
    );
    let got = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&got[..], br#"{"format":1}"#);
}
