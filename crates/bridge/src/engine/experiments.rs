//! Experiments through a `research::ResearchSession`: create, validate, run one, sweep.
//!
//! An experiment is a research spec (a models `ModelSpec` JSON, or `{"baseline": "gbm",
//! "timeframe": "5m"}`) plus optional run settings beside it: `asset` / `assets`, `seed`,
//! `allow_synthetic`, `force`, `name`, and `preset` (start from a named preset).

use research::session::merge;
use research::{DataRequest, ResearchSession, RunRequest};
use serde_json::{json, Map, Value};
use sn50::Timeframe;

use super::{api_err, run_view};
use crate::backend::Job;
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, ModelLimits, ModelSize};
use crate::types::{
    best_run, CreateRequest, CreatedExperiment, RunView, SweepOutcome, SweepRequest,
    ValidationReport,
};

/// Run settings that may sit beside the spec; they are not part of the model spec.
const RUN_FIELDS: [&str; 7] = [
    "asset",
    "assets",
    "seed",
    "allow_synthetic",
    "force",
    "name",
    "preset",
];

/// Most combinations one sweep may run.
const MAX_SWEEP: usize = 50;

/// Builds a spec: from a `preset`, from `blocks` + `head` (+ `timeframe`), or from a
/// `baseline`; `overrides` (an object) is merged on top.
pub(super) fn create(s: &ResearchSession, p: &CreateRequest) -> ApiResult<CreatedExperiment> {
    let overrides = p.overrides.clone().unwrap_or(Value::Null);
    if !(overrides.is_null() || overrides.is_object()) {
        return Err(ApiError::bad_request("overrides must be a JSON object"));
    }
    let tf = p
        .timeframe
        .as_deref()
        .unwrap_or(Timeframe::default().as_str());
    let spec = if let Some(name) = &p.preset {
        let mut spec = preset_spec(s, name)?;
        merge(&mut spec, &overrides);
        normalised(s, &spec)?
    } else if let Some(b) = &p.baseline {
        let mut spec = json!({"baseline": b, "timeframe": tf});
        merge(&mut spec, &overrides);
        normalised(s, &spec)?
    } else {
        let blocks: Vec<String> = match &p.blocks {
            None => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|b| {
                    b.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| ApiError::bad_request("blocks must be a list of names"))
                })
                .collect::<ApiResult<_>>()?,
            Some(_) => return Err(ApiError::bad_request("blocks must be a list of names")),
        };
        let head = p.head.as_ref().and_then(Value::as_str).ok_or_else(|| {
            ApiError::bad_request("give a preset, a baseline, or blocks and a head")
        })?;
        s.create(&blocks, head, tf, &overrides).map_err(api_err)?
    };
    let validation = report(s.validate(&spec));
    Ok(CreatedExperiment {
        experiment: spec,
        validation: Some(validation),
        estimate: None,
    })
}

/// A research validation as the bridge answers it.
fn report(v: research::Validation) -> ValidationReport {
    ValidationReport {
        valid: v.valid,
        errors: v.errors,
        warnings: v.warnings,
        param_count: v.param_count,
        experiment: None,
        estimate: None,
    }
}

/// A whole spec (a preset's or a baseline's) with every default filled in.
fn normalised(s: &ResearchSession, spec: &Value) -> ApiResult<Value> {
    s.describe(spec).map(|d| d["spec"].clone()).map_err(api_err)
}

fn preset_spec(s: &ResearchSession, name: &str) -> ApiResult<Value> {
    let presets = s.list_presets();
    presets
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.spec.clone())
        .ok_or_else(|| {
            let known: Vec<&str> = presets.iter().map(|p| p.name.as_str()).collect();
            ApiError::not_found(format!(
                "unknown preset {name:?} (known: {})",
                known.join(", ")
            ))
        })
}

