//! Scripted policies that stand in for the LLM when none is configured. Each reads exactly what
//! an LLM would see — the task-state block and the tool results in the conversation — and
//! answers with tool calls through the same agent loop and tools. Together they run successive
//! halving over the TPE proposals: rung 0 trains the plan at `min_epochs`, rung 1 re-trains the
//! best third with `eta` × the epochs.

use std::sync::Arc;

use serde_json::{json, Value};
use sn50::Timeframe;

use crate::backend::{PlannerRun, PlannerSpec};
use crate::llm::{
    BoxFuture, ChatModel, ChatRequest, ChatResponse, Choice, FunctionCall, LlmError, Message, Role,
    ToolCall,
};
use crate::pipeline::{read_context, Brains, TaskState};
use crate::tools::research::MAX_BATCH;
use research::fingerprint::spec_fingerprint;

/// Successive-halving reduction factor.
pub const ETA: u32 = 3;
/// Epochs of the first rung when the task does not say.
pub const DEFAULT_MIN_EPOCHS: u32 = 2;

/// The built-in brains: one scripted policy per agent.
#[derive(Debug, Clone, Default)]
pub struct BuiltinBrains;

impl Brains for BuiltinBrains {
    fn model(&self, agent: &str) -> (Arc<dyn ChatModel>, String) {
        (
            Arc::new(Policy {
                agent: agent.to_string(),
            }),
            format!("builtin/{agent}"),
        )
    }
    fn label(&self) -> String {
        "builtin".into()
    }
}

/// The scripted policy of one agent.
#[derive(Debug, Clone)]
pub struct Policy {
    agent: String,
}

impl ChatModel for Policy {
    fn model_name(&self) -> String {
        format!("builtin/{}", self.agent)
    }
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        let view = View::new(&req.messages);
        let msg = match self.agent.as_str() {
            "planner" => planner(&view),
            "trainer" => trainer(&view),
            "codechecker" => checker(&view),
            "debugger" => debugger(&view),
            "publisher" => publisher(&view),
            other => finish(
                false,
                &format!("no built-in policy for agent `{other}`"),
                json!({}),
            ),
        };
        Box::pin(async move {
            Ok(ChatResponse {
                id: String::new(),
                model: self.model_name(),
                choices: vec![Choice {
                    index: 0,
                    message: msg,
                    finish_reason: None,
                }],
                usage: None,
            })
        })
    }
}

/// What the policy can see of the conversation.
struct View {
    state: TaskState,
    /// (tool name, arguments, result) for every answered call, in order.
    calls: Vec<(String, Value, Value)>,
}

impl View {
    fn new(messages: &[Message]) -> Self {
        let state = messages
            .iter()
            .filter(|m| m.role == Role::User)
            .find_map(|m| m.content.as_deref().and_then(read_context))
            .unwrap_or_default();
        let mut calls = Vec::new();
        for m in messages.iter().filter(|m| m.role == Role::Assistant) {
            for c in &m.tool_calls {
                let result = messages
                    .iter()
                    .find(|r| {
                        r.role == Role::Tool && r.tool_call_id.as_deref() == Some(c.id.as_str())
                    })
                    .and_then(|r| r.content.as_deref())
                    .and_then(|t| crate::json::parse_lenient::<Value>(t).ok());
                if let Some(result) = result {
                    let args = crate::json::parse_lenient::<Value>(&c.function.arguments)
                        .unwrap_or(Value::Null);
                    calls.push((c.function.name.clone(), args, result));
                }
            }
        }
        Self { state, calls }
    }
    fn str(&self, k: &str) -> Option<&str> {
        self.state.get(k).and_then(Value::as_str)
    }
    fn u64(&self, k: &str) -> Option<u64> {
        self.state.get(k).and_then(Value::as_u64)
    }
    fn results_of(&self, tool: &str) -> impl Iterator<Item = &(String, Value, Value)> {
        let tool = tool.to_string();
        self.calls.iter().filter(move |(n, _, _)| *n == tool)
    }
    fn last(&self) -> Option<&(String, Value, Value)> {
        self.calls.last()
    }
}

