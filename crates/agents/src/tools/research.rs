//! Research tools bound to a [`Session`]: discovery, history, novelty, validation, training
//! (with an experiment budget and a deadline), comparison and the champion.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value};

use super::tool::{fn_tool, object_schema, Tool, ToolError};
use crate::backend::{PlannerRun, PlannerSpec, SharedResearch};
use crate::events::{Event, EventBus};
use crate::planner::{propose, SearchSpace, SpecBase};

/// Limits of one pipeline run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    /// Most experiments trained (reused results do not count).
    pub max_experiments: Option<u32>,
    /// No new training starts after this instant.
    pub deadline: Option<Instant>,
}

/// The research state of one pipeline run, shared by its tools.
pub struct Session {
    backend: SharedResearch,
    bus: Option<EventBus>,
    budget: Budget,
    runs: Mutex<Vec<PlannerRun>>,
    trained: Mutex<u32>,
    announcer: Option<super::announce::Announcer>,
}

impl Session {
    /// A session over `backend`.
    pub fn new(backend: SharedResearch, bus: Option<EventBus>, budget: Budget) -> Arc<Self> {
        Arc::new(Self {
            backend,
            bus,
            budget,
            runs: Mutex::new(Vec::new()),
            trained: Mutex::new(0),
            announcer: None,
        })
    }

    /// A session whose Publisher announces promoted champions with `announcer` (Moltbook;
    /// `None`: never).
    pub fn with_announcer(
        backend: SharedResearch,
        bus: Option<EventBus>,
        budget: Budget,
        announcer: Option<super::announce::Announcer>,
    ) -> Arc<Self> {
        Arc::new(Self {
            backend,
            bus,
            budget,
            runs: Mutex::new(Vec::new()),
            trained: Mutex::new(0),
            announcer,
        })
    }

    /// The backend.
    pub fn backend(&self) -> &SharedResearch {
        &self.backend
    }