/// Splits an experiment object into the model spec and its run request.
fn request(s: &ResearchSession, experiment: &Value) -> ApiResult<RunRequest> {
    let obj = experiment
        .as_object()
        .ok_or_else(|| ApiError::bad_request("experiment must be a JSON object"))?;
    let mut spec: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !RUN_FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut spec_v = match obj.get("preset") {
        Some(Value::String(name)) => {
            let mut base = preset_spec(s, name)?;
            merge(&mut base, &Value::Object(std::mem::take(&mut spec)));
            base
        }
        Some(_) => return Err(ApiError::bad_request("preset must be a name")),
        None => Value::Object(spec),
    };
    if spec_v.get("timeframe").is_none() {
        spec_v["timeframe"] = json!(Timeframe::default().as_str());
    }
    // A baseline reads only these; anything else is a typo (a misspelt run setting would be
    // silently ignored). Neural specs refuse unknown fields when they are parsed.
    if let Some(o) = spec_v.as_object().filter(|o| o.contains_key("baseline")) {
        const BASELINE_FIELDS: [&str; 3] = ["baseline", "timeframe", "eval"];
        if let Some(k) = o.keys().find(|k| !BASELINE_FIELDS.contains(&k.as_str())) {
            return Err(ApiError::bad_request(format!(
                "unknown field `{k}` in a baseline experiment (it takes {}, and the run settings {})",
                BASELINE_FIELDS.join(", "),
                RUN_FIELDS.join(", ")
            )));
        }
    }
    let mut assets: Vec<String> = match (obj.get("assets"), obj.get("asset")) {
        (Some(Value::Array(a)), _) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_ascii_uppercase)
                    .ok_or_else(|| ApiError::bad_request("assets must be a list of names"))
            })
            .collect::<ApiResult<_>>()?,
        (Some(_), _) => return Err(ApiError::bad_request("assets must be a list of names")),
        (None, Some(Value::String(a))) => vec![a.to_ascii_uppercase()],
        (None, Some(_)) => return Err(ApiError::bad_request("asset must be a name")),
        (None, None) => Vec::new(),
    };
    if assets.len() > 12 {
        return Err(ApiError::bad_request("at most 12 assets per experiment"));
    }
    for a in &assets {
        if a.is_empty() || a.len() > 16 || !a.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ApiError::bad_request(format!("invalid asset {a:?}")));
        }
    }
    assets.dedup();
    let flag = |k: &str| -> ApiResult<bool> {
        match obj.get(k) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(ApiError::bad_request(format!("{k} must be true or false"))),
        }
    };
    let seed = match obj.get("seed") {
        None => 0,
        Some(v) => v
            .as_u64()
            .ok_or_else(|| ApiError::bad_request("seed must be a non-negative integer"))?,
    };
    let name = match obj.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(n)) if n.chars().count() <= 120 => Some(n.clone()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "name must be text (at most 120 chars)",
            ))
        }
    };
    Ok(RunRequest {
        spec: spec_v,
        data: DataRequest {
            assets,
            allow_synthetic: flag("allow_synthetic")?,
            ..DataRequest::default()
        },
        seed,
        name,
        force: flag("force")?,
    })
}

/// The size of a research spec's model, counted from the spec (`None`: a baseline, or a spec
/// that does not parse, which can then never be built either).
pub(super) fn spec_size(spec: &Value) -> Option<ModelSize> {
    let part = research::models_runner::model_part(spec);
    if part.get("baseline").is_some() {
        return None;
    }
    let spec: models::spec::ModelSpec = serde_json::from_value(part).ok()?;
    let e = models::estimate::estimate(&spec).ok()?;
    Some(ModelSize {
        params: e.params,
        bytes: e.train_bytes,
    })
}

/// The size of an experiment's model (see [`spec_size`]).
pub(super) fn size(s: &ResearchSession, experiment: &Value) -> Option<ModelSize> {
    match request(s, experiment) {
        Ok(r) => spec_size(&r.spec),
        // Not a runnable experiment, but maybe a bare model spec (what `create` returns).
        Err(_) => spec_size(experiment),
    }
}

/// Refuses a model larger than the job may build.
fn check_size(job: &Job, spec: &Value) -> ApiResult<()> {
    match spec_size(spec) {
        Some(size) => limits::check(
            &ModelLimits {
                per_bot_bytes: job.max_model_bytes,
                total_bytes: job.max_model_bytes,
            },
            size,
        ),
        None => Ok(()),
    }
}

/// The validation of an experiment (invalid is still a 200).
pub(super) fn validate(s: &ResearchSession, experiment: &Value) -> ValidationReport {
    match request(s, experiment) {
        Ok(req) => {
            let mut out = report(s.validate(&req.spec));
            if out.valid {
                out.experiment = s.describe(&req.spec).ok().map(|d| d["spec"].clone());
            }
            out
        }
        Err(e) => ValidationReport {
            valid: false,
            errors: vec![e.message],
            ..ValidationReport::default()
        },
    }
}

/// Runs one experiment for `job.bot_id`; the stored record (with `reused`) is the answer.
pub(super) fn run(
    s: &mut ResearchSession,
    job: &Job,
    experiment: &Value,
    source: &str,
) -> ApiResult<RunView> {
    let req = request(s, experiment)?;
    check_size(job, &req.spec)?;
    job.emit(
        "experiment.started",
        json!({"spec": req.spec, "source": source}),
    );
    finished(job, s.run(req))
}

