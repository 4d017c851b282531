//! A run as a Hugging Face Hub model repository, both ways: the files a run publishes (its
//! artifacts under their names, `record.json`, the model card) and pulling a published run back
//! into the archive with every file's hash checked.

use serde::Serialize;
use services::hf::{HubClient, HubRef, RepoId, UploadFile};

use super::card::model_card;
use super::service_err;
use crate::model_store::{read_artifact, MODEL_ARTIFACT};
use crate::record::{RunRecord, RunStatus};
use crate::store::Archive;
use crate::{ResearchError, Result};

/// Repository path of the run record.
pub const RECORD_FILE: &str = "record.json";
/// Repository path of the model card.
pub const CARD_FILE: &str = "README.md";
/// Largest `record.json` read from a repository.
const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// Largest model pulled (all files together).
pub const MAX_PULL_BYTES: u64 = 4 << 30;

/// The files publishing `rec` puts in `repo`: every artifact (hash-checked on the way out)
/// under its name, `record.json` and `README.md`. Refuses a failed run and one that stored no
/// model.
pub fn hub_files(archive: &Archive, rec: &RunRecord, repo: &RepoId) -> Result<Vec<UploadFile>> {
    if rec.status != RunStatus::Ok {
        return Err(ResearchError::invalid(format!(
            "run {} did not succeed; only successful runs can be published",
            rec.run_id
        )));
    }
    if !rec.artifacts.iter().any(|a| a.name == MODEL_ARTIFACT) {
        return Err(ResearchError::not_found(format!(
            "run {} stored no {MODEL_ARTIFACT}: there is no model to publish",
            rec.run_id
        )));
    }
    let mut files = Vec::new();
    for a in &rec.artifacts {
        check_name(&a.name)?;
        files.push(UploadFile {
            path: a.name.clone(),
            bytes: read_artifact(archive, rec, &a.name)?,
        });
    }
    let fan = rec
        .artifacts
        .iter()
        .find(|a| a.name == "plots/fan.png")
        .map(|a| a.name.as_str());
    files.push(UploadFile {
        path: RECORD_FILE.into(),
        bytes: serde_json::to_vec_pretty(rec)?,
    });
    files.push(UploadFile {
        path: CARD_FILE.into(),
        bytes: model_card(rec, &repo.to_string(), fan).into_bytes(),
    });
    Ok(files)
}

/// An artifact name from a record: a relative path without `..`, hidden or empty parts.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name.split('/').all(|p| {
            !p.is_empty()
                && !p.starts_with('.')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
    if ok {
        Ok(())
    } else {
        Err(ResearchError::invalid(format!(
            "artifact name {name:?} is not a safe relative path"
        )))
    }
}

/// What [`pull`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullReport {
    /// The run, as registered here.
    pub run_id: String,
    /// Repository.
    pub repo: String,
    /// Revision asked for.
    pub revision: String,
    /// Files downloaded (0 when the run was already here).
    pub files: usize,
    /// Bytes downloaded.
    pub bytes: u64,
    /// True when the run was already in the registry (nothing downloaded).
    pub already_present: bool,
}

/// Downloads the run published at `r`, checks every artifact's SHA-256 against its record (and
/// LFS files against the Hub's), and registers it: backtests (`run:<id>`), champion promotion
/// and the miner can use it. Nothing is registered unless every file arrived intact.
pub async fn pull(archive: &Archive, hub: &HubClient, r: &HubRef) -> Result<PullReport> {
    let listing = hub
        .list_files(&r.repo, &r.revision)
        .await
        .map_err(service_err)?;
    let record_file = listing
        .iter()
        .find(|f| f.path == RECORD_FILE)
        .ok_or_else(|| {
            ResearchError::not_found(format!(
                "hf://{}@{} has no {RECORD_FILE}: not a synth-city model repository",
                r.repo, r.revision
            ))
        })?;
    let bytes = hub
        .download(&r.repo, &r.revision, record_file, MAX_RECORD_BYTES)
        .await
        .map_err(service_err)?;
    let mut rec: RunRecord = serde_json::from_slice(&bytes)
        .map_err(|e| ResearchError::env(format!("{RECORD_FILE} of {}: {e}", r.repo)))?;
    let mut report = PullReport {
        run_id: rec.run_id.clone(),
        repo: r.repo.to_string(),
        revision: r.revision.clone(),
        files: 0,
        bytes: bytes.len() as u64,
        already_present: false,
    };
    if archive.registry.has_run(&rec.run_id)? {
        report.already_present = true;
        return Ok(report);
    }
    let total: u64 = rec.artifacts.iter().map(|a| a.size).sum();
    if total > MAX_PULL_BYTES {
        return Err(ResearchError::invalid(format!(
            "hf://{}: {total} bytes of artifacts, more than the {MAX_PULL_BYTES}-byte limit",
            r.repo
        )));
    }
    let mut files = Vec::new();
    for a in &rec.artifacts {
        check_name(&a.name)?;
        let f = listing.iter().find(|f| f.path == a.name).ok_or_else(|| {
            ResearchError::not_found(format!(
                "hf://{}@{}: {} is listed in {RECORD_FILE} but not in the repository",
                r.repo, r.revision, a.name
            ))
        })?;
        if f.size != a.size {
            return Err(ResearchError::env(format!(
                "{}: {} bytes in the repository, {} in {RECORD_FILE}",
                a.name, f.size, a.size
            )));
        }
        let bytes = hub
            .download(&r.repo, &r.revision, f, a.size as usize)
            .await
            .map_err(service_err)?;
        let sha = crate::fingerprint::sha256_hex(&bytes);
        if sha != a.sha256 {
            return Err(ResearchError::env(format!(
                "{}: sha256 {sha} differs from {RECORD_FILE}'s {}",
                a.name, a.sha256
            )));
        }
        report.bytes += bytes.len() as u64;
        report.files += 1;
        files.push((a.name.clone(), bytes));
    }
    rec.artifacts.clear();
    archive.record_run(rec, files)?;
    Ok(report)
}
