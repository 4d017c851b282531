//! The commit API's wire format: the preupload request and answer, and the NDJSON commit body.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::{ServiceError, ServiceResult};

/// How the Hub wants a file: inline in the commit, or through Git LFS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadMode {
    /// Inline (base64 in the commit).
    Regular,
    /// Uploaded to LFS storage first; the commit names its sha256.
    Lfs,
}

/// One file of a preupload request.
#[derive(Debug, Serialize)]
pub(crate) struct PreuploadFile<'a> {
    pub path: &'a str,
    pub sample: String,
    pub size: u64,
    pub sha: &'a str,
}

/// The preupload request.
#[derive(Debug, Serialize)]
pub(crate) struct PreuploadRequest<'a> {
    pub files: Vec<PreuploadFile<'a>>,
}

/// One file of the preupload answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PreuploadAnswerFile {
    pub path: String,
    pub upload_mode: UploadMode,
    #[serde(default)]
    pub should_ignore: bool,
}

/// The preupload answer.
#[derive(Debug, Deserialize)]
pub(crate) struct PreuploadAnswer {
    pub files: Vec<PreuploadAnswerFile>,
}

/// Base64 of the first 512 bytes: the `sample` the Hub decides the upload mode on.
pub fn preupload_sample(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(&bytes[..bytes.len().min(512)])
}

/// One operation of a commit.
#[derive(Debug, Clone, PartialEq)]
pub enum CommitOp {
    /// A file sent inline.
    File {
        /// Path in the repository.
        path: String,
        /// Its bytes.
        content: Vec<u8>,
    },
    /// A file already in LFS storage.
    LfsFile {
        /// Path in the repository.
        path: String,
        /// SHA-256, hex.
        oid: String,
        /// Size in bytes.
        size: u64,
    },
    /// A file removed.
    Delete {
        /// Path in the repository.
        path: String,
    },
}

/// The NDJSON body of `POST /api/{models,datasets}/{repo}/commit/{revision}`: a header line, then one line
/// per operation.
pub(crate) fn ndjson(summary: &str, ops: &[CommitOp]) -> ServiceResult<Vec<u8>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut lines = vec![serde_json::json!({
        "key": "header",
        "value": {"summary": summary, "description": ""},
    })];
    for op in ops {
        lines.push(match op {
            CommitOp::File { path, content } => serde_json::json!({
                "key": "file",
                "value": {"path": path, "content": b64.encode(content), "encoding": "base64"},
            }),
            CommitOp::LfsFile { path, oid, size } => serde_json::json!({
                "key": "lfsFile",
                "value": {"path": path, "algo": "sha256", "oid": oid, "size": size},
            }),
            CommitOp::Delete { path } => serde_json::json!({
                "key": "deletedFile",
                "value": {"path": path},
            }),
        });
    }
    let mut out = Vec::new();
    for l in lines {
        serde_json::to_writer(&mut out, &l)
            .map_err(|e| ServiceError::Invalid(format!("encoding the commit: {e}")))?;
        out.push(b'\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndjson_has_a_header_and_one_line_per_op() {
        let body = ndjson(
            "add",
            &[
                CommitOp::File {
                    path: "a.json".into(),
                    content: b"{}".to_vec(),
                },
                CommitOp::LfsFile {
                    path: "w.safetensors".into(),
                    oid: "ab".repeat(32),
                    size: 9,
                },
            ],
        )
        .unwrap();
        let text = String::from_utf8(body).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["key"], "header");
        assert_eq!(lines[1]["value"]["content"], "e30=");
        assert_eq!(lines[2]["value"]["algo"], "sha256");
    }
}