    /// Runs of this session (trained or reused), in order.
    pub fn runs(&self) -> Vec<PlannerRun> {
        self.runs.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Experiments trained so far.
    pub fn trained(&self) -> u32 {
        *self.trained.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Experiments that may still be trained (None = unbounded).
    pub fn remaining(&self) -> Option<u32> {
        self.budget
            .max_experiments
            .map(|m| m.saturating_sub(self.trained()))
    }

    fn emit(&self, e: Event) {
        if let Some(b) = &self.bus {
            b.emit(e);
        }
    }

    /// Trains `spec` unless an identical one already succeeded (then returns that run, marked
    /// reused) or the budget is spent.
    pub fn run_experiment(
        &self,
        name: &str,
        spec: &PlannerSpec,
        force: bool,
    ) -> Result<Value, ToolError> {
        let mut out = self
            .run_experiments(&[(name.to_string(), spec.clone())], force)?
            .into_iter();
        let one = out
            .next()
            .ok_or_else(|| ToolError::environment("no run outcome"))??;
        let mut v = one;
        if v.get("reused") == Some(&Value::Bool(false)) {
            v["remaining_budget"] = json!(self.remaining());
        }
        Ok(v)
    }

    /// Trains a batch of `(name, spec)` experiments at once, up to the backend's slots in
    /// parallel (remote workers): each as [`Session::run_experiment`] would — an identical spec
    /// that already succeeded is reused unless `force`, the budget caps how many train (the
    /// rest are refused, each with the budget error), a spec twice in one batch is refused the
    /// second time — and each run is registered once. Outcomes in the order given; an `Err`
    /// for the whole batch only when the registry cannot be read.
    pub fn run_experiments(
        &self,
        items: &[(String, PlannerSpec)],
        force: bool,
    ) -> Result<Vec<Result<Value, ToolError>>, ToolError> {
        let mut out: Vec<Option<Result<Value, ToolError>>> = Vec::with_capacity(items.len());
        let mut to_train: Vec<(usize, String, PlannerSpec)> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let history = if force {
            Vec::new()
        } else {
            self.backend.history(None, None, 100_000)?
        };
        for (i, (name, spec)) in items.iter().enumerate() {
            let fp = spec.fingerprint();
            if let Some(j) = seen.iter().position(|f| *f == fp) {
                out.push(Some(Err(ToolError::invalid(format!(
                    "experiment {} is the same as experiment {} of this batch",
                    i + 1,
                    j + 1
                )))));
                continue;
            }
            seen.push(fp.clone());
            if let Some(prev) = history.iter().find(|r| r.fingerprint == fp && r.is_ok()) {
                self.runs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(prev.clone());
                out.push(Some(Ok(
                    json!({"reused": true, "note": "an identical experiment already ran; its registered result is returned (pass force=true to train again)", "run": prev}),
                )));
                continue;
            }
            {
                let mut trained = self.trained.lock().unwrap_or_else(|e| e.into_inner());
                if self.budget.max_experiments.is_some_and(|m| *trained >= m) {
                    out.push(Some(Err(ToolError::failed(format!("experiment budget exhausted ({} trained); call `finish` with the best result so far", *trained)))));
                    continue;
                }
                if self.budget.deadline.is_some_and(|d| Instant::now() >= d) {
                    out.push(Some(Err(ToolError::failed(
                        "time budget exhausted; call `finish` with the best result so far",
                    ))));
                    continue;
                }
                *trained += 1;
            }
            let name = if name.is_empty() {
                format!("exp-{}", &fp[..8])
            } else {
                name.clone()
            };
            to_train.push((i, name, spec.clone()));
            out.push(None);
        }
        for (_, name, spec) in &to_train {
            self.emit(Event::ExperimentStart {
                name: name.clone(),
                fingerprint: spec.fingerprint(),
                epochs: spec.epochs.unwrap_or(0) as u32,
            });
        }
        let batch: Vec<(String, PlannerSpec)> = to_train
            .iter()
            .map(|(_, n, s)| (n.clone(), s.clone()))
            .collect();
        let bus = self.bus.clone();
        let names: Vec<String> = batch.iter().map(|(n, _)| n.clone()).collect();
        let progress = move |k: usize, epoch: u32, epochs: u32, val: Option<f64>| {
            if let (Some(b), Some(name)) = (&bus, names.get(k)) {
                b.emit(Event::EpochProgress {
                    name: name.clone(),
                    epoch,
                    epochs,
                    val_crps: val,
                });
            }
        };
        let results = if batch.is_empty() {
            Vec::new()
        } else {
            self.backend.run_batch(&batch, &progress)
        };
        let mut results = results.into_iter();
        for (i, name, _) in to_train {
            let r = results
                .next()
                .unwrap_or_else(|| Err(ToolError::environment("no run outcome")));
            out[i] = Some(match r {
                Ok(rec) => {
                    self.emit(Event::ExperimentResult {
                        name,
                        crps: rec.crps,
                        status: rec.status.clone(),
                        run_id: Some(rec.run_id.clone()),
                    });
                    self.runs
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(rec.clone());
                    Ok(json!({"reused": false, "run": rec}))
                }
                Err(e) => {
                    self.emit(Event::ExperimentResult {
                        name,
                        crps: None,
                        status: "error".into(),
                        run_id: None,
                    });
                    Err(e)
                }
            });
        }
        Ok(out
            .into_iter()
            .map(|o| o.unwrap_or_else(|| Err(ToolError::environment("no run outcome"))))
            .collect())
    }

    /// This session's runs, best first.
    pub fn ranking(&self) -> Vec<PlannerRun> {
        let mut r = self.runs();
        r.sort_by(|a, b| crps_key(a).total_cmp(&crps_key(b)));
        r.dedup_by(|a, b| a.run_id == b.run_id);
        r
    }
}

fn crps_key(r: &PlannerRun) -> f64 {
    if r.is_ok() {
        r.crps.unwrap_or(f64::INFINITY)
    } else {
        f64::INFINITY
    }
}

#[derive(Deserialize)]
struct NoArgs {}

/// Tool arguments naming an experiment; `experiment` stays JSON here and is parsed into a
/// [`PlannerSpec`] by the tool (so its error names the field).
#[derive(Deserialize)]
struct ExperimentArg {
    experiment: Value,
}

#[derive(Deserialize)]
struct RunArgs {
    experiment: Value,
    #[serde(default)]
    name: String,
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize)]
struct BatchArgs {
    experiments: Vec<Value>,
    #[serde(default)]
    force: bool,
}

/// Most experiments in one `run_experiments` call (its answer, about 0.6 kB a run, stays
/// under the 16 kB an agent is shown of a tool result).
pub const MAX_BATCH: usize = 16;

#[derive(Deserialize)]
struct HistoryArgs {
    #[serde(default = "twenty")]
    limit: usize,
    #[serde(default = "best")]
    order: String,
    #[serde(default)]
    asset: Option<String>,
    #[serde(default)]
    timeframe: Option<String>,
}

#[derive(Deserialize)]
struct ProposeArgs {
    #[serde(default = "four")]
    n: usize,
    asset: String,
    timeframe: String,
    #[serde(default = "two")]
    epochs: u32,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    focus: Vec<String>,
    #[serde(default)]
    avoid: Vec<String>,
}

#[derive(Deserialize)]
struct AssetTf {
    asset: String,
    timeframe: String,
}

#[derive(Deserialize)]
struct RegisterArgs {
    run_id: String,
    #[serde(default)]
    remote: bool,
}

fn twenty() -> usize {
    20
}
fn four() -> usize {
    4
}
fn two() -> u32 {
    2
}
fn best() -> String {
    "best".into()
}

fn experiment_schema() -> Value {
    json!({"type": "object", "description": "experiment spec: {asset, timeframe, blocks:[...], head, d_model, lr, epochs, seed}"})
}

/// Every research tool, bound to `session`, plus the market, SN50 and web-search tools.
pub fn research_tools(session: Arc<Session>) -> Vec<Arc<dyn Tool>> {
    let mut v: Vec<Arc<dyn Tool>> = Vec::new();
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "list_blocks",
        "List the backbone blocks that specs may use, with a line on each.",
        object_schema(&[], &[]),
        move |_: NoArgs| Ok(json!({"blocks": s.backend.catalog()?.blocks})),
    )));
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "list_heads",
        "List the heads (the stochastic process a model emits) that specs may use.",
        object_schema(&[], &[]),
        move |_: NoArgs| Ok(json!({"heads": s.backend.catalog()?.heads})),
    )));
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "list_presets",
        "List named preset specs (good starting points).",
        object_schema(&[], &[]),
        move |_: NoArgs| Ok(json!({"presets": s.backend.catalog()?.presets})),
    )));
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "registry_history",
        "Past runs from the registry. order: best | worst | recent. Filter by asset and timeframe.",
        object_schema(
            &[
                ("limit", json!({"type":"integer"})),
                (
                    "order",
                    json!({"type":"string","enum":["best","worst","recent"]}),
                ),
                ("asset", json!({"type":"string"})),
                ("timeframe", json!({"type":"string"})),
            ],
            &[],
        ),
        move |a: HistoryArgs| {
            let mut runs =
                s.backend
                    .history(a.asset.as_deref(), a.timeframe.as_deref(), 100_000)?;
            let total = runs.len();
            match a.order.as_str() {
                "best" => runs.sort_by(|x, y| crps_key(x).total_cmp(&crps_key(y))),
                "worst" => runs.sort_by(|x, y| crps_key(y).total_cmp(&crps_key(x))),
                "recent" => runs.reverse(),
                o => {
                    return Err(ToolError::invalid(format!(
                        "order must be best, worst or recent, not {o}"
                    )))
                }
            }
            runs.truncate(a.limit.max(1));
            Ok(json!({"total": total, "order": a.order, "runs": runs}))
        },
    )));
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "propose_experiments",
        "Propose n new experiment specs for an asset and timeframe with a Tree-structured Parzen estimator over blocks × heads × d_model × lr, informed by the registry; never proposes a spec that already ran. focus/avoid narrow the blocks and heads.",
        object_schema(
            &[("n", json!({"type":"integer"})), ("asset", json!({"type":"string"})), ("timeframe", json!({"type":"string","enum":["5m","1m"]})), ("epochs", json!({"type":"integer"})), ("seed", json!({"type":"integer"})),
              ("focus", json!({"type":"array","items":{"type":"string"},"description":"blocks/heads to focus on"})), ("avoid", json!({"type":"array","items":{"type":"string"},"description":"blocks/heads to leave out"}))],
            &["asset", "timeframe"],
        ),
        move |a: ProposeArgs| {
            let steer = crate::planner::Guidance {
                focus: a.focus.iter().map(|x| x.to_ascii_lowercase()).collect(),
                avoid: a.avoid.iter().map(|x| x.to_ascii_lowercase()).collect(),
                ..Default::default()
            };
            let space = steer.steer(&SearchSpace::from_catalog(&s.backend.catalog()?));
            if space.is_empty() {
                return Err(ToolError::environment("the backend lists no blocks or no heads"));
            }
            let history = s.backend.history(None, None, 100_000)?;
            let base = SpecBase { asset: a.asset, timeframe: a.timeframe, epochs: a.epochs.max(1), seed: a.seed };
            let specs = propose(&space, &history, &base, a.n.clamp(1, 64), history.len() as u64 ^ a.seed);
            Ok(json!({"experiments": specs, "space_size": space.size(), "history_runs": history.len()}))
        },
    )));
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "check_novelty",
        "Whether a spec already ran (same fingerprint), with the prior results.",
        object_schema(&[("experiment", experiment_schema())], &["experiment"]),
        move |a: ExperimentArg| {
            let fp = PlannerSpec::parse(&a.experiment)?.fingerprint();
            let prior: Vec<PlannerRun> = s
                .backend
                .history(None, None, 100_000)?
                .into_iter()
                .filter(|r| r.fingerprint == fp)
                .collect();
            Ok(json!({"fingerprint": fp, "is_novel": prior.is_empty(), "prior_runs": prior}))
        },
    )));
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "validate_experiment",
        "Check that a spec builds (names, shapes, hyperparameters) without training it.",
        object_schema(&[("experiment", experiment_schema())], &["experiment"]),
        move |a: ExperimentArg| s.backend.validate(&PlannerSpec::parse(&a.experiment)?),
    )));
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "run_experiment",
        "Train and evaluate a spec on held-out prompts (CRPS, lower is better) and register the run with its weights. An identical spec that already succeeded is not retrained unless force=true.",
        object_schema(&[("experiment", experiment_schema()), ("name", json!({"type":"string"})), ("force", json!({"type":"boolean"}))], &["experiment"]),
        move |a: RunArgs| {
            s.run_experiment(&a.name, &PlannerSpec::parse(&a.experiment)?, a.force)
        },
    )));
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "run_experiments",
        "Train and evaluate several specs at once (up to 16), in parallel on the remote workers' slots when workers are configured (one after another otherwise), each registered as run_experiment does. A spec may carry a `name`. Answers {results: [one run_experiment answer or {error} per spec, in order], slots, remaining_budget}. Prefer it to run_experiment for a plan of several specs.",
        object_schema(&[("experiments", json!({"type":"array","items": experiment_schema()})), ("force", json!({"type":"boolean"}))], &["experiments"]),
        move |a: BatchArgs| run_batch_tool(&s, &a),
    )));
    let s = session.clone();
    v.push(Arc::new(fn_tool("compare_results", "This pipeline run's experiments ranked by CRPS (best first).", object_schema(&[], &[]), move |_: NoArgs| {
        Ok(json!({"ranking": s.ranking(), "trained": s.trained(), "remaining_budget": s.remaining()}))
    })));
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "get_champion",
        "The current champion run for an asset and timeframe, if any.",
        object_schema(
            &[
                ("asset", json!({"type":"string"})),
                ("timeframe", json!({"type":"string"})),
            ],
            &["asset", "timeframe"],
        ),
        move |a: AssetTf| Ok(json!({"champion": s.backend.champion(&a.asset, &a.timeframe)?})),
    )));
    let s = session;
    v.push(Arc::new(fn_tool(
        "register_champion",
        "Make a successful run the champion of its asset and timeframe if it beats the current champion's CRPS (strictly). remote=true also publishes it to remote storage.",
        object_schema(&[("run_id", json!({"type":"string"})), ("remote", json!({"type":"boolean"}))], &["run_id"]),
        move |a: RegisterArgs| register_champion(&s, &a.run_id, a.remote),
    )));
    v.extend(super::market::market_tools());
    v.extend(super::search::search_tools());
    v.extend(super::social::social_tools());
    v.extend(super::compute::compute_tools());
    v
}

