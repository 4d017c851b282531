//! `ResearchSession`: the one API agents, bots and the CLI use to do research. Every run is
//! checked for novelty, trained and scored by the model layer, and stored — record, spec,
//! weights, plots — in the registry and artifact store, failures included.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fingerprint::{canonical_json, experiment_id};
use crate::record::{Requester, RunFailure, RunRecord, RunStatus};
use crate::registry::Novelty;
use crate::report::{render_plots, FAN_ARTIFACT};
use crate::runner::{DataRequest, ExperimentRunner, PresetInfo, Validation};
use crate::store::Archive;
use crate::{ResearchError, Result};

/// A request to run one experiment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    /// The experiment spec (JSON of the model layer's spec).
    pub spec: Value,
    /// The data to train and score on.
    #[serde(default)]
    pub data: DataRequest,
    /// Seed (part of the experiment id).
    #[serde(default)]
    pub seed: u64,
    /// A name for tables (default: the spec's display name).
    #[serde(default)]
    pub name: Option<String>,
    /// Run even when this exact experiment already ran (default: return the stored result).
    #[serde(default)]
    pub force: bool,
}

/// The result of [`ResearchSession::run`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// The stored run (its status says whether training succeeded).
    pub record: RunRecord,
    /// True when this is a stored result of an identical earlier run (nothing was trained).
    pub reused: bool,
    /// What the novelty check found before the run.
    pub novelty: Novelty,
}

/// One line of a ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankEntry {
    /// Run id (`None` when the run could not start, e.g. an invalid spec).
    pub run_id: Option<String>,
    /// Name.
    pub name: String,
    /// `ok`, `failed`, or `error` (did not start).
    pub status: String,
    /// CRPS (lower is better).
    pub crps: Option<f64>,
    /// CRPS / baseline CRPS.
    pub baseline_ratio: Option<f64>,
    /// Error kind and message when not ok.
    pub error: Option<ResearchError>,
}

/// A ranking of runs: successful ones by CRPS, then failures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    /// Best first.
    pub ranking: Vec<RankEntry>,
}

/// What this session has done.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Experiments run (or reused) in this session.
    pub num_experiments: usize,
    /// Successful ones.
    pub ok: usize,
    /// Failed ones.
    pub failed: usize,
    /// The best run.
    pub best: Option<RankEntry>,
    /// All of them, best first.
    pub results: Vec<RankEntry>,
}

/// A research session: a view on the shared registry plus the runs made through it.
pub struct ResearchSession {
    archive: Arc<Archive>,
    runner: Arc<dyn ExperimentRunner>,
    requester: Requester,
    results: Vec<RankEntry>,
    sync_after_run: bool,
}

impl std::fmt::Debug for ResearchSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResearchSession")
            .field("requester", &self.requester)
            .field("results", &self.results.len())
            .finish()
    }
}

impl ResearchSession {
    /// A session storing into `archive`, running through `runner`, on behalf of `requester`.
    /// After each run it tries to sync the remote (if any); failures stay queued.
    pub fn new(
        archive: Arc<Archive>,
        runner: Arc<dyn ExperimentRunner>,
        requester: Requester,
    ) -> Self {
        Self {
            archive,
            runner,
            requester,
            results: Vec::new(),
            sync_after_run: true,
        }
    }

    /// Turns the sync after each run on or off (`store sync` then does it).
    pub fn set_sync_after_run(&mut self, on: bool) {
        self.sync_after_run = on;
    }

    /// The archive.
    pub fn archive(&self) -> &Arc<Archive> {
        &self.archive
    }

    /// Backbone blocks of the model layer.
    pub fn list_blocks(&self) -> Vec<Value> {
        self.runner.list_blocks()
    }

    /// Heads of the model layer.
    pub fn list_heads(&self) -> Vec<Value> {
        self.runner.list_heads()
    }

    /// Named presets (every head, the main block families, the statistical baselines).
    pub fn list_presets(&self) -> Vec<PresetInfo> {
        self.runner.list_presets()
    }

    /// A spec from block names and a head, defaults filled, then `overrides` merged on top.
    pub fn create(
        &self,
        blocks: &[String],
        head: &str,
        timeframe: &str,
        overrides: &Value,
    ) -> Result<Value> {
        let spec = self.runner.create(blocks, head, timeframe, overrides)?;
        self.runner.normalise(&spec)
    }

