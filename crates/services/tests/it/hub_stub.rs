//! A stub Hugging Face Hub on 127.0.0.1 speaking the documented commit protocol
//! (services.md §10a): repo creation, preupload (binary files → `lfs`), the Git LFS batch API
//! with pre-signed PUTs on a token-less path, the NDJSON commit (which refuses LFS objects it
//! never received), the tree listing and `resolve` downloads — for model repositories
//! (`/api/models/…`, `/<owner>/<name>…`) and dataset repositories (`/api/datasets/…`,
//! `/datasets/<owner>/<name>…`; kept under the key `datasets/<owner>/<name>`). Shared by the
//! services and the research tests.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A repository's files: path → (bytes, LFS oid).
pub type RepoFiles = BTreeMap<String, (Vec<u8>, Option<String>)>;

/// What the stub holds and how it misbehaves.
#[derive(Default)]
pub struct HubState {
    /// The token it accepts.
    pub token: String,
    /// Base URL (for upload hrefs).
    pub base: String,
    /// Repositories created (`owner/name`; `datasets/owner/name` for datasets).
    pub repos: HashSet<String>,
    /// LFS objects received (oid → bytes).
    pub lfs: HashMap<String, Vec<u8>>,
    /// Committed files per repo: path → (bytes, lfs oid).
    pub files: BTreeMap<String, RepoFiles>,
    /// Commits made.
    pub commits: u32,
    /// PUTs received.
    pub puts: u32,
    /// Fail every LFS PUT after this many succeeded (an upload breaking off halfway).
    pub fail_puts_after: Option<u32>,
    /// Answer 429 (Retry-After: 0) to this many preupload calls first.
    pub rate_limit_preuploads: u32,
    /// Authorization headers seen on LFS PUTs (must never carry the token).
    pub put_auth: Vec<String>,
    /// The last commit body's NDJSON lines.
    pub last_commit: Vec<Value>,
}

/// Shared stub state.
pub type Shared = Arc<Mutex<HubState>>;

fn authed(st: &HubState, h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", st.token))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        "Invalid credentials in Authorization header",
    )
        .into_response()
}

async fn create(State(s): State<Shared>, h: HeaderMap, Json(b): Json<Value>) -> Response {
    let mut st = s.lock().unwrap();
    if !authed(&st, &h) {
        return unauthorized();
    }
    let prefix = match b["type"].as_str() {
        Some("model") | None => "",
        Some("dataset") => "datasets/",
        Some(other) => {
            return (StatusCode::BAD_REQUEST, format!("bad type {other}")).into_response()
        }
    };
    let id = format!(
        "{prefix}{}/{}",
        b["organization"].as_str().unwrap_or(""),
        b["name"].as_str().unwrap_or("")
    );
    if !st.repos.insert(id.clone()) {
        return (StatusCode::CONFLICT, "You already created this model repo").into_response();
    }
    Json(json!({"url": format!("{}/{id}", st.base)})).into_response()
}

async fn preupload(
    State(s): State<Shared>,
    Path((_o, _n, _rev)): Path<(String, String, String)>,
    h: HeaderMap,
    Json(b): Json<Value>,
) -> Response {
    let mut st = s.lock().unwrap();
    if !authed(&st, &h) {
        return unauthorized();
    }
    if st.rate_limit_preuploads > 0 {
        st.rate_limit_preuploads -= 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "0")],
            "slow down",
        )
            .into_response();
    }
    let files: Vec<Value> = b["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let binary = [".safetensors", ".png", ".bin"].iter().any(|e| path.ends_with(e));
            let big = f["size"].as_u64().unwrap() >= 10 * 1024 * 1024;
            // The sample is base64 of the first 512 bytes.
            let sample = base64::engine::general_purpose::STANDARD
                .decode(f["sample"].as_str().unwrap())
                .unwrap();
            assert!(sample.len() <= 512);
            json!({"path": path, "uploadMode": if binary || big {"lfs"} else {"regular"}, "shouldIgnore": false})
        })
        .collect();
    Json(json!({"files": files})).into_response()
}

async fn batch(
    State(s): State<Shared>,
    Path((_o, _repo_git)): Path<(String, String)>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let st = s.lock().unwrap();
    if !authed(&st, &h) {
        return unauthorized();
    }
    let b: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(b["operation"], "upload");
    assert_eq!(b["hash_algo"], "sha256");
    let objects: Vec<Value> = b["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            let oid = o["oid"].as_str().unwrap();
            if st.lfs.contains_key(oid) {
                json!({"oid": oid, "size": o["size"]})
            } else {
                json!({"oid": oid, "size": o["size"], "actions": {
                    "upload": {"href": format!("{}/lfs-storage/{oid}", st.base), "header": {"x-amz-stub": "1"}},
                    "verify": {"href": format!("{}/lfs-verify", st.base), "header": {}},
                }})
            }
        })
        .collect();
    (
        [("content-type", "application/vnd.git-lfs+json")],
        Json(json!({"transfer": "basic", "objects": objects})),
    )
        .into_response()
}

async fn lfs_put(
    State(s): State<Shared>,
    Path(oid): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = s.lock().unwrap();
    st.put_auth.push(
        h.get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
    );
    if let Some(n) = st.fail_puts_after {
        if st.puts >= n {
            return (StatusCode::BAD_REQUEST, "upload broke off").into_response();
        }
    }
    st.puts += 1;
    if hex::encode(Sha256::digest(&body)) != oid {
        return (StatusCode::BAD_REQUEST, "sha mismatch").into_response();
    }
    st.lfs.insert(oid, body.to_vec());
    StatusCode::OK.into_response()
}

