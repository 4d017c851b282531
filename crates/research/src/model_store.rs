//! Stored models: how a run keeps what it trained — neural weights (safetensors, spec in the
//! metadata) or a baseline's settings, described by `model.json` — and one held-out prompt's
//! sampled paths with the realised path; and how to load them back to serve or to check.
//!
//! Artifacts of a run (names inside `runs/<run id>/`):
//! - `model.json`: a [`ModelManifest`] (kind, timeframe, which file holds each asset's weights
//!   or the baseline settings, which file holds each asset's sample);
//! - `weights.safetensors` (first asset) and `weights-<asset>.safetensors` (any further asset);
//! - `sample-<asset>.json`: a [`StoredSample`].

use std::collections::BTreeMap;

use models::trained::{BaselineArtifact, PromptSample};
use models::Forecaster;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::record::{RunRecord, RunStatus};
use crate::store::Archive;
use crate::{ErrorKind, ResearchError, Result};

/// Artifact name of the model manifest.
pub const MODEL_ARTIFACT: &str = "model.json";
/// Artifact name of the (first asset's) weights.
pub const WEIGHTS_ARTIFACT: &str = "weights.safetensors";
/// Sampled paths kept in a [`StoredSample`] (the fan chart uses all of them).
pub const SAMPLE_PATHS_KEPT: usize = 100;
/// Current [`ModelManifest::format`].
pub const MODEL_FORMAT: u32 = 1;

/// Neural or baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Trained weights + spec.
    Neural,
    /// A statistical baseline: name + settings, no weights.
    Baseline,
}

/// `model.json`: what a run stored of its model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// Format version ([`MODEL_FORMAT`]).
    pub format: u32,
    /// Neural or baseline.
    pub kind: ModelKind,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// The baseline's name and settings (baselines only).
    #[serde(default)]
    pub baseline: Option<BaselineArtifact>,
    /// Asset → weights artifact name (neural only; one model per asset).
    #[serde(default)]
    pub weights: BTreeMap<String, String>,
    /// Asset → sample artifact name.
    #[serde(default)]
    pub samples: BTreeMap<String, String>,
}

impl ModelManifest {
    /// An empty manifest.
    pub fn new(kind: ModelKind, timeframe: &str) -> Self {
        Self {
            format: MODEL_FORMAT,
            kind,
            timeframe: timeframe.to_string(),
            baseline: None,
            weights: BTreeMap::new(),
            samples: BTreeMap::new(),
        }
    }

    /// The weights artifact name for the `index`-th asset of a run.
    pub fn weights_name(index: usize, asset: &str) -> String {
        if index == 0 {
            WEIGHTS_ARTIFACT.to_string()
        } else {
            format!("weights-{}.safetensors", asset.to_lowercase())
        }
    }

    /// The sample artifact name of `asset`.
    pub fn sample_name(asset: &str) -> String {
        format!("sample-{}.json", asset.to_lowercase())
    }
}

/// One held-out prompt as the run's final model answered it: the request (start, start price,
/// grid, seed), the first [`SAMPLE_PATHS_KEPT`] sampled paths and the realised prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSample {
    /// Asset.
    pub asset: String,
    /// Prompt start, UTC unix seconds.
    pub start_time: i64,
    /// First point of every path.
    pub start_price: f64,
    /// Seconds between points.
    pub time_increment: u32,
    /// Horizon, seconds.
    pub time_length: u32,
    /// Sampling seed of the request.
    pub seed: u64,
    /// Paths sampled for the prompt (`paths` keeps the first of them).
    pub num_simulations: usize,
    /// The first sampled paths, each with the start price.
    pub paths: Vec<Vec<f64>>,
    /// Realised prices on the same grid (`null` where the validator's grid has none).
    pub realised: Vec<Option<f64>>,
}

impl StoredSample {
    /// Keeps the request, the first `keep` paths and the realised prices of `s`.
    pub fn new(s: &PromptSample, keep: usize) -> Self {
        Self {
            asset: s.asset.clone(),
            start_time: s.start_time,
            start_price: s.start_price,
            time_increment: s.time_increment,
            time_length: s.time_length,
            seed: s.seed,
            num_simulations: s.paths.n_paths(),
            paths: s.paths.paths().take(keep).map(<[f64]>::to_vec).collect(),
            realised: s
                .realised
                .iter()
                .map(|v| v.is_finite().then_some(*v))
                .collect(),
        }
    }
}

/// A run's model loaded back from the archive.
pub struct LoadedModel {
    /// Run id.
    pub run_id: String,
    /// Asset the model was trained and scored on.
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// Neural or baseline.
    pub kind: ModelKind,
    /// The run's normalised spec.
    pub spec: Value,
    /// The safetensors bytes (neural only; the spec is also in their metadata).
    pub weights: Option<Vec<u8>>,
    /// The model, ready to answer prompts.
    pub forecaster: Box<dyn Forecaster>,
}

impl std::fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModel")
            .field("run_id", &self.run_id)
            .field("asset", &self.asset)
            .field("timeframe", &self.timeframe)
            .field("kind", &self.kind)
            .field("weights_bytes", &self.weights.as_ref().map(Vec::len))
            .finish()
    }
}

