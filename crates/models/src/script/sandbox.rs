//! The sandbox: a Rhai engine with only pure packages (no I/O, no clock, no `eval`, no
//! modules), the language's own limits set from [`Caps`], and a per-run budget that the
//! numeric library charges: floats allocated (the memory cap) and elements processed (the CPU
//! cap, beside Rhai's operation count and a wall-clock backstop).

use std::cell::RefCell;
use std::time::{Duration, Instant};

use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicFnPackage, BasicIteratorPackage, BasicMapPackage,
    BasicMathPackage, BasicStringPackage, LanguageCorePackage, LogicPackage, MoreStringPackage,
    Package,
};
use rhai::{Dynamic, Engine, EvalAltResult, Position};
use serde::{Deserialize, Serialize};

use crate::baselines::BaseRng;

/// The limits a script runs under. The defaults leave a 1000 × 289 answer far inside every
/// cap (see docs/scripts.md) and stop a runaway script within seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caps {
    /// Source size, bytes.
    pub max_source_bytes: usize,
    /// Rhai operations (statements, expressions, calls) per run: the CPU cap.
    pub max_operations: u64,
    /// Elements processed by the numeric library per run (a vector op on n floats costs n):
    /// the CPU cap for vectorised work.
    pub max_work: u64,
    /// Wall-clock seconds per run, a backstop behind the two deterministic CPU caps.
    pub max_seconds: u64,
    /// Floats allocated by the numeric library per run, all vectors together: the memory cap.
    pub max_floats: u64,
    /// Nested function calls (recursion depth).
    pub max_call_levels: usize,
    /// Expression nesting at the top level and inside functions.
    pub max_expr_depth: usize,
    /// Characters in one string.
    pub max_string: usize,
    /// Elements in one Rhai array (nested arrays counted), entries in one map.
    pub max_array: usize,
    /// `print` lines kept from a run.
    pub max_print_lines: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_source_bytes: 64 * 1024,
            max_operations: 20_000_000,
            max_work: 1_000_000_000,
            max_seconds: 20,
            max_floats: 16_000_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_string: 64 * 1024,
            max_array: 100_000,
            max_print_lines: 200,
        }
    }
}

/// What one run has used, and its generator.
pub(crate) struct Budget {
    pub caps: Caps,
    pub floats: u64,
    pub work: u64,
    pub ops: u64,
    pub rng: BaseRng,
    pub printed: Vec<String>,
}

thread_local! {
    static BUDGET: RefCell<Option<Budget>> = const { RefCell::new(None) };
}

/// Installs a run's budget on this thread until the guard drops (runs do not nest: a script
/// cannot start another).
pub(crate) struct BudgetGuard(Option<Budget>);

impl BudgetGuard {
    pub fn install(b: Budget) -> Self {
        Self(BUDGET.with(|c| c.borrow_mut().replace(b)))
    }

    /// Ends the run, giving back what it used.
    pub fn finish(mut self) -> Option<Budget> {
        let prev = self.0.take();
        BUDGET.with(|c| std::mem::replace(&mut *c.borrow_mut(), prev))
    }
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        let prev = self.0.take();
        BUDGET.with(|c| *c.borrow_mut() = prev);
    }
}

/// A runtime error raised by the library (its message is shown to the script's author).
pub(crate) fn err(msg: impl Into<String>) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(msg.into()),
        Position::NONE,
    ))
}

/// Charges `n` new floats against the memory cap and `n` elements of work.
pub(crate) fn alloc(n: usize) -> Result<(), Box<EvalAltResult>> {
    BUDGET.with(|c| {
        let mut b = c.borrow_mut();
        let Some(b) = b.as_mut() else { return Ok(()) };
        b.floats = b.floats.saturating_add(n as u64);
        if b.floats > b.caps.max_floats {
            return Err(err(format!(
                "memory cap: the script allocated more than {} floats in vectors",
                b.caps.max_floats
            )));
        }
        charge_in(b, n as u64)
    })
}

/// Charges `n` elements of work against the CPU cap.
pub(crate) fn work(n: usize) -> Result<(), Box<EvalAltResult>> {
    BUDGET.with(|c| match c.borrow_mut().as_mut() {
        Some(b) => charge_in(b, n as u64),
        None => Ok(()),
    })
}

fn charge_in(b: &mut Budget, n: u64) -> Result<(), Box<EvalAltResult>> {
    b.work = b.work.saturating_add(n);
    if b.work > b.caps.max_work {
        return Err(err(format!(
            "CPU cap: the script processed more than {} vector elements",
            b.caps.max_work
        )));
    }
    Ok(())
}

/// Runs `f` with the run's generator (a fixed one outside a run).
pub(crate) fn with_rng<T>(f: impl FnOnce(&mut BaseRng) -> T) -> T {
    BUDGET.with(|c| match c.borrow_mut().as_mut() {
        Some(b) => f(&mut b.rng),
        None => f(&mut crate::baselines::rng(0)),
    })
}

fn print_line(s: &str) {
    BUDGET.with(|c| {
        if let Some(b) = c.borrow_mut().as_mut() {
            if b.printed.len() < b.caps.max_print_lines {
                b.printed.push(s.chars().take(500).collect());
            }
        }
    });
}

/// The sandboxed engine: pure packages only, every limit set, `eval` disabled, the numeric
/// library registered, `print` kept in the run's log, a wall-clock stop after
/// `caps.max_seconds`.
pub(crate) fn engine(caps: &Caps) -> Engine {
    let mut e = Engine::new_raw();
    for m in [
        LanguageCorePackage::new().as_shared_module(),
        ArithmeticPackage::new().as_shared_module(),
        LogicPackage::new().as_shared_module(),
        BasicStringPackage::new().as_shared_module(),
        MoreStringPackage::new().as_shared_module(),
        BasicIteratorPackage::new().as_shared_module(),
        BasicArrayPackage::new().as_shared_module(),
        BasicMapPackage::new().as_shared_module(),
        BasicMathPackage::new().as_shared_module(),
        BasicFnPackage::new().as_shared_module(),
    ] {
        e.register_global_module(m);
    }
    e.disable_symbol("eval");
    e.set_max_operations(caps.max_operations);
    e.set_max_call_levels(caps.max_call_levels);
    e.set_max_expr_depths(caps.max_expr_depth, caps.max_expr_depth);
    e.set_max_string_size(caps.max_string);
    e.set_max_array_size(caps.max_array);
    e.set_max_map_size(caps.max_array);
    e.set_max_variables(10_000);
    e.set_max_functions(1_000);
    e.on_print(print_line);
    e.on_debug(|s, _, _| print_line(s));
    let deadline = Instant::now() + Duration::from_secs(caps.max_seconds);
    let secs = caps.max_seconds;
    e.on_progress(move |ops| {
        if ops % 256 == 0 {
            BUDGET.with(|c| {
                if let Some(b) = c.borrow_mut().as_mut() {
                    b.ops = ops;
                }
            });
        }
        if ops % 4096 == 0 && Instant::now() > deadline {
            return Some(Dynamic::from(format!(
                "CPU cap: the script ran longer than {secs} s"
            )));
        }
        None
    });
    super::library::register(&mut e);
    e
}
