//! Putting a training set where Gradients can read it: a Hugging Face Hub dataset repository,
//! through the services' Hub client.

use crate::hf::{HubClient, RepoId, RepoKind, UploadFile};
use crate::{ServiceError, ServiceResult};

/// Largest training set uploaded (512 MiB).
pub const MAX_DATASET_BYTES: usize = 512 << 20;

/// Checks that `bytes` are JSONL chat rows (`{"messages": [{"role", "content"}, …]}` per
/// line); returns the number of rows.
pub fn check_jsonl(bytes: &[u8]) -> ServiceResult<usize> {
    if bytes.len() > MAX_DATASET_BYTES {
        return Err(ServiceError::Invalid(format!(
            "the training set is larger than {MAX_DATASET_BYTES} bytes"
        )));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ServiceError::Invalid("the training set is not UTF-8".into()))?;
    let mut rows = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| ServiceError::Invalid(format!("line {}: not JSON: {e}", i + 1)))?;
        let ok = v["messages"].as_array().is_some_and(|m| {
            !m.is_empty()
                && m.iter()
                    .all(|x| x["role"].is_string() && x["content"].is_string())
        });
        if !ok {
            return Err(ServiceError::Invalid(format!(
                "line {}: expected {{\"messages\": [{{\"role\", \"content\"}}, …]}}",
                i + 1
            )));
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(ServiceError::Invalid("the training set has no rows".into()));
    }
    Ok(rows)
}

/// Where an uploaded training set is: the Hub dataset repository and the file's download URL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadedDataset {
    /// The dataset repository (`owner/name`): Gradients' HF-dataset route (`--dataset
    /// owner/name`).
    pub repo: String,
    /// The file's `resolve/main` URL: the custom-dataset route (`--dataset <url>`).
    pub url: String,
    /// Chat rows in the file.
    pub rows: usize,
    /// The commit's web address.
    pub commit_url: String,
}

/// Uploads a JSONL training set to the Hugging Face *dataset* repository `repo` as `path`
/// (creating the repository when missing, `private` or public). Gradients' miners read it
/// without a token: a private repository only works for its owner.
pub async fn upload_dataset(
    hub: &HubClient,
    repo: &RepoId,
    path: &str,
    bytes: Vec<u8>,
    private: bool,
) -> ServiceResult<UploadedDataset> {
    let rows = check_jsonl(&bytes)?;
    hub.create_repo_of(RepoKind::Dataset, repo, private).await?;
    let commit = hub
        .upload_files_to(
            RepoKind::Dataset,
            repo,
            "main",
            &[UploadFile {
                path: path.to_string(),
                bytes,
            }],
            "synth-city: training set for Gradients",
        )
        .await?;
    tracing::info!(commit = %commit.commit_url, "training set uploaded");
    Ok(UploadedDataset {
        repo: repo.to_string(),
        url: hub.file_url(RepoKind::Dataset, repo, "main", path),
        rows,
        commit_url: commit.commit_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_rows_are_checked() {
        let ok = b"{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"assistant\",\"content\":\"b\"}]}\n\n";
        assert_eq!(check_jsonl(ok).unwrap(), 1);
        assert!(check_jsonl(b"").is_err());
        assert!(check_jsonl(b"{\"messages\":[]}").is_err());
        assert!(check_jsonl(b"{\"messages\":[{\"role\":1}]}").is_err());
        assert!(check_jsonl(b"not json").is_err());
        assert!(check_jsonl(&[0xff, 0xfe]).is_err());
    }
}