async fn lfs_verify(State(s): State<Shared>, h: HeaderMap, Json(b): Json<Value>) -> Response {
    let st = s.lock().unwrap();
    if !authed(&st, &h) {
        return unauthorized();
    }
    if st.lfs.contains_key(b["oid"].as_str().unwrap_or("")) {
        StatusCode::OK.into_response()
    } else {
        (StatusCode::NOT_FOUND, "object not found").into_response()
    }
}

async fn commit(
    s: State<Shared>,
    Path((o, n, rev)): Path<(String, String, String)>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    commit_in("", s, (o, n, rev), h, body)
}

async fn dataset_commit(
    s: State<Shared>,
    Path((o, n, rev)): Path<(String, String, String)>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    commit_in("datasets/", s, (o, n, rev), h, body)
}

fn commit_in(
    prefix: &str,
    State(s): State<Shared>,
    (o, n, _rev): (String, String, String),
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = s.lock().unwrap();
    if !authed(&st, &h) {
        return unauthorized();
    }
    assert_eq!(
        h.get("content-type").unwrap().to_str().unwrap(),
        "application/x-ndjson"
    );
    let lines: Vec<Value> = std::str::from_utf8(&body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["key"], "header");
    let repo = format!("{prefix}{o}/{n}");
    if !st.repos.contains(&repo) {
        return (StatusCode::NOT_FOUND, "Repository not found").into_response();
    }
    let mut staged = BTreeMap::new();
    for l in &lines[1..] {
        let v = &l["value"];
        let path = v["path"].as_str().unwrap().to_string();
        match l["key"].as_str().unwrap() {
            "file" => {
                assert_eq!(v["encoding"], "base64");
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v["content"].as_str().unwrap())
                    .unwrap();
                staged.insert(path, (bytes, None));
            }
            "lfsFile" => {
                let oid = v["oid"].as_str().unwrap();
                let Some(bytes) = st.lfs.get(oid) else {
                    return (
                        StatusCode::BAD_REQUEST,
                        format!("LFS object {oid} not uploaded"),
                    )
                        .into_response();
                };
                staged.insert(path, (bytes.clone(), Some(oid.to_string())));
            }
            other => panic!("unexpected op {other}"),
        }
    }
    st.files.entry(repo.clone()).or_default().extend(staged);
    st.commits += 1;
    st.last_commit = lines;
    let oid = format!("{:040x}", st.commits);
    Json(json!({"commitUrl": format!("{}/{repo}/commit/{oid}", st.base), "commitOid": oid, "pullRequestUrl": null}))
        .into_response()
}

async fn tree(s: State<Shared>, p: Path<(String, String, String)>) -> Response {
    tree_in("", s, p)
}

async fn dataset_tree(s: State<Shared>, p: Path<(String, String, String)>) -> Response {
    tree_in("datasets/", s, p)
}

fn tree_in(
    prefix: &str,
    State(s): State<Shared>,
    Path((o, n, _rev)): Path<(String, String, String)>,
) -> Response {
    let st = s.lock().unwrap();
    let Some(files) = st.files.get(&format!("{prefix}{o}/{n}")) else {
        return (StatusCode::NOT_FOUND, "Repository not found").into_response();
    };
    let list: Vec<Value> = files
        .iter()
        .map(|(p, (b, lfs))| match lfs {
            Some(oid) => json!({"type": "file", "path": p, "size": b.len(), "oid": "x", "lfs": {"oid": oid, "size": b.len(), "pointerSize": 134}}),
            None => json!({"type": "file", "path": p, "size": b.len(), "oid": "x"}),
        })
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn resolve(s: State<Shared>, p: Path<(String, String, String, String)>) -> Response {
    resolve_in("", s, p)
}

async fn dataset_resolve(s: State<Shared>, p: Path<(String, String, String, String)>) -> Response {
    resolve_in("datasets/", s, p)
}

fn resolve_in(
    prefix: &str,
    State(s): State<Shared>,
    Path((o, n, _rev, path)): Path<(String, String, String, String)>,
) -> Response {
    let st = s.lock().unwrap();
    match st
        .files
        .get(&format!("{prefix}{o}/{n}"))
        .and_then(|f| f.get(&path))
    {
        Some((b, _)) => b.clone().into_response(),
        None => (StatusCode::NOT_FOUND, "Entry not found").into_response(),
    }
}

/// Starts the stub; returns its base URL and state.
pub async fn start(token: &str) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(HubState {
        token: token.to_string(),
        ..Default::default()
    }));
    let app = Router::new()
        .route("/api/repos/create", post(create))
        .route("/api/models/{o}/{n}/preupload/{rev}", post(preupload))
        .route("/api/models/{o}/{n}/commit/{rev}", post(commit))
        .route("/api/models/{o}/{n}/tree/{rev}", get(tree))
        .route("/{o}/{repo_git}/info/lfs/objects/batch", post(batch))
        .route("/api/datasets/{o}/{n}/preupload/{rev}", post(preupload))
        .route("/api/datasets/{o}/{n}/commit/{rev}", post(dataset_commit))
        .route("/api/datasets/{o}/{n}/tree/{rev}", get(dataset_tree))
        .route(
            "/datasets/{o}/{repo_git}/info/lfs/objects/batch",
            post(batch),
        )
        .route(
            "/datasets/{o}/{n}/resolve/{rev}/{*path}",
            get(dataset_resolve),
        )
        .route("/lfs-storage/{oid}", put(lfs_put))
        .route("/lfs-verify", post(lfs_verify))
        .route("/{o}/{n}/resolve/{rev}/{*path}", get(resolve))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    state.lock().unwrap().base = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, state)
}
