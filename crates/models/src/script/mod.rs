//! Scripted statistical models: a forecaster written in Rhai (a small, sandboxed, pure-Rust
//! scripting language) on top of a vectorised numeric library implemented in Rust. A bot or an
//! agent sends the script's text; it is compiled by the Rhai interpreter, never to native code,
//! and runs with no I/O, no clock, no `eval`, no modules, and caps on operations, vector work,
//! floats allocated, call depth, strings, arrays and wall time ([`Caps`]).
//!
//! The script sees the history and the competition as constants (`prices`, `returns`, `steps`,
//! …) and ends with a map: a compact description (`#{ sigma: s, dist: student_t(5) }`) that Rust
//! expands to the paths, or every path's `log_returns`. docs/scripts.md is the reference for
//! script authors.

mod dist;
mod expand;
mod finance;
mod inputs;
mod known;
mod library;
mod sandbox;
mod vector;

use std::sync::OnceLock;

use rhai::{Dynamic, EvalAltResult, AST};
use serde::{Deserialize, Serialize};
use sn50::PathSet;

use crate::{ForecastRequest, Forecaster, ModelError};
pub use known::{install, lookup, resolve, MAX_INSTALLED};
pub use sandbox::Caps;

/// The prefix of a scripted model's name (`script:<name>`).
pub const SCRIPT_PREFIX: &str = "script:";

/// The script name in a model name `script:<name>`, `None` for any other model name.
pub fn script_name(model: &str) -> Option<&str> {
    model.strip_prefix(SCRIPT_PREFIX).filter(|n| !n.is_empty())
}

/// What [`check`] learnt about a script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptInfo {
    /// Source size in bytes.
    pub bytes: usize,
    /// Functions the script defines (`fn name(...)`).
    pub functions: Vec<String>,
    /// What it answers: `description` (sigma + dist, expanded in Rust) or `log_returns`.
    pub answer: String,
    /// Rhai operations of the larger dry run (the cap is [`Caps::max_operations`]).
    pub operations: u64,
    /// Floats the larger dry run allocated (the cap is [`Caps::max_floats`]).
    pub floats: u64,
    /// What the script printed in its dry runs (first lines).
    pub printed: Vec<String>,
}

/// Compiles `source`, checks it statically (size, syntax, no disabled feature), and dry-runs it
/// on a small synthetic prompt of each competition (LOW: 5-minute steps over a day, HIGH:
/// 1-minute steps over an hour, 8 paths), checking that the answer gives valid SN50 paths.
/// The error says what to fix: the line and column of a syntax error, the cap that was hit, or
/// what is wrong with the answer.
pub fn check(source: &str) -> Result<ScriptInfo, ModelError> {
    check_with(source, &Caps::default())
}

/// [`check`] under `caps`.
pub fn check_with(source: &str, caps: &Caps) -> Result<ScriptInfo, ModelError> {
    let ast = compile(source, caps)?;
    let mut info = ScriptInfo {
        bytes: source.len(),
        functions: ast.iter_functions().map(|f| f.name.to_string()).collect(),
        answer: String::new(),
        operations: 0,
        floats: 0,
        printed: Vec::new(),
    };
    for (hist, step, horizon) in &inputs::dry_run_prompts()? {
        let req = ForecastRequest {
            asset: &hist.asset,
            history: hist,
            start_price: *hist.close.last().unwrap_or(&1.0),
            start_time: hist.ts.last().copied().unwrap_or(0) + i64::from(hist.resolution_secs),
            time_increment: *step,
            time_length: *horizon,
            num_simulations: 8,
            seed: 1,
            context: Default::default(),
        };
        let run = run(&ast, &req, caps).map_err(|e| {
            ModelError::InvalidConfig(format!("dry run ({step} s steps): {}", message(e)))
        })?;
        check_paths(&run.paths, &req)?;
        info.answer = run.answer.to_string();
        info.operations = info.operations.max(run.operations);
        info.floats = info.floats.max(run.floats);
        for l in run.printed {
            if info.printed.len() < caps.max_print_lines {
                info.printed.push(l);
            }
        }
    }
    Ok(info)
}

/// Compiles `source` in the sandbox (size cap, syntax, disabled features).
fn compile(source: &str, caps: &Caps) -> Result<AST, ModelError> {
    if source.len() > caps.max_source_bytes {
        return Err(ModelError::InvalidConfig(format!(
            "script source cap: {} bytes, the limit is {}",
            source.len(),
            caps.max_source_bytes
        )));
    }
    if source.trim().is_empty() {
        return Err(ModelError::InvalidConfig(
            "script: the source is empty".into(),
        ));
    }
    sandbox::engine(caps)
        .compile(source)
        .map_err(|e| ModelError::InvalidConfig(format!("script syntax: {e}")))
}

/// One run's result.
struct Run {
    paths: PathSet,
    answer: &'static str,
    operations: u64,
    floats: u64,
    printed: Vec<String>,
}

