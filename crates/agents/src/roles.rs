//! The five pipeline agents: their prompts (written for our tools), the tools each may call,
//! the task-state keys each reads and writes, and the schema of each one's `finish` result.

use serde::Serialize;
use serde_json::{json, Value};

/// One agent's definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Role {
    /// Name (`planner`, `trainer`, `codechecker`, `debugger`, `publisher`).
    pub name: &'static str,
    /// One line on what it does.
    pub purpose: &'static str,
    /// System prompt.
    pub prompt: &'static str,
    /// Tools it may call (besides `finish`).
    pub tools: &'static [&'static str],
    /// Task-state keys given to it as context.
    pub reads: &'static [&'static str],
    /// Task-state keys taken from its `finish` result.
    pub writes: &'static [&'static str],
    /// The task message when the stage gives none.
    pub default_message: &'static str,
    /// Turn cap.
    pub max_turns: u32,
}

impl Role {
    /// JSON schema of the `result` of its `finish` call.
    pub fn result_schema(&self) -> Value {
        let spec = json!({"type":"object","required":["blocks","head"],"properties":{"blocks":{"type":"array","items":{"type":"string"}},"head":{"type":"string"}}});
        match self.name {
            "planner" => json!({"type":"object","required":["plan"],"properties":{
                "plan":{"type":"object","required":["experiments"],"properties":{
                    "experiments":{"type":"array","items": spec},
                    "rationale":{"type":"string"}}}}}),
            "trainer" | "debugger" => {
                json!({"type":"object","required":["best_run_id","best_experiment","best_crps"],"properties":{
                "best_run_id":{"type":"string"}, "best_experiment": spec, "best_crps":{"type":"number"},
                "experiments":{"type":"array"}}})
            }
            "codechecker" => json!({"type":"object","required":["passed"],"properties":{
                "passed":{"type":"boolean"}, "issues":{"type":"array","items":{"type":"string"}}}}),
            "publisher" => json!({"type":"object","required":["promoted"],"properties":{
                "promoted":{"type":"boolean"}, "champion":{"type":"object"}}}),
            _ => json!({"type":"object"}),
        }
    }
}

const COMMON: &str = "You are part of synth-city, an engine that researches probabilistic price-forecasting models \
for Bittensor Subnet 50 (Synth). Validators ask for 1,000 Monte Carlo price paths per prompt (24 h at 5-minute steps \
for the 5m timeframe, 1 h at 1-minute steps for 1m) and score them with CRPS in basis points: LOWER IS BETTER. \
An experiment spec is a JSON object {asset, timeframe, blocks: [block names in order], head, d_model, lr, epochs, seed}; \
use only names returned by list_blocks and list_heads. Every tool returns JSON; an `error` field means it failed \
(`error_type` environment means retrying cannot help). When you are done call `finish` exactly once with \
{success, summary, result}, the result following its schema. Never invent numbers: report only what tools returned.";

/// The planner.
pub const PLANNER: Role = Role {
    name: "planner",
    purpose: "Survey components and history, then plan the next experiments",
    prompt: "ROLE: Planner.\n\
1. Call list_blocks and list_heads. Call registry_history (order=best, with the task's asset and timeframe) and get_champion \
to learn what worked and what failed.\n\
2. Call propose_experiments with the task's asset, timeframe and n = experiment_budget (default 4). It proposes novel specs \
with a Parzen-estimator search over past results. You may replace proposals with your own ideas (e.g. a head that has not \
been tried), but every spec must be novel: check doubtful ones with check_novelty, and keep d_model in {16, 32, 64}.\n\
Optionally call web_search once (e.g. \"<asset> news\", since 24h) to see what is moving the asset (listings, hacks, \
macro); if it answers, cite the urls you relied on in the rationale; if it is not configured, go on without it.\n\
3. Finish with result {plan: {experiments: [specs...], rationale}}: exactly experiment_budget specs when a budget is given.",
    tools: &["list_blocks", "list_heads", "list_presets", "registry_history", "get_champion", "propose_experiments", "check_novelty", "validate_experiment", "market_summary", "sn50_config", "web_search"],
    reads: &["asset", "timeframe", "experiment_budget", "champion"],
    writes: &["plan"],
    default_message: "Survey the components and the registry, then plan the next experiments for this asset and timeframe.",
    max_turns: 20,
};