/// Runs `experiments` as [`run`] does each, trained together (up to the runner's slots at
/// once) and recorded in order; the first that cannot start is the error (those recorded
/// before it stay recorded).
fn run_batch(
    s: &mut ResearchSession,
    job: &Job,
    experiments: &[Value],
    source: &str,
) -> ApiResult<Vec<RunView>> {
    if let [one] = experiments {
        return Ok(vec![run(s, job, one, source)?]);
    }
    let mut reqs = Vec::with_capacity(experiments.len());
    for e in experiments {
        let req = request(s, e)?;
        check_size(job, &req.spec)?;
        reqs.push(req);
    }
    for r in &reqs {
        job.emit(
            "experiment.started",
            json!({"spec": r.spec, "source": source}),
        );
    }
    let mut out = Vec::with_capacity(reqs.len());
    for r in s.run_many(reqs) {
        out.push(finished(job, r)?);
    }
    Ok(out)
}

/// The event and view of one finished run.
fn finished(job: &Job, r: research::Result<research::RunOutcome>) -> ApiResult<RunView> {
    match r {
        Ok(out) => {
            job.emit(
                "experiment.finished",
                json!({"id": out.record.run_id, "crps": out.record.crps,
                       "status": out.record.status.as_str(), "reused": out.reused}),
            );
            Ok(RunView {
                reused: Some(out.reused),
                ..run_view(&out.record)
            })
        }
        Err(e) => {
            job.emit("experiment.failed", json!({"error": e.message}));
            Err(api_err(e))
        }
    }
}

/// A sweep: `{presets: [names], base?: {run settings}}` runs presets; `{base: {...}, grid:
/// {field: [values]}}` runs every combination (dotted fields reach nested settings, e.g.
/// `training.lr`). At most 50 runs; stops early when the bot asks to stop. Runs are trained
/// `width` at a time (the runner's slots: remote workers train a batch in parallel) and
/// recorded in order.
pub(super) fn sweep(
    s: &mut ResearchSession,
    job: &Job,
    body: &SweepRequest,
    width: usize,
) -> ApiResult<SweepOutcome> {
    let base = body.base.clone().unwrap_or_else(|| json!({}));
    if !base.is_object() {
        return Err(ApiError::bad_request("base must be a JSON object"));
    }
    let specs: Vec<Value> = if let Some(names) = &body.presets {
        let names = names
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| ApiError::bad_request("presets must be a non-empty list of names"))?;
        names
            .iter()
            .map(|n| {
                let n = n
                    .as_str()
                    .ok_or_else(|| ApiError::bad_request("presets must be names"))?;
                let mut e = base.clone();
                e["preset"] = json!(n);
                Ok(e)
            })
            .collect::<ApiResult<_>>()?
    } else {
        let grid = body.grid.as_ref().ok_or_else(|| {
            ApiError::bad_request(
                "sweep needs {\"presets\": [...]} or {\"base\": {...}, \"grid\": {\"field\": [values...]}}",
            )
        })?;
        let mut specs = vec![base];
        for (field, values) in grid {
            let values = values.as_array().filter(|v| !v.is_empty()).ok_or_else(|| {
                ApiError::bad_request(format!("grid.{field} must be a non-empty list"))
            })?;
            if field.is_empty() || field.split('.').any(str::is_empty) {
                return Err(ApiError::bad_request(format!(
                    "invalid grid field {field:?}"
                )));
            }
            specs = specs
                .iter()
                .flat_map(|s| values.iter().map(move |v| set_path(s, field, v)))
                .collect();
            if specs.len() > MAX_SWEEP {
                return Err(ApiError::bad_request(format!(
                    "a sweep may have at most {MAX_SWEEP} combinations"
                )));
            }
        }
        specs
    };
    if specs.len() > MAX_SWEEP {
        return Err(ApiError::bad_request(format!(
            "a sweep may have at most {MAX_SWEEP} runs"
        )));
    }
    // Check every combination before running any.
    for e in &specs {
        let req = request(s, e)?;
        check_size(job, &req.spec)?;
        let v = s.validate(&req.spec);
        if !v.valid {
            return Err(ApiError::invalid(format!(
                "invalid experiment {}: {}",
                e,
                v.errors.join("; ")
            )));
        }
    }
    let mut results = Vec::new();
    let mut stopped = false;
    for batch in specs.chunks(width.max(1)) {
        if job.cancelled() {
            stopped = true;
            break;
        }
        results.extend(run_batch(s, job, batch, "sweep")?);
    }
    let ok: Vec<RunView> = results
        .iter()
        .filter(|r| r.status == "ok")
        .cloned()
        .collect();
    Ok(SweepOutcome {
        best: best_run(&ok),
        results,
        combinations: specs.len(),
        stopped,
    })
}

/// `spec` with `path` (dot-separated) set to `v`.
fn set_path(spec: &Value, path: &str, v: &Value) -> Value {
    let mut out = spec.clone();
    let mut cur = &mut out;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        let obj = cur.as_object_mut().expect("made an object above");
        if i + 1 == parts.len() {
            obj.insert(p.to_string(), v.clone());
            break;
        }
        cur = obj.entry(p.to_string()).or_insert_with(|| json!({}));
    }
    out
}