/// Reads a run's artifact by name, checking its SHA-256 against the record.
pub fn read_artifact(archive: &Archive, rec: &RunRecord, name: &str) -> Result<Vec<u8>> {
    let a = rec
        .artifacts
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| {
            ResearchError::not_found(format!("run {} has no artifact {name}", rec.run_id))
        })?;
    let bytes = archive.local.read(&a.key)?;
    let sha = hex::encode(Sha256::digest(&bytes));
    if sha != a.sha256 {
        return Err(ResearchError::env(format!(
            "artifact {} of run {} is corrupted (sha256 {sha}, recorded {})",
            name, rec.run_id, a.sha256
        )));
    }
    Ok(bytes)
}

fn manifest(archive: &Archive, rec: &RunRecord) -> Result<ModelManifest> {
    if rec.status != RunStatus::Ok {
        return Err(ResearchError::invalid(format!(
            "run {} did not finish ({}): it has no model",
            rec.run_id,
            rec.status.as_str()
        )));
    }
    if !rec.artifacts.iter().any(|a| a.name == MODEL_ARTIFACT) {
        return Err(ResearchError::not_found(format!(
            "run {} stored no {MODEL_ARTIFACT} (recorded before models were kept)",
            rec.run_id
        )));
    }
    let m: ModelManifest = serde_json::from_slice(&read_artifact(archive, rec, MODEL_ARTIFACT)?)
        .map_err(|e| ResearchError::env(format!("{MODEL_ARTIFACT} of {}: {e}", rec.run_id)))?;
    if m.format > MODEL_FORMAT {
        return Err(ResearchError::env(format!(
            "{MODEL_ARTIFACT} of {} has format {}, this build reads up to {MODEL_FORMAT}",
            rec.run_id, m.format
        )));
    }
    Ok(m)
}

fn asset_of(rec: &RunRecord, asset: Option<&str>) -> Result<String> {
    match asset {
        Some(a) => Ok(a.to_uppercase()),
        None => match rec.data.assets.as_slice() {
            [one] => Ok(one.to_uppercase()),
            many => Err(ResearchError::invalid(format!(
                "run {} covers {}: name the asset",
                rec.run_id,
                many.join(", ")
            ))),
        },
    }
}

/// Loads the model run `run_id` (a full id or an unambiguous prefix) trained for `asset`
/// (`None` for a single-asset run): neural weights with their spec, or the baseline with its
/// settings. It answers a request exactly as it did in the run: same request and seed, same
/// paths (bit for bit). Errors: `not_found` (no such run, asset or model artifact),
/// `invalid_config` (failed run, ambiguous asset), `environment` (corrupted artifact).
pub fn load_model(archive: &Archive, run_id: &str, asset: Option<&str>) -> Result<LoadedModel> {
    load_model_on(archive, run_id, asset, models::device::DeviceChoice::Cpu)
}

/// [`load_model`] with a neural model's weights on `device` (`cuda:N` samples on that GPU;
/// a device this build or machine lacks is an error that says so).
pub fn load_model_on(
    archive: &Archive,
    run_id: &str,
    asset: Option<&str>,
    device: models::device::DeviceChoice,
) -> Result<LoadedModel> {
    let rec = archive.registry.get_run(run_id)?;
    let asset = asset_of(&rec, asset)?;
    let m = manifest(archive, &rec)?;
    let (weights, forecaster): (Option<Vec<u8>>, Box<dyn Forecaster>) = match m.kind {
        ModelKind::Neural => {
            let name = m.weights.get(&asset).ok_or_else(|| {
                ResearchError::not_found(format!("run {} has no model for {asset}", rec.run_id))
            })?;
            let bytes = read_artifact(archive, &rec, name)?;
            let spec = match models::checkpoint::spec_of(&bytes)? {
                Some(s) => s,
                None => serde_json::from_value(crate::models_runner::model_part(&rec.spec))
                    .map_err(|e| ResearchError::invalid(format!("spec of {}: {e}", rec.run_id)))?,
            };
            let model = models::checkpoint::from_bytes_on(&bytes, Some(spec), device.resolve()?)?;
            (Some(bytes), Box::new(model))
        }
        ModelKind::Baseline => {
            let b = m.baseline.as_ref().ok_or_else(|| {
                ResearchError::env(format!(
                    "{MODEL_ARTIFACT} of {} names no baseline",
                    rec.run_id
                ))
            })?;
            if !rec
                .data
                .assets
                .iter()
                .any(|a| sn50::asset::canonical_asset(a) == sn50::asset::canonical_asset(&asset))
            {
                return Err(ResearchError::not_found(format!(
                    "run {} has no model for {asset}",
                    rec.run_id
                )));
            }
            let f = models::baselines::baseline_from_settings(&b.baseline, &b.settings)?;
            (None, f)
        }
    };
    Ok(LoadedModel {
        run_id: rec.run_id.clone(),
        asset,
        timeframe: m.timeframe.clone(),
        kind: m.kind,
        spec: rec.spec.clone(),
        weights,
        forecaster,
    })
}

/// The stored held-out prompt sample of run `run_id` for `asset` (`None`: single-asset run).
pub fn load_sample(archive: &Archive, run_id: &str, asset: Option<&str>) -> Result<StoredSample> {
    let rec = archive.registry.get_run(run_id)?;
    let asset = asset_of(&rec, asset)?;
    let m = manifest(archive, &rec)?;
    let name = m.samples.get(&asset).ok_or_else(|| {
        ResearchError::new(
            ErrorKind::NotFound,
            format!("run {} stored no sample for {asset}", rec.run_id),
        )
    })?;
    serde_json::from_slice(&read_artifact(archive, &rec, name)?)
        .map_err(|e| ResearchError::env(format!("{name} of {}: {e}", rec.run_id)))
}