fn call(name: &str, args: Value) -> Message {
    let n = name.to_string();
    Message {
        role: Role::Assistant,
        content: None,
        tool_calls: vec![ToolCall {
            id: String::new(),
            kind: "function".into(),
            function: FunctionCall {
                name: n,
                arguments: args.to_string(),
            },
        }],
        tool_call_id: None,
        name: None,
    }
    .with_ids()
}

fn finish(success: bool, summary: &str, result: Value) -> Message {
    call(
        "finish",
        json!({"success": success, "summary": summary, "result": result}),
    )
}

trait WithIds {
    fn with_ids(self) -> Self;
}

impl WithIds for Message {
    fn with_ids(mut self) -> Self {
        // Ids must be unique within a conversation: derive them from the arguments' fingerprint.
        for c in &mut self.tool_calls {
            let fp = spec_fingerprint(&json!([
                c.function.name,
                c.function.arguments,
                chrono::Utc::now().timestamp_nanos_opt()
            ]));
            c.id = format!("call_{}", &fp[..16]);
        }
        self
    }
}

fn error_of(v: &Value) -> Option<(String, bool)> {
    let e = v.get("error")?.as_str()?.to_string();
    let env = v.get("error_type").and_then(Value::as_str) == Some("environment");
    Some((e, env))
}

fn fail_with(e: &str, env: bool) -> Message {
    let result = if env {
        json!({"error": e, "error_type": "environment", "recoverable": false})
    } else {
        json!({"error": e})
    };
    finish(false, e, result)
}

/// Rung-0 size for a budget: the most configs n with n + ceil(n / ETA) ≤ budget (all of a
/// budget of 1 or 2); 6 when unbounded.
pub fn rung0_size(budget: Option<u64>) -> u64 {
    match budget {
        None => 6,
        Some(b) if b <= 2 => b.max(1),
        Some(b) => (1..=b)
            .rev()
            .find(|n| n + n.div_ceil(u64::from(ETA)) <= b)
            .unwrap_or(1),
    }
}

fn planner(v: &View) -> Message {
    let Some((_, _, res)) = v.results_of("propose_experiments").last() else {
        let asset = v.str("asset").unwrap_or("BTC");
        let tf = v.str("timeframe").unwrap_or(Timeframe::default().as_str());
        let n = rung0_size(v.u64("experiment_budget"));
        let epochs = v.u64("min_epochs").unwrap_or(u64::from(DEFAULT_MIN_EPOCHS));
        let mut args = json!({"n": n, "asset": asset, "timeframe": tf, "epochs": epochs, "seed": v.u64("seed").unwrap_or(0)});
        // The guidance as the runner understood it (see planner::guidance).
        if let Some(g) = v.state.get("guidance_understood") {
            for k in ["focus", "avoid"] {
                if g.get(k)
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
                {
                    args[k] = g[k].clone();
                }
            }
        }
        return call("propose_experiments", args);
    };
    if let Some((e, env)) = error_of(res) {
        return fail_with(&e, env);
    }
    let exps = res.get("experiments").cloned().unwrap_or(json!([]));
    if exps.as_array().is_none_or(Vec::is_empty) {
        return fail_with(
            "the search space is exhausted: every proposal already ran",
            false,
        );
    }
    let mut rationale = format!(
        "Tree-structured Parzen proposals over {} points informed by {} past runs; successive halving keeps the best 1/{ETA} for {ETA}× the epochs.",
        res.get("space_size").unwrap_or(&Value::Null),
        res.get("history_runs").unwrap_or(&Value::Null)
    );
    if let Some(d) = v
        .state
        .get("guidance_understood")
        .and_then(|g| g.get("summary"))
        .and_then(Value::as_str)
    {
        rationale.push_str(&format!(" Guidance: {d}."));
    }
    finish(
        true,
        &rationale,
        json!({"plan": {"experiments": exps, "rationale": rationale}}),
    )
}

