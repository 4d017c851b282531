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
        self.runner.normalise(&self.embed_components(&spec)?)
    }

    /// `spec` with the user components it names (blocks, head) resolved through the registry
    /// for this session's requester and their definitions embedded (see
    /// [`crate::Registry::embed_components`]).
    /// A baseline `script:<name>` naming a stored script visible to the requester gets its
    /// source embedded as `"script"` (as `models::script::ScriptModel` settings).
    pub fn embed_components(&self, spec: &Value) -> Result<Value> {
        let reader = self.requester.component_reader();
        let mut out = self.archive.registry.embed_components(&reader, spec)?;
        let script = out
            .get("baseline")
            .and_then(Value::as_str)
            .and_then(models::script::script_name)
            .map(String::from);
        if let Some(name) = script.filter(|_| out.get("script").is_none()) {
            if let Some(c) = self.archive.registry.component(&reader, &name)? {
                if c.kind == crate::ComponentKind::Script {
                    let m = models::script::ScriptModel::new(name, c.definition).with_hash(c.hash);
                    out["script"] = m.settings();
                }
            }
        }
        Ok(out)
    }

    /// Whether a spec can run, with errors, warnings and its parameter count.
    pub fn validate(&self, spec: &Value) -> Validation {
        match self.embed_components(spec) {
            Ok(s) => self.runner.validate(&s),
            Err(e) => Validation {
                errors: vec![e.message],
                ..Validation::default()
            },
        }
    }

    /// A description of a spec (blocks, head, sizes, training settings).
    pub fn describe(&self, spec: &Value) -> Result<Value> {
        self.runner.describe(&self.embed_components(spec)?)
    }

    /// The novelty check alone: would this request be a new experiment, and what is known
    /// about similar ones.
    pub fn novelty(&self, req: &RunRequest) -> Result<Novelty> {
        let (spec, _data, id) = self.prepare(req)?;
        let (blocks, head) = self.runner.shape(&spec);
        self.archive.registry.novelty(&id, &blocks, &head)
    }

    fn prepare(&self, req: &RunRequest) -> Result<(Value, crate::runner::ResolvedData, String)> {
        let spec = self.runner.normalise(&self.embed_components(&req.spec)?)?;
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
        self.run_many(vec![req])
            .pop()
            .unwrap_or_else(|| Err(ResearchError::env("no run outcome")))
    }

    /// Runs several experiments as [`ResearchSession::run`] does each, training up to the
    /// runner's [`ExperimentRunner::slots`] of them at once (remote workers), and recording
    /// them here, one by one, in the order given: the registry on this machine stays the one
    /// place results are written. Outcomes come back in the order of `reqs`.
    pub fn run_many(&mut self, reqs: Vec<RunRequest>) -> Vec<Result<RunOutcome>> {
        let planned: Vec<Result<Planned>> = reqs.into_iter().map(|r| self.plan(r)).collect();
        let fresh: Vec<&Fresh> = planned
            .iter()
            .filter_map(|p| match p {
                Ok(Planned::Fresh(f)) => Some(f.as_ref()),
                _ => None,
            })
            .collect();
        let mut executed = execute_all(self.runner.as_ref(), &fresh).into_iter();
        planned
            .into_iter()
            .map(|p| match p? {
                Planned::Reused(out) => {
                    self.results.push(entry(&out.record));
                    Ok(*out)
                }
                Planned::Fresh(f) => {
                    let done = executed
                        .next()
                        .ok_or_else(|| ResearchError::env("a planned run was not executed"))?;
                    self.record(*f, done)
                }
            })
            .collect()
    }

    /// Validation, data resolution and the novelty check of one request.
    fn plan(&self, req: RunRequest) -> Result<Planned> {
        let (spec, data, experiment_id) = self.prepare(&req)?;
        let (blocks, head) = self.runner.shape(&spec);
        let novelty = self
            .archive
            .registry
            .novelty(&experiment_id, &blocks, &head)?;
        if !novelty.is_novel && !req.force {
            if let Some(prior) = novelty.prior_runs.first() {
                let record = self.archive.registry.get_run(&prior.run_id)?;
                return Ok(Planned::Reused(Box::new(RunOutcome {
                    record,
                    reused: true,
                    novelty,
                })));
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
        Ok(Planned::Fresh(Box::new(Fresh {
            spec,
            data,
            experiment_id,
            blocks,
            head,
            name,
            seed: req.seed,
            novelty,
        })))
    }

    /// Stores one executed run (record, spec, weights, plots) and syncs the remote.
    fn record(&mut self, f: Fresh, done: Executed) -> Result<RunOutcome> {
        let Fresh {
            spec,
            data,
            experiment_id,
            blocks,
            head,
            name,
            seed,
            novelty,
        } = f;
        let mut rec = RunRecord {
            run_id: format!("{}-{:08x}", &experiment_id[..12], rand::random::<u32>()),
            experiment_id,
            name,
            spec: spec.clone(),
            blocks,
            head,
            data: data.range.clone(),
            seed,
            provenance: data.provenance,
            requested_by: self.requester.clone(),
            status: RunStatus::Ok,
            error: None,
            crps: None,
            baseline_ratio: None,
            scores: Vec::new(),
            extra: Default::default(),
            timings: Default::default(),
            started_at: done.started_at,
            finished_at: chrono::Utc::now(),
            artifacts: Vec::new(),
            ran_on: None,
        };
        let mut files = vec![("spec.json".to_string(), canonical_json(&spec).into_bytes())];
        match done.result {
            Ok(out) => {
                rec.scores = out.scores;
                rec.extra = out.extra;
                rec.timings = out.timings;
                rec.ran_on = out.ran_on;
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
        rec.timings.total_s = done.seconds;
        rec.finished_at = done.finished_at;
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
        crate::publish::after_run(&self.archive, &record.run_id);
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
        let req = self.preset_request(name, overrides, data, seed, force)?;
        self.run(req)
    }

    /// The request that runs a preset, with `overrides` merged into its spec.
    pub fn preset_request(
        &self,
        name: &str,
        overrides: &Value,
        data: DataRequest,
        seed: u64,
        force: bool,
    ) -> Result<RunRequest> {
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
        Ok(RunRequest {
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
        let mut reqs = Vec::new();
        let mut slots: Vec<std::result::Result<usize, ResearchError>> = Vec::new();
        for n in &names {
            match self.preset_request(n, &Value::Null, data.clone(), seed, force) {
                Ok(r) => {
                    slots.push(Ok(reqs.len()));
                    reqs.push(r);
                }
                Err(e) => slots.push(Err(e)),
            }
        }
        let mut outcomes: Vec<Option<Result<RunOutcome>>> =
            self.run_many(reqs).into_iter().map(Some).collect();
        let mut out = Vec::new();
        for (n, slot) in names.iter().zip(slots) {
            let result = slot.and_then(|i| {
                outcomes
                    .get_mut(i)
                    .and_then(Option::take)
                    .unwrap_or_else(|| Err(ResearchError::env("missing sweep outcome")))
            });
            match result {
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

/// A request that passed its checks and will be trained.
struct Fresh {
    spec: Value,
    data: crate::runner::ResolvedData,
    experiment_id: String,
    blocks: Vec<String>,
    head: String,
    name: String,
    seed: u64,
    novelty: Novelty,
}

enum Planned {
    /// An identical earlier run, returned as is.
    Reused(Box<RunOutcome>),
    /// To be trained.
    Fresh(Box<Fresh>),
}

/// What training one request gave, with its clock.
struct Executed {
    result: Result<crate::runner::RunOutput>,
    started_at: chrono::DateTime<chrono::Utc>,
    finished_at: chrono::DateTime<chrono::Utc>,
    seconds: f64,
}

fn execute(runner: &dyn ExperimentRunner, f: &Fresh) -> Executed {
    let started_at = chrono::Utc::now();
    let clock = std::time::Instant::now();
    let result = runner.run(&f.spec, &f.data, f.seed);
    Executed {
        result,
        started_at,
        finished_at: chrono::Utc::now(),
        seconds: clock.elapsed().as_secs_f64(),
    }
}

/// Trains `fresh` with up to `runner.slots()` at once (scoped threads taking the next request
/// in turn); results in the order of `fresh`.
fn execute_all(runner: &dyn ExperimentRunner, fresh: &[&Fresh]) -> Vec<Executed> {
    let width = runner.slots().clamp(1, fresh.len().max(1));
    if width == 1 {
        return fresh.iter().map(|f| execute(runner, f)).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<Option<Executed>>> =
        std::sync::Mutex::new((0..fresh.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..width {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(f) = fresh.get(i) else { break };
                let e = execute(runner, f);
                if let Ok(mut d) = done.lock() {
                    d[i] = Some(e);
                }
            });
        }
    });
    done.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|e| {
            e.unwrap_or_else(|| Executed {
                result: Err(ResearchError::env("the run's thread stopped")),
                started_at: chrono::Utc::now(),
                finished_at: chrono::Utc::now(),
                seconds: 0.0,
            })
        })
        .collect()
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