/// Runs a compiled script for `req` under `caps` and expands its answer.
fn run(ast: &AST, req: &ForecastRequest<'_>, caps: &Caps) -> Result<Run, ModelError> {
    crate::baselines::check_request(req)?;
    if req.num_simulations.saturating_mul(req.n_points()) > 20_000_000 {
        return Err(ModelError::InvalidConfig(format!(
            "script output cap: {} paths × {} points is over 20,000,000 prices",
            req.num_simulations,
            req.n_points()
        )));
    }
    let engine = sandbox::engine(caps);
    let mut scope = inputs::scope(req);
    let guard = sandbox::BudgetGuard::install(sandbox::Budget {
        caps: *caps,
        floats: 0,
        work: 0,
        ops: 0,
        rng: crate::baselines::rng(req.seed),
        printed: Vec::new(),
    });
    let out = engine.eval_ast_with_scope::<Dynamic>(&mut scope, ast);
    let budget = guard.finish();
    let (operations, floats, printed) = budget
        .map(|b| (b.ops, b.floats, b.printed))
        .unwrap_or_default();
    let out = out.map_err(|e| runtime_error(&e, caps))?;
    let answer = expand::read(out, req.num_simulations, req.n_points() - 1)?;
    let paths = expand::expand(&answer, req, crate::rng::splitmix64(req.seed))?;
    Ok(Run {
        paths,
        answer: answer.kind(),
        operations,
        floats,
        printed,
    })
}

/// A script's runtime error, naming the cap where one was hit.
fn runtime_error(e: &EvalAltResult, caps: &Caps) -> ModelError {
    let msg = match e {
        EvalAltResult::ErrorTooManyOperations(pos) => format!(
            "CPU cap: the script ran more than {} operations (stopped at {pos})",
            caps.max_operations
        ),
        EvalAltResult::ErrorStackOverflow(pos) => format!(
            "call depth cap: more than {} nested calls (recursion too deep, at {pos})",
            caps.max_call_levels
        ),
        EvalAltResult::ErrorDataTooLarge(what, pos) => {
            let cap = if what.contains("string") {
                format!("{} characters", caps.max_string)
            } else {
                format!("{} elements", caps.max_array)
            };
            format!("memory cap: {what} over its limit of {cap} (at {pos})")
        }
        EvalAltResult::ErrorFunctionNotFound(sig, _)
            if sig.contains("(array") || sig.contains(", array") =>
        {
            format!("{e} (library functions take Vectors: convert an array with vector(a))")
        }
        EvalAltResult::ErrorTerminated(why, pos) => format!("{why} (at {pos})"),
        other => other.to_string(),
    };
    ModelError::InvalidConfig(format!("script: {msg}"))
}

/// Checks paths as the validator would see them: shape, start price, positive finite prices.
fn check_paths(p: &PathSet, req: &ForecastRequest<'_>) -> Result<(), ModelError> {
    let bad = |m: String| Err(ModelError::InvalidConfig(format!("script answer: {m}")));
    if p.n_paths() != req.num_simulations || p.n_points() != req.n_points() {
        return bad(format!(
            "{} × {} paths, want {} × {}",
            p.n_paths(),
            p.n_points(),
            req.num_simulations,
            req.n_points()
        ));
    }
    if let Some(x) = p.as_flat().iter().find(|x| !(x.is_finite() && **x > 0.0)) {
        return bad(format!("a price is {x}"));
    }
    Ok(())
}

/// A scripted model: the script's name and source (all there is to store; the paths follow
/// from them, the history and the seed).
#[derive(Debug, Serialize, Deserialize)]
pub struct ScriptModel {
    /// The script's name (the model is called `script:<name>`).
    pub name: String,
    /// The Rhai source.
    pub source: String,
    /// The registry's content hash of the source, when it came from there (informative).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
    #[serde(skip)]
    compiled: OnceLock<Result<AST, String>>,
}

impl Clone for ScriptModel {
    fn clone(&self) -> Self {
        Self::new(self.name.clone(), self.source.clone()).with_hash(self.hash.clone())
    }
}

impl ScriptModel {
    /// A model from a script's name and source (compiled on first use).
    pub fn new(name: impl Into<String>, source: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            source: source.into(),
            hash: String::new(),
            compiled: OnceLock::new(),
        }
    }

    /// The same, recording the registry's hash of the source.
    pub fn with_hash(mut self, hash: impl Into<String>) -> Self {
        self.hash = hash.into();
        self
    }

    /// The settings to record (name, source, hash), from which [`ScriptModel::from_settings`]
    /// rebuilds the model without the registry.
    pub fn settings(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// A model from recorded [`ScriptModel::settings`].
    pub fn from_settings(v: &serde_json::Value) -> Result<Self, ModelError> {
        serde_json::from_value(v.clone())
            .map_err(|e| ModelError::InvalidConfig(format!("script settings: {e}")))
    }

    fn ast(&self) -> Result<&AST, ModelError> {
        self.compiled
            .get_or_init(|| compile(&self.source, &Caps::default()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| ModelError::InvalidConfig(e.clone()))
    }
}

impl Forecaster for ScriptModel {
    fn name(&self) -> String {
        format!("{SCRIPT_PREFIX}{}", self.name)
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        let run = run(self.ast()?, req, &Caps::default()).map_err(|e| prefix(e, &self.name))?;
        Ok(run.paths)
    }
}

/// The text of an error without the variant's prefix.
fn message(e: ModelError) -> String {
    match e {
        ModelError::InvalidConfig(m) => m,
        other => other.to_string(),
    }
}

fn prefix(e: ModelError, name: &str) -> ModelError {
    match e {
        ModelError::InvalidConfig(m) => {
            ModelError::InvalidConfig(format!("{SCRIPT_PREFIX}{name}: {m}"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests;
