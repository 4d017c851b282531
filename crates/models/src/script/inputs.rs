//! What a script sees: the prompt and its history as constants in the script's scope, and the
//! small synthetic prompts of the dry run.

use market::{Candles, SyntheticParams};
use rhai::{Scope, INT};

use super::vector::Vector;
use crate::baselines::step_returns;
use crate::{ForecastRequest, ModelError};

/// History a script sees before the prompt, seconds (30 days).
pub const LOOKBACK_SECS: i64 = 30 * 86_400;

/// The scope of a run: the prompt (`asset`, `start_price`, `start_time`, `step`, `horizon`,
/// `steps`, `n_paths`, `resolution`), the last 30 days of candles (`times`, `prices`, `highs`,
/// `lows`), the step returns at the prompt's increment (`returns`, `return_times`) and the
/// start times of the forecast's steps (`step_times`).
pub(crate) fn scope(req: &ForecastRequest<'_>) -> Scope<'static> {
    let h = req.history;
    let a = h.index_at_or_after(req.start_time - LOOKBACK_SECS);
    let b = h.index_at_or_after(req.start_time);
    let f = |v: &[f64]| Vector::input(v[a..b].to_vec());
    let ret = step_returns(h, req.time_increment, req.start_time, LOOKBACK_SECS);
    let steps = req.n_points() - 1;
    let inc = i64::from(req.time_increment);
    let mut s = Scope::new();
    s.push_constant("asset", req.asset.to_string());
    s.push_constant("start_price", req.start_price);
    s.push_constant("start_time", req.start_time as INT);
    s.push_constant("step", INT::from(req.time_increment));
    s.push_constant("horizon", INT::from(req.time_length));
    s.push_constant("steps", steps as INT);
    s.push_constant("n_paths", req.num_simulations as INT);
    s.push_constant("resolution", INT::from(h.resolution_secs));
    s.push_constant(
        "times",
        Vector::input(h.ts[a..b].iter().map(|&t| t as f64).collect()),
    );
    s.push_constant("prices", f(&h.close));
    s.push_constant("highs", f(&h.high));
    s.push_constant("lows", f(&h.low));
    s.push_constant(
        "return_times",
        Vector::input(ret.start.iter().map(|&t| t as f64).collect()),
    );
    s.push_constant("returns", Vector::input(ret.r));
    s.push_constant(
        "step_times",
        Vector::input(
            (0..steps)
                .map(|k| (req.start_time + k as i64 * inc) as f64)
                .collect(),
        ),
    );
    s
}

/// The dry run's prompts: (history, step, horizon) for LOW (30 days of 5-minute BTC-like
/// candles, 5-minute steps over a day) and HIGH (3 days of 1-minute candles, 1-minute steps
/// over an hour). Synthetic and seeded: the same every time.
pub(crate) fn dry_run_prompts() -> Result<Vec<(Candles, u32, u32)>, ModelError> {
    let p = SyntheticParams::for_asset("BTC");
    let end = 1_764_547_200; // 2025-12-01 00:00 UTC
    let gen = |res: u32, n: usize| {
        p.generate(end - res as i64 * n as i64, res, n, 7)
            .map_err(|e| ModelError::Data(format!("dry-run history: {e}")))
    };
    Ok(vec![
        (gen(300, 8640)?, 300, 86_400),
        (gen(60, 4320)?, 60, 3_600),
    ])
}
