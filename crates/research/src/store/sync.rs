//! Sync (outbox → remote, then an append-only manifest segment) and restore (manifest → local).
//!
//! Crash safety: an object leaves the outbox only after it *and* the manifest segment naming it
//! are on the remote. A segment is named by this machine's id and the outbox id of its first
//! entry, so a batch redone after a crash overwrites its own segment instead of duplicating it,
//! and object puts are idempotent (same key, same bytes).

use std::collections::BTreeMap;

use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::local::{validate_key, LocalStore};
use super::remote::{describe, Remote};
use crate::fingerprint::sha256_hex;
use crate::record::RunRecord;
use crate::registry::{OutboxEntry, Registry};
use crate::{ResearchError, Result};

/// Key prefix of the manifest segments.
pub const MANIFEST_PREFIX: &str = "manifest";

/// One line of a manifest segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Object key.
    pub key: String,
    /// SHA-256 of its content.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Owning run.
    pub run_id: Option<String>,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Objects uploaded (and now recorded as synced).
    pub uploaded: u64,
    /// Manifest segments written.
    pub segments: u64,
    /// Objects still waiting.
    pub pending: u64,
    /// Why the sync stopped early (remote down…), if it did.
    pub error: Option<String>,
}

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    /// Manifest segments read.
    pub segments: u64,
    /// Distinct objects named by the manifest.
    pub objects: u64,
    /// Objects downloaded (the rest were already here, same content).
    pub downloaded: u64,
    /// Run records added to the registry.
    pub runs_added: u64,
}

/// Uploads everything pending, `batch` objects per manifest segment. Stops at the first remote
/// error (the rest stays queued and the error is in the report).
pub async fn sync(
    reg: &Registry,
    local: &LocalStore,
    remote: &Remote,
    batch: usize,
) -> Result<SyncReport> {
    let batch = batch.max(1);
    let machine = reg.machine_id()?;
    let mut report = SyncReport::default();
    let mut after = 0i64;
    'outer: loop {
        let pending = reg.outbox_pending_after(after, batch)?;
        let Some(last) = pending.last() else { break };
        after = last.id;
        let mut done: Vec<OutboxEntry> = Vec::new();
        for e in &pending {
            let bytes = match local.read(&e.key) {
                Ok(b) => b,
                Err(err) => {
                    // The local copy is gone: keep the entry (and say so) without blocking others.
                    reg.outbox_mark_failed(e.id, &err.message)?;
                    continue;
                }
            };
            if sha256_hex(&bytes) != e.sha256 {
                reg.outbox_mark_failed(e.id, "local copy changed since it was queued")?;
                continue;
            }
            if let Err(err) = remote
                .store()
                .put(&remote.path(&e.key), PutPayload::from(bytes))
                .await
            {
                let msg = format!("upload {}: {}", e.key, describe(&err));
                reg.outbox_mark_failed(e.id, &msg)?;
                report.error = Some(msg);
                break;
            }
            done.push(e.clone());
        }
        if !done.is_empty() {
            let seg_key = format!("{MANIFEST_PREFIX}/{machine}/{:012}.jsonl", done[0].id);
            let mut body = String::new();
            for e in &done {
                let line = ManifestEntry {
                    key: e.key.clone(),
                    sha256: e.sha256.clone(),
                    size: e.size,
                    run_id: e.run_id.clone(),
                };
                body.push_str(
                    &serde_json::to_string(&line).map_err(|e| ResearchError::env(e.to_string()))?,
                );
                body.push('\n');
            }
            if let Err(err) = remote
                .store()
                .put(&remote.path(&seg_key), PutPayload::from(body.into_bytes()))
                .await
            {
                let msg = format!("manifest {seg_key}: {}", describe(&err));
                report.error = Some(msg);
                break 'outer;
            }
            reg.outbox_mark_synced(&done)?;
            report.uploaded += done.len() as u64;
            report.segments += 1;
        }
        if report.error.is_some() {
            break;
        }
    }
    report.pending = reg.outbox_status()?.pending;
    Ok(report)
}

/// Reads every manifest segment on the remote (one paginated listing of `manifest/` only).
pub async fn read_manifest(remote: &Remote) -> Result<(u64, BTreeMap<String, ManifestEntry>)> {
    let prefix = remote.path(MANIFEST_PREFIX);
    let mut metas: Vec<_> = remote
        .store()
        .list(Some(&prefix))
        .try_collect::<Vec<_>>()
        .await
        .map_err(|e| ResearchError::env(format!("listing the manifest: {}", describe(&e))))?;
    metas.sort_by(|a, b| a.location.as_ref().cmp(b.location.as_ref()));
    let mut entries = BTreeMap::new();
    for meta in &metas {
        let got = remote.store().get(&meta.location).await;
        let bytes = match got {
            Ok(g) => g.bytes().await,
            Err(e) => Err(e),
        }
        .map_err(|e| ResearchError::env(format!("reading {}: {}", meta.location, describe(&e))))?;
        let text = String::from_utf8_lossy(&bytes);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let e: ManifestEntry = serde_json::from_str(line).map_err(|err| {
                ResearchError::env(format!("bad manifest line in {}: {err}", meta.location))
            })?;
            entries.insert(e.key.clone(), e);
        }
    }
    Ok((metas.len() as u64, entries))
}

/// Brings the whole remote history here: every object named by the manifest is downloaded
/// (unless already present with the same content) and every run record enters the registry.
pub async fn restore(reg: &Registry, local: &LocalStore, remote: &Remote) -> Result<RestoreReport> {
    let (segments, entries) = read_manifest(remote).await?;
    let mut report = RestoreReport {
        segments,
        objects: entries.len() as u64,
        ..Default::default()
    };
    let mut records = Vec::new();
    for e in entries.values() {
        validate_key(&e.key)?;
        if local.sha256(&e.key).as_deref() != Some(e.sha256.as_str()) {
            let got = remote.store().get(&remote.path(&e.key)).await;
            let bytes = match got {
                Ok(g) => g.bytes().await,
                Err(err) => Err(err),
            }
            .map_err(|err| {
                ResearchError::env(format!("downloading {}: {}", e.key, describe(&err)))
            })?;
            if sha256_hex(&bytes) != e.sha256 {
                return Err(ResearchError::env(format!(
                    "{}: content does not match the manifest",
                    e.key
                )));
            }
            local.write(&e.key, &bytes)?;
            report.downloaded += 1;
        }
        reg.outbox_record_restored(&e.key, &e.sha256, e.size)?;
        if e.key.ends_with("/record.json") {
            records.push(e.key.clone());
        }
    }
    for key in records {
        let rec: RunRecord = serde_json::from_slice(&local.read(&key)?)
            .map_err(|err| ResearchError::env(format!("{key}: bad run record: {err}")))?;
        if reg.insert_run(&rec, None)? {
            report.runs_added += 1;
        }
    }
    Ok(report)
}