fn run_batch_tool(s: &Session, a: &BatchArgs) -> Result<Value, ToolError> {
    if a.experiments.is_empty() {
        return Err(ToolError::invalid("experiments: give at least one spec"));
    }
    if a.experiments.len() > MAX_BATCH {
        return Err(ToolError::invalid(format!(
            "experiments: {} specs; at most {MAX_BATCH} per call",
            a.experiments.len()
        )));
    }
    let items = a
        .experiments
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let spec = PlannerSpec::parse(e)
                .map_err(|err| ToolError::invalid(format!("experiments[{i}]: {}", err.message)))?;
            Ok((spec.name.clone().unwrap_or_default(), spec))
        })
        .collect::<Result<Vec<_>, ToolError>>()?;
    let results: Vec<Value> = s
        .run_experiments(&items, a.force)?
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| e.to_json()))
        .collect();
    Ok(
        json!({"results": results, "slots": s.backend.slots(), "trained": s.trained(), "remaining_budget": s.remaining()}),
    )
}

fn register_champion(s: &Session, run_id: &str, remote: bool) -> Result<Value, ToolError> {
    let all = s.backend.history(None, None, 100_000)?;
    let run = all
        .into_iter()
        .chain(s.runs())
        .find(|r| r.run_id == run_id)
        .ok_or_else(|| ToolError::invalid(format!("no run with id {run_id}")))?;
    if !run.is_ok() {
        return Err(ToolError::invalid(format!(
            "run {run_id} did not succeed (status {}); only successful runs can be champions",
            run.status
        )));
    }
    let asset = run.spec.asset.clone().unwrap_or_default();
    let tf = run.spec.timeframe.clone().unwrap_or_default();
    let current = s.backend.champion(&asset, &tf)?;
    let crps = run.crps.unwrap_or(f64::INFINITY);
    let beats = match &current {
        Some(c) if c.run_id == run.run_id => false,
        Some(c) => crps < c.crps.unwrap_or(f64::INFINITY),
        None => true,
    };
    let mut out =
        json!({"run_id": run.run_id, "crps": run.crps, "previous": current, "promoted": beats});
    let mut beats = beats;
    if beats {
        // Promotion compares the run with the champion (or the default model) on the same
        // prompts; a refusal (not better, too few prompts) is reported, not raised.
        match s.backend.promote(&run.run_id) {
            Ok(promoted) => {
                s.emit(Event::Champion {
                    run_id: promoted.run_id.clone(),
                    crps,
                });
                out["champion"] = serde_json::to_value(&promoted).unwrap_or(Value::Null);
                // Only a promotion that happened is announced, and only when configured.
                if let Some(a) = &s.announcer {
                    out["announced"] = a.announce(&promoted);
                }
            }
            Err(e)
                if matches!(
                    e.kind,
                    super::ToolErrorKind::Failed | super::ToolErrorKind::InvalidArguments
                ) =>
            {
                beats = false;
                out["promoted"] = json!(false);
                out["note"] = json!(e.message);
            }
            Err(e) => return Err(e),
        }
    } else if current.as_ref().is_some_and(|c| c.run_id == run.run_id) {
        out["note"] = json!("this run is already the champion");
    } else {
        out["note"] = json!("not promoted: it does not beat the current champion");
    }
    if remote {
        let champ = if beats {
            run.run_id.clone()
        } else {
            current.map(|c| c.run_id).unwrap_or(run.run_id)
        };
        out["remote"] = match s.backend.publish_remote(&champ) {
            Ok(v) => v,
            Err(e) => e.to_json(),
        };
    }
    Ok(out)
}