/// The fingerprint of a spec given as tool-call JSON (as the tool will parse it; a spec that
/// does not parse is told apart by its raw JSON).
fn fingerprint_of(spec: &Value) -> String {
    match PlannerSpec::parse(spec) {
        Ok(s) => s.fingerprint(),
        Err(_) => spec_fingerprint(spec),
    }
}

fn run_of(res: &Value) -> Option<PlannerRun> {
    serde_json::from_value(res.get("run")?.clone()).ok()
}

/// Every experiment the Trainer tried so far, `(spec argument, its result)`, from both
/// `run_experiment` and `run_experiments` (a batch whose whole call failed gives each of its
/// specs that error), and whether the last call hit the budget.
fn experiment_results(v: &View) -> (Vec<(Value, Value)>, bool) {
    let mut all = Vec::new();
    let mut last_budget_hit = false;
    for (n, a, r) in &v.calls {
        let mut this = Vec::new();
        match n.as_str() {
            "run_experiment" => this.push((
                a.get("experiment").cloned().unwrap_or(Value::Null),
                r.clone(),
            )),
            "run_experiments" => {
                let specs = a
                    .get("experiments")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let results = r.get("results").and_then(Value::as_array);
                for (k, spec) in specs.into_iter().enumerate() {
                    let res = match results {
                        Some(rs) => rs.get(k).cloned().unwrap_or(Value::Null),
                        None => r.clone(),
                    };
                    this.push((spec, res));
                }
            }
            _ => continue,
        }
        last_budget_hit = this.iter().any(|(_, r)| {
            r.get("error")
                .and_then(Value::as_str)
                .is_some_and(|e| e.contains("budget exhausted"))
        });
        all.extend(this);
    }
    let budget_hit = last_budget_hit
        && v.last()
            .is_some_and(|(n, _, _)| n == "run_experiment" || n == "run_experiments");
    (all, budget_hit)
}

/// The batch call of `specs` (the first [`MAX_BATCH`]), named `{rung}-{k}`.
fn train_batch(specs: Vec<(usize, Value)>, rung: &str) -> Message {
    let exps: Vec<Value> = specs
        .into_iter()
        .take(MAX_BATCH)
        .map(|(i, mut spec)| {
            if let Some(o) = spec.as_object_mut() {
                o.insert("name".into(), json!(format!("{rung}-{}", i + 1)));
            }
            spec
        })
        .collect();
    call("run_experiments", json!({"experiments": exps}))
}

