//! The financial measures scripts call: log returns, EWMA and GARCH(1,1) variance filters,
//! a GARCH(1,1)-t fit, realised variance and range measures, the intraday volatility pattern.
//! Plain functions on slices; `library` wraps them for the engine.

use crate::baselines::{GarchFit, IntradayProfile, StepReturns};

/// `ln(p[i] / p[i-1])`, `n - 1` values; a pair with a non-positive or non-finite price gives 0.
pub fn log_returns(p: &[f64]) -> Vec<f64> {
    p.windows(2)
        .map(|w| {
            let r = (w[1] / w[0]).ln();
            if w[0] > 0.0 && w[1] > 0.0 && r.is_finite() {
                r
            } else {
                0.0
            }
        })
        .collect()
}

/// EWMA variance filter (RiskMetrics): `v[i] = lambda·v[i-1] + (1 − lambda)·r[i]²`, started
/// at the mean square of the first (up to) 100 returns. `v[i]` is the variance forecast for
/// the return after `r[i]`; the last value is the next step's.
pub fn ewma_var(r: &[f64], lambda: f64) -> Vec<f64> {
    let n0 = r.len().min(100);
    let mut v = if n0 == 0 {
        0.0
    } else {
        r[..n0].iter().map(|x| x * x).sum::<f64>() / n0 as f64
    };
    r.iter()
        .map(|x| {
            v = lambda * v + (1.0 - lambda) * x * x;
            v
        })
        .collect()
}

/// GARCH(1,1) variance filter `h[i] = omega + alpha·r[i]² + beta·h[i-1]`, started at the
/// sample variance (mean square); `h[i]` is the variance forecast for the return after `r[i]`.
pub fn garch_var(r: &[f64], omega: f64, alpha: f64, beta: f64) -> Vec<f64> {
    let mut h = if r.is_empty() {
        0.0
    } else {
        r.iter().map(|x| x * x).sum::<f64>() / r.len() as f64
    };
    r.iter()
        .map(|x| {
            h = omega + alpha * x * x + beta * h;
            h
        })
        .collect()
}

/// A GARCH(1,1)-t fit (the `garch_t` baseline's estimator) in the returns' own units:
/// `(omega, alpha, beta, nu, next_var, long_run_var)`; `None` under 100 returns.
pub fn garch_fit(r: &[f64]) -> Option<GarchFit> {
    GarchFit::fit(r)
}

/// Rolling sum of `x[i]²` over windows of `w` ending at each index (shorter at the start).
pub fn rolling_sum_sq(x: &[f64], w: usize) -> Vec<f64> {
    let w = w.max(1);
    let mut acc = 0.0;
    let mut out = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        acc += x[i] * x[i];
        if i >= w {
            acc -= x[i - w] * x[i - w];
        }
        out.push(acc.max(0.0));
    }
    out
}

/// Rolling mean over windows of `w` ending at each index (shorter at the start).
pub fn rolling_mean(x: &[f64], w: usize) -> Vec<f64> {
    let w = w.max(1);
    let mut acc = 0.0;
    let mut out = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        acc += x[i];
        if i >= w {
            acc -= x[i - w];
        }
        out.push(acc / (i + 1).min(w) as f64);
    }
    out
}

/// Bipower variation `π/2 · Σ |r[i]|·|r[i-1]|`, scaled to `n` returns: realised variance
/// robust to jumps.
pub fn bipower_var(r: &[f64]) -> f64 {
    if r.len() < 2 {
        return r.iter().map(|x| x * x).sum();
    }
    let s: f64 = r.windows(2).map(|w| w[0].abs() * w[1].abs()).sum();
    std::f64::consts::FRAC_PI_2 * s * r.len() as f64 / (r.len() - 1) as f64
}

/// Parkinson range variance per candle, `ln(high/low)² / (4 ln 2)` (0 where invalid).
pub fn parkinson_var(high: &[f64], low: &[f64]) -> Vec<f64> {
    let k = 1.0 / (4.0 * std::f64::consts::LN_2);
    high.iter()
        .zip(low)
        .map(|(h, l)| {
            let x = (h / l).ln();
            if *h > 0.0 && *l > 0.0 && x.is_finite() {
                k * x * x
            } else {
                0.0
            }
        })
        .collect()
}

/// The intraday × weekday volatility multipliers fitted on returns `r` that start at UTC
/// seconds `t` (the baselines' [`IntradayProfile`]), read at the times `at`.
pub fn intraday_scale(r: &[f64], t: &[f64], at: &[f64]) -> Vec<f64> {
    let ret = StepReturns {
        start: t.iter().map(|&x| x as i64).collect(),
        r: r.to_vec(),
    };
    let p = IntradayProfile::fit(&ret);
    at.iter().map(|&x| p.at(x as i64)).collect()
}

/// The `q`-quantile (linear interpolation, NumPy's default) of finite values; NaN if none.
pub fn quantile(x: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = x.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_match_hand_values() {
        let r = log_returns(&[100.0, 110.0, 99.0, 0.0, 5.0]);
        assert!((r[0] - (1.1f64).ln()).abs() < 1e-12);
        assert_eq!(&r[2..], &[0.0, 0.0]);
        assert_eq!(quantile(&[3.0, 1.0, 2.0, f64::NAN], 0.5), 2.0);
        assert_eq!(quantile(&[0.0, 10.0], 0.25), 2.5);
        assert_eq!(rolling_sum_sq(&[1.0, 2.0, 3.0], 2), vec![1.0, 5.0, 13.0]);
        assert_eq!(rolling_mean(&[1.0, 2.0, 3.0], 2), vec![1.0, 1.5, 2.5]);
        let v = ewma_var(&[0.1, 0.1], 0.9);
        assert!((v[1] - 0.01).abs() < 1e-12);
        let h = garch_var(&[0.1; 3], 0.001, 0.1, 0.8);
        assert!((h[0] - (0.001 + 0.001 + 0.008)).abs() < 1e-12);
        let pk = parkinson_var(&[2.0_f64.exp()], &[1.0]);
        assert!((pk[0] - 4.0 / (4.0 * std::f64::consts::LN_2)).abs() < 1e-12);
    }
}
