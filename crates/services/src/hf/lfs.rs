//! Git LFS batch upload (the `basic` transfer): ask where to put each object, PUT its bytes
//! there, and confirm through the `verify` action when the server gives one.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::{HttpClient, Retry, ServiceError, ServiceResult};

/// Media type of the LFS batch API.
const LFS_JSON: &str = "application/vnd.git-lfs+json";

#[derive(Debug, Serialize)]
struct BatchRequest<'a> {
    operation: &'static str,
    transfers: [&'static str; 1],
    objects: Vec<Obj<'a>>,
    hash_algo: &'static str,
}

#[derive(Debug, Serialize, Deserialize)]
struct Obj<'a> {
    oid: &'a str,
    size: u64,
}

#[derive(Debug, Deserialize)]
struct BatchAnswer {
    #[serde(default)]
    objects: Vec<AnswerObject>,
}

#[derive(Debug, Deserialize)]
struct AnswerObject {
    oid: String,
    #[serde(default)]
    actions: Option<Actions>,
    #[serde(default)]
    error: Option<ObjError>,
}

#[derive(Debug, Deserialize)]
struct Actions {
    #[serde(default)]
    upload: Option<Action>,
    #[serde(default)]
    verify: Option<Action>,
}

#[derive(Debug, Deserialize)]
struct Action {
    href: String,
    #[serde(default)]
    header: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct ObjError {
    #[serde(default)]
    code: u32,
    #[serde(default)]
    message: String,
}

/// One object to upload: its SHA-256 (hex) and bytes.
pub(crate) struct LfsObject<'a> {
    pub oid: &'a str,
    pub bytes: &'a [u8],
}

/// Uploads `objects` to the LFS store of `repo` (`owner/name`, `datasets/owner/name`). `api` carries the Hub token (the
/// batch call); `storage` carries none (the upload URLs are pre-signed, often on another host,
/// and must not see the token). Objects the store already has (no `actions`) are skipped.
/// Returns how many were uploaded.
pub(crate) async fn upload(
    api: &HttpClient,
    storage: &HttpClient,
    repo: &str,
    objects: &[LfsObject<'_>],
) -> ServiceResult<usize> {
    if objects.is_empty() {
        return Ok(0);
    }
    let req = BatchRequest {
        operation: "upload",
        transfers: ["basic"],
        objects: objects
            .iter()
            .map(|o| Obj {
                oid: o.oid,
                size: o.bytes.len() as u64,
            })
            .collect(),
        hash_algo: "sha256",
    };
    let body = serde_json::to_vec(&req)
        .map_err(|e| ServiceError::Invalid(format!("encoding the LFS batch: {e}")))?;
    let path = format!("/{}.git/info/lfs/objects/batch", super::encode_path(repo));
    let answer: BatchAnswer = api
        .send(Method::POST, &path, Retry::Idempotent, |rb| {
            rb.header("accept", LFS_JSON)
                .header("content-type", LFS_JSON)
                .body(body.clone())
        })
        .await?
        .json(api.service())?;
    let mut uploaded = 0;
    for o in objects {
        let a = answer
            .objects
            .iter()
            .find(|a| a.oid == o.oid)
            .ok_or_else(|| ServiceError::Parse {
                service: api.service(),
                detail: format!("the LFS batch answer does not mention object {}", o.oid),
            })?;
        if let Some(err) = &a.error {
            return Err(ServiceError::Http {
                service: api.service(),
                status: if err.code == 0 { 422 } else { err.code as u16 },
                body: format!("LFS object {}: {}", o.oid, err.message),
            });
        }
        let Some(actions) = &a.actions else { continue };
        if let Some(up) = &actions.upload {
            let bytes = o.bytes.to_vec();
            storage
                .send(Method::PUT, &up.href, Retry::Idempotent, |mut rb| {
                    for (k, v) in &up.header {
                        rb = rb.header(k.as_str(), v.as_str());
                    }
                    rb.body(bytes.clone())
                })
                .await?;
            uploaded += 1;
        }
        if let Some(v) = &actions.verify {
            let body = serde_json::to_vec(&Obj {
                oid: o.oid,
                size: o.bytes.len() as u64,
            })
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
            // The token goes only to the Hub itself, never to another host.
            let on_hub =
                !v.href.starts_with("http") || v.href.starts_with(&format!("{}/", api.base_url()));
            let client = if on_hub { api } else { storage };
            client
                .send(Method::POST, &v.href, Retry::Idempotent, |mut rb| {
                    for (k, val) in &v.header {
                        rb = rb.header(k.as_str(), val.as_str());
                    }
                    rb.header("content-type", LFS_JSON).body(body.clone())
                })
                .await?;
        }
    }
    Ok(uploaded)
}