    /// Whether a spec can run, with errors, warnings and its parameter count.
    pub fn validate(&self, spec: &Value) -> Validation {
        self.runner.validate(spec)
    }

    /// A description of a spec (blocks, head, sizes, training settings).
    pub fn describe(&self, spec: &Value) -> Result<Value> {
        self.runner.describe(spec)
    }

    /// The novelty check alone: would this request be a new experiment, and what is known
    /// about similar ones.
    pub fn novelty(&self, req: &RunRequest) -> Result<Novelty> {
        let (spec, _data, id) = self.prepare(req)?;
        let (blocks, head) = self.runner.shape(&spec);
        self.archive.registry.novelty(&id, &blocks, &head)
    }

    fn prepare(&self, req: &RunRequest) -> Result<(Value, crate::runner::ResolvedData, String)> {
        let spec = self.runner.normalise(&req.spec)?;
        let v = self.runner.validate(&spec);
        if !v.valid {
            return Err(ResearchError::invalid(v.errors.join("; ")));
        }
        let data = self.runner.resolve_data(&spec, &req.data)?;
        let id = experiment_id(&spec, &data.range, req.seed, self.runner.revision());
        Ok((spec, data, id))
    }

    /// Runs one experiment: novelty check (an identical earlier run is returned unless
    /// `force`), train and score, then store everything. A run that fails in training is
    /// stored as failed and returned as `Ok` with `status: failed`; a request that cannot
    /// start (invalid spec, missing data) is an `Err` with its kind.
    pub fn run(&mut self, req: RunRequest) -> Result<RunOutcome> {
        let (spec, data, experiment_id) = self.prepare(&req)?;
        let (blocks, head) = self.runner.shape(&spec);
        let novelty = self
            .archive
            .registry
            .novelty(&experiment_id, &blocks, &head)?;
        if !novelty.is_novel && !req.force {
            if let Some(prior) = novelty.prior_runs.first() {
                let record = self.archive.registry.get_run(&prior.run_id)?;
                self.results.push(entry(&record));
                return Ok(RunOutcome {
                    record,
                    reused: true,
                    novelty,
                });
            }
        }
        let name = req
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| spec.get("name").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| {
                let mut parts = blocks.clone();
                parts.push(head.clone());
                parts.join("+")
            });
        let started_at = chrono::Utc::now();
        let clock = std::time::Instant::now();
        let result = self.runner.run(&spec, &data, req.seed);
        let mut rec = RunRecord {
            run_id: format!("{}-{:08x}", &experiment_id[..12], rand::random::<u32>()),
            experiment_id,
            name,
            spec: spec.clone(),
            blocks,
            head,
            data: data.range.clone(),
            seed: req.seed,
            provenance: data.provenance,
            requested_by: self.requester.clone(),
            status: RunStatus::Ok,
            error: None,
            crps: None,
            baseline_ratio: None,
            scores: Vec::new(),
            extra: Default::default(),
            timings: Default::default(),
            started_at,
            finished_at: chrono::Utc::now(),
            artifacts: Vec::new(),
        };
        let mut files = vec![("spec.json".to_string(), canonical_json(&spec).into_bytes())];
        match result {
            Ok(out) => {
                rec.scores = out.scores;
                rec.extra = out.extra;
                rec.timings = out.timings;
                rec.summarise_scores();
                if let Some(w) = out.weights {
                    files.push((crate::model_store::WEIGHTS_ARTIFACT.into(), w));
                }
                files.extend(out.files);
                if let Some(fan) = &out.fan {
                    files.push((
                        FAN_ARTIFACT.into(),
                        serde_json::to_vec(fan).map_err(|e| ResearchError::env(e.to_string()))?,
                    ));
                }
                files.extend(self.plot_files(&rec, out.fan.as_ref()));
            }
            Err(e) => {
                rec.status = RunStatus::Failed;
                rec.error = Some(RunFailure {
                    kind: e.kind,
                    message: e.message,
                });
            }
        }
        rec.timings.total_s = clock.elapsed().as_secs_f64();
        rec.finished_at = chrono::Utc::now();
        let record = self.archive.record_run(rec, files)?;
        if self.sync_after_run && self.archive.remote.is_some() {
            match self.archive.sync() {
                Ok(r) if r.error.is_some() => {
                    tracing::warn!(
                        pending = r.pending,
                        "remote sync incomplete; results stay queued for `synth-city store sync`"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "remote sync failed; results stay queued"),
            }
        }
        self.results.push(entry(&record));
        Ok(RunOutcome {
            record,
            reused: false,
            novelty,
        })
    }