/// Successive halving in batches: the whole plan in one `run_experiments` call (trained up to
/// the workers' slots at once), then the best third at ETA × the epochs in another.
fn trainer(v: &View) -> Message {
    let plan: Vec<Value> = v
        .state
        .get("plan")
        .and_then(|p| p.get("experiments"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if plan.is_empty() {
        return fail_with("the task state has no plan to train", false);
    }
    let (tried, budget_hit) = experiment_results(v);
    let attempted: Vec<String> = tried.iter().map(|(a, _)| fingerprint_of(a)).collect();
    let runs: Vec<PlannerRun> = tried.iter().filter_map(|(_, r)| run_of(r)).collect();
    if !budget_hit {
        // Rung 0: the plan, in one batch.
        let rung0: Vec<(usize, Value)> = plan
            .iter()
            .enumerate()
            .filter(|(_, s)| !attempted.contains(&fingerprint_of(s)))
            .map(|(i, s)| (i, s.clone()))
            .collect();
        if !rung0.is_empty() {
            return train_batch(rung0, "r0");
        }
        // Rung 1: the best third of rung 0 with ETA × the epochs.
        let plan_fps: Vec<String> = plan.iter().map(fingerprint_of).collect();
        let mut rung0: Vec<&PlannerRun> = runs
            .iter()
            .filter(|r| r.is_ok() && plan_fps.contains(&r.spec.fingerprint()))
            .collect();
        rung0.sort_by(|a, b| {
            a.crps
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.crps.unwrap_or(f64::INFINITY))
        });
        let keep = rung0.len().div_ceil(ETA as usize);
        let left = v
            .u64("experiment_budget")
            .map(|b| b.saturating_sub(attempted.len() as u64) as usize);
        let rung1: Vec<(usize, Value)> = rung0
            .iter()
            .take(keep)
            .enumerate()
            .filter_map(|(i, r)| {
                let mut spec = r.spec.clone();
                let epochs = spec.epochs.unwrap_or(u64::from(DEFAULT_MIN_EPOCHS));
                spec.epochs = Some(epochs * u64::from(ETA));
                spec.name = None;
                (!attempted.contains(&spec.fingerprint())).then(|| (i, spec.to_json()))
            })
            .take(left.unwrap_or(usize::MAX))
            .collect();
        if !rung1.is_empty() {
            return train_batch(rung1, "r1");
        }
    }
    let best = runs.iter().filter(|r| r.is_ok()).min_by(|a, b| {
        a.crps
            .unwrap_or(f64::INFINITY)
            .total_cmp(&b.crps.unwrap_or(f64::INFINITY))
    });
    let summary: Vec<Value> = runs.iter().map(|r| json!({"run_id": r.run_id, "crps": r.crps, "status": r.status, "epochs": r.spec.epochs})).collect();
    match best {
        Some(b) => finish(
            true,
            &format!(
                "trained {} runs; best CRPS {:.4} ({})",
                runs.len(),
                b.crps.unwrap_or(f64::NAN),
                b.run_id
            ),
            json!({"best_run_id": b.run_id, "best_experiment": b.spec, "best_crps": b.crps, "experiments": summary}),
        ),
        None => {
            let errs: Vec<(String, bool)> = tried
                .iter()
                .filter_map(|(_, r)| {
                    error_of(r).or_else(|| run_of(r).and_then(|x| x.error.map(|e| (e, false))))
                })
                .collect();
            let all_env = !errs.is_empty() && errs.iter().all(|(_, env)| *env);
            let text = errs
                .iter()
                .map(|(e, _)| e.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            fail_with(&format!("no experiment succeeded: {text}"), all_env)
        }
    }
}

fn checker(v: &View) -> Message {
    let Some(spec) = v.state.get("best_experiment").filter(|s| s.is_object()) else {
        return finish(
            true,
            "nothing to check",
            json!({"passed": false, "issues": ["best_experiment: missing from the task state"]}),
        );
    };
    let Some((_, _, validation)) = v.results_of("validate_experiment").last() else {
        return call("validate_experiment", json!({"experiment": spec}));
    };
    let Some((_, _, ranking)) = v.results_of("compare_results").last() else {
        return call("compare_results", json!({}));
    };
    let mut issues = Vec::new();
    if let Some((e, env)) = error_of(validation) {
        if env {
            return fail_with(&e, true);
        }
        issues.push(format!("validate_experiment: {e}"));
    } else if validation.get("valid").and_then(Value::as_bool) != Some(true) {
        let errs = validation.get("errors").cloned().unwrap_or(json!([]));
        issues.push(format!("spec: does not validate: {errs}"));
    }
    let best_id = v.str("best_run_id").unwrap_or("");
    let run: Option<PlannerRun> = ranking
        .get("ranking")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| serde_json::from_value::<PlannerRun>(r.clone()).ok())
        .find(|r| r.run_id == best_id);
    match run {
        None => issues.push(format!(
            "best_run_id: run {best_id:?} is not among this pipeline's results"
        )),
        Some(r) => {
            match r.crps {
                Some(c) if c.is_finite() && c > 0.0 && r.status == "ok" => {
                    if let Some(claimed) = v.state.get("best_crps").and_then(Value::as_f64) {
                        if (claimed - c).abs() > 1e-9 * c.abs().max(1.0) {
                            issues.push(format!("best_crps: reported {claimed} but the registry has {c}"));
                        }
                    }
                }
                other => issues.push(format!("crps: run {} has status {} and CRPS {other:?}; it needs a finite positive CRPS", r.run_id, r.status)),
            }
            if r.weights.is_none() {
                issues.push(format!("weights: run {} kept no trained weights", r.run_id));
            }
            for (k, got) in [("asset", &r.spec.asset), ("timeframe", &r.spec.timeframe)] {
                if let (Some(want), Some(got)) = (v.str(k), got.as_deref()) {
                    if want != got {
                        issues.push(format!("{k}: the run is for {got} but the task is {want}"));
                    }
                }
            }
        }
    }
    let passed = issues.is_empty();
    finish(
        true,
        if passed {
            "all checks passed"
        } else {
            "checks failed"
        },
        json!({"passed": passed, "issues": issues}),
    )
}

fn debugger(v: &View) -> Message {
    let Some(spec) = v.state.get("best_experiment").filter(|s| s.is_object()) else {
        return fail_with("no best_experiment to fix", false);
    };
    // Diagnose from the error it was given (the check's report), not one fixed patch.
    let report = v.str("error_report").unwrap_or("");
    let d = crate::planner::diagnose(report, spec);
    let Some(mut fix) = d.fix.clone() else {
        return finish(
            false,
            &format!("{}: {}", d.explanation, short_text(report)),
            json!({"diagnosis": d}),
        );
    };
    // The same spec again would be reused, not retrained: change the seed too.
    if fingerprint_of(&fix) == fingerprint_of(spec) {
        fix["seed"] = json!(fix.get("seed").and_then(Value::as_u64).unwrap_or(0) + 1);
    }
    let Some((_, _, validation)) = v.results_of("validate_experiment").last() else {
        return call("validate_experiment", json!({"experiment": fix}));
    };
    if let Some((e, env)) = error_of(validation) {
        return fail_with(&e, env);
    }
    if validation.get("valid").and_then(Value::as_bool) == Some(false) {
        let errs = validation.get("errors").cloned().unwrap_or(json!([]));
        return fail_with(
            &format!(
                "the fix ({}) does not validate either: {errs}",
                d.changes.join(", ")
            ),
            false,
        );
    }
    let Some((_, _, res)) = v.results_of("run_experiment").last() else {
        return call(
            "run_experiment",
            json!({"experiment": fix, "name": "debug-fix"}),
        );
    };
    if let Some((e, env)) = error_of(res) {
        return fail_with(&e, env);
    }
    match run_of(res).filter(PlannerRun::is_ok) {
        Some(r) => finish(
            true,
            &format!(
                "{:?}: {} ({})",
                d.class,
                d.explanation,
                d.changes.join(", ")
            ),
            json!({"best_run_id": r.run_id, "best_experiment": r.spec, "best_crps": r.crps, "diagnosis": d}),
        ),
        None => fail_with(
            &format!(
                "the fixed config ({}) did not train successfully",
                d.changes.join(", ")
            ),
            false,
        ),
    }
}

fn short_text(s: &str) -> String {
    s.chars().take(300).collect()
}

fn publisher(v: &View) -> Message {
    let Some(run_id) = v.str("best_run_id") else {
        return fail_with("no best_run_id to publish", false);
    };
    let Some((_, _, res)) = v.results_of("register_champion").last() else {
        let remote = v
            .state
            .get("publish_remote")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        return call(
            "register_champion",
            json!({"run_id": run_id, "remote": remote}),
        );
    };
    if let Some((e, env)) = error_of(res) {
        return fail_with(&e, env);
    }
    let promoted = res
        .get("promoted")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let champion = res
        .get("champion")
        .cloned()
        .or_else(|| res.get("previous").cloned())
        .unwrap_or(Value::Null);
    let note = if promoted {
        "promoted to champion"
    } else {
        "the current champion is at least as good"
    };
    finish(
        true,
        note,
        json!({"promoted": promoted, "champion": champion}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rung_sizes_fit_the_budget() {
        assert_eq!(rung0_size(Some(1)), 1);
        assert_eq!(rung0_size(Some(2)), 2);
        assert_eq!(rung0_size(Some(4)), 3); // 3 + 1
        assert_eq!(rung0_size(Some(8)), 6); // 6 + 2
        assert_eq!(rung0_size(None), 6);
    }
}