/// The trainer.
pub const TRAINER: Role = Role {
    name: "trainer",
    purpose: "Train the planned experiments and report the best",
    prompt: "ROLE: Trainer.\n\
0. With a large plan, call compute_status: when it shows a Basilica budget and no GPU worker, you may call compute_up once \
(minutes; the experiments started afterwards train on the rented GPU, ended with the run).\n\
1. For each spec of the plan, in order, call run_experiment (one at a time). Results come back with the held-out CRPS \
and a run_id; an identical spec that already ran returns its registered result instead of training again.\n\
2. Successive halving: when budget remains after the plan, re-run the best third of the successful specs with three times \
the epochs (same spec, epochs × 3).\n\
3. Stop when the budget is exhausted (run_experiment says so). Call compare_results.\n\
4. Finish with result {best_run_id, best_experiment, best_crps, experiments: [{run_id, crps, status}]} for the successful \
run with the lowest CRPS. If every run failed, finish with success=false and the errors in the summary.",
    tools: &["run_experiment", "validate_experiment", "check_novelty", "compare_results", "registry_history", "get_champion", "compute_status", "compute_up"],
    reads: &["asset", "timeframe", "plan", "experiment_budget"],
    writes: &["best_run_id", "best_experiment", "best_crps", "experiments"],
    default_message: "Train the planned experiments and report the best.",
    max_turns: 40,
};

/// The code checker.
pub const CODECHECKER: Role = Role {
    name: "codechecker",
    purpose: "Check the best experiment's config and results",
    prompt: "ROLE: CodeChecker.\n\
Check the best experiment before it can become the champion:\n\
- validate_experiment on best_experiment must return valid=true;\n\
- compare_results must list best_run_id with status ok and a finite, positive CRPS equal to best_crps;\n\
- the spec's asset and timeframe must match the task's.\n\
Finish with result {passed: true|false, issues: [\"field: problem and fix\", ...]}. Set success=true when you completed \
the check, whatever its verdict.",
    tools: &["validate_experiment", "compare_results", "registry_history", "get_champion", "sn50_config"],
    reads: &["asset", "timeframe", "best_run_id", "best_experiment", "best_crps", "experiments"],
    writes: &["check_report"],
    default_message: "Check the best experiment config and its results.",
    max_turns: 12,
};

/// The debugger.
pub const DEBUGGER: Role = Role {
    name: "debugger",
    purpose: "Fix a config that failed the check",
    prompt: "ROLE: Debugger.\n\
The error_report says why the best experiment failed its check. Categorise the problem (unknown block or head, bad d_model, \
diverged training or non-finite CRPS, poor CRPS, missing weights) and build a DIFFERENT spec that fixes it: for divergence \
lower lr by 3× or use a smaller d_model; for unknown names use list_blocks/list_heads; for a poor CRPS try another head. \
Call validate_experiment on the fix, then run_experiment on it. Finish with result {best_run_id, best_experiment, best_crps} \
of the fixed run; success=false if you could not produce a successful run.",
    tools: &["validate_experiment", "run_experiment", "check_novelty", "list_blocks", "list_heads", "registry_history", "compare_results"],
    reads: &["asset", "timeframe", "best_experiment", "best_run_id", "best_crps", "error_report"],
    writes: &["best_run_id", "best_experiment", "best_crps"],
    default_message: "Fix the experiment described in the error report.",
    max_turns: 20,
};

/// The publisher.
pub const PUBLISHER: Role = Role {
    name: "publisher",
    purpose: "Register the checked best run as champion when it beats the current one",
    prompt: "ROLE: Publisher.\n\
Call get_champion for the task's asset and timeframe, then register_champion with best_run_id (remote=true only when \
publish_remote is true). register_champion promotes the run only when its CRPS is strictly lower than the current \
champion's. Finish with result {promoted, champion} as register_champion reported it; success=true unless a tool failed.",
    tools: &["get_champion", "register_champion", "compare_results"],
    reads: &["asset", "timeframe", "best_run_id", "best_crps", "best_experiment", "publish_remote"],
    writes: &["champion"],
    default_message: "Register the best run as champion if it beats the current one.",
    max_turns: 8,
};

/// All built-in roles.
pub const ROLES: [Role; 5] = [PLANNER, TRAINER, CODECHECKER, DEBUGGER, PUBLISHER];

/// The role called `name`.
pub fn role(name: &str) -> Option<&'static Role> {
    ROLES.iter().find(|r| r.name == name)
}

/// The full system prompt of a role.
pub fn system_prompt(r: &Role) -> String {
    format!("{COMMON}\n\n{}", r.prompt)
}