    /// Plots as files to store (`plots/…`); a plotting failure is logged, never fatal.
    fn plot_files(
        &self,
        rec: &RunRecord,
        fan: Option<&crate::plot::FanData>,
    ) -> Vec<(String, Vec<u8>)> {
        let tmp = self
            .archive
            .plots_dir()
            .join(format!(".tmp-{}", rec.run_id));
        let out = render_plots(rec, fan, &tmp).and_then(|files| {
            files
                .into_iter()
                .map(|(name, path)| Ok((format!("plots/{name}"), std::fs::read(path)?)))
                .collect::<Result<Vec<_>>>()
        });
        let _ = std::fs::remove_dir_all(&tmp);
        out.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "plots of {} not rendered", rec.run_id);
            Vec::new()
        })
    }

    /// Runs a preset, with `overrides` merged into its spec.
    pub fn run_preset(
        &mut self,
        name: &str,
        overrides: &Value,
        data: DataRequest,
        seed: u64,
        force: bool,
    ) -> Result<RunOutcome> {
        let preset = self
            .list_presets()
            .into_iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let known: Vec<String> = self.list_presets().into_iter().map(|p| p.name).collect();
                ResearchError::not_found(format!(
                    "unknown preset {name:?} (known: {})",
                    known.join(", ")
                ))
            })?;
        let mut spec = preset.spec;
        merge(&mut spec, overrides);
        self.run(RunRequest {
            spec,
            data,
            seed,
            name: Some(preset.name),
            force,
        })
    }

    /// Runs several presets (all when `names` is empty); returns the ranking of this sweep.
    /// A preset that cannot start is listed with its error; the sweep goes on.
    pub fn sweep(
        &mut self,
        names: &[String],
        data: DataRequest,
        seed: u64,
        force: bool,
    ) -> Ranking {
        let names: Vec<String> = if names.is_empty() {
            self.list_presets().into_iter().map(|p| p.name).collect()
        } else {
            names.to_vec()
        };
        let mut out = Vec::new();
        for n in &names {
            match self.run_preset(n, &Value::Null, data.clone(), seed, force) {
                Ok(o) => out.push(entry(&o.record)),
                Err(e) => {
                    let failed = RankEntry {
                        run_id: None,
                        name: n.clone(),
                        status: "error".into(),
                        crps: None,
                        baseline_ratio: None,
                        error: Some(e),
                    };
                    self.results.push(failed.clone());
                    out.push(failed);
                }
            }
        }
        rank(out)
    }

    /// Ranking of everything run in this session.
    pub fn compare(&self) -> Ranking {
        rank(self.results.clone())
    }

    /// Counts and ranking of this session's runs.
    pub fn summary(&self) -> Summary {
        let results = rank(self.results.clone()).ranking;
        Summary {
            num_experiments: results.len(),
            ok: results.iter().filter(|r| r.status == "ok").count(),
            failed: results.iter().filter(|r| r.status != "ok").count(),
            best: results.first().filter(|r| r.status == "ok").cloned(),
            results,
        }
    }

    /// Forgets this session's list of runs (the registry keeps them all).
    pub fn clear(&mut self) {
        self.results.clear();
    }
}

fn entry(r: &RunRecord) -> RankEntry {
    RankEntry {
        run_id: Some(r.run_id.clone()),
        name: r.name.clone(),
        status: r.status.as_str().into(),
        crps: r.crps,
        baseline_ratio: r.baseline_ratio,
        error: r
            .error
            .as_ref()
            .map(|e| ResearchError::new(e.kind, e.message.clone())),
    }
}

fn rank(mut v: Vec<RankEntry>) -> Ranking {
    v.sort_by(|a, b| {
        let key = |e: &RankEntry| {
            e.crps
                .filter(|c| c.is_finite() && e.status == "ok")
                .unwrap_or(f64::INFINITY)
        };
        key(a).total_cmp(&key(b))
    });
    Ranking { ranking: v }
}

/// Merges JSON object `patch` into `base` (recursively; `null` patch = no change).
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p.iter().filter(|(_, v)| !v.is_null()) {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (_, Value::Null) => {}
        (b, p) => *b = p.clone(),
    }
}
