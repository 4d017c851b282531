//! Log returns (gap-aware), realised volatility and the sample statistics used to check models.

use crate::Candles;

/// Seconds in a 365-day year (crypto and tokenised stocks trade around the clock).
pub const SECS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// Close-to-close log returns between candles exactly one resolution apart.
/// No return is formed across a gap: the first candle after a gap starts afresh.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogReturns {
    /// Open time of the candle each return ends at (unix s).
    pub ts: Vec<i64>,
    /// `ln(close[i] / close[i-1])`.
    pub value: Vec<f64>,
}

/// Gap-aware close-to-close log returns of a series.
pub fn log_returns(c: &Candles) -> LogReturns {
    let res = i64::from(c.resolution_secs);
    let mut out = LogReturns::default();
    for i in 1..c.len() {
        if c.ts[i] - c.ts[i - 1] == res {
            out.ts.push(c.ts[i]);
            out.value.push((c.close[i] / c.close[i - 1]).ln());
        }
    }
    out
}

/// Realised volatility of a window: `sqrt(sum r²)` (not annualised, not demeaned).
pub fn realized_vol(returns: &[f64]) -> f64 {
    returns.iter().map(|r| r * r).sum::<f64>().sqrt()
}

/// Annualised volatility of a series from its gap-aware log returns:
/// the sample standard deviation times `sqrt(periods per year)`. `NaN` with fewer than 2 returns.
pub fn annualized_vol(c: &Candles) -> f64 {
    let r = log_returns(c).value;
    std_dev(&r) * (SECS_PER_YEAR / f64::from(c.resolution_secs.max(1))).sqrt()
}

/// Sample mean; `NaN` when empty.
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample standard deviation (n − 1); `NaN` with fewer than 2 values.
pub fn std_dev(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
}

/// Excess kurtosis (0 for a normal distribution), moment estimator; `NaN` when degenerate.
pub fn excess_kurtosis(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let m = mean(x);
    let m2 = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
    let m4 = x.iter().map(|v| (v - m).powi(4)).sum::<f64>() / n;
    m4 / (m2 * m2) - 3.0
}

/// Sample autocorrelation at `lag`; `NaN` when undefined.
pub fn autocorrelation(x: &[f64], lag: usize) -> f64 {
    if lag >= x.len() {
        return f64::NAN;
    }
    let m = mean(x);
    let var: f64 = x.iter().map(|v| (v - m).powi(2)).sum();
    let cov: f64 = x
        .iter()
        .zip(&x[lag..])
        .map(|(a, b)| (a - m) * (b - m))
        .sum();
    cov / var
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Provenance;

    #[test]
    fn returns_skip_gaps() {
        let mut c = Candles::empty("BTC", 60, Provenance::Real);
        c.ts = vec![0, 60, 120, 300, 360];
        c.close = vec![100.0, 110.0, 99.0, 50.0, 55.0];
        c.open = c.close.clone();
        c.high = c.close.clone();
        c.low = c.close.clone();
        let r = log_returns(&c);
        assert_eq!(r.ts, vec![60, 120, 360]);
        let want = [(1.1f64).ln(), (0.9f64).ln(), (1.1f64).ln()];
        for (a, b) in r.value.iter().zip(want) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!((realized_vol(&[0.03, 0.04]) - 0.05).abs() < 1e-15);
    }

    #[test]
    fn moments_of_known_samples() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert!((mean(&x) - 2.5).abs() < 1e-15);
        assert!((std_dev(&x) - (5.0f64 / 3.0).sqrt()).abs() < 1e-15);
        // two-point symmetric distribution: kurtosis 1, excess −2
        assert!((excess_kurtosis(&[1.0, -1.0, 1.0, -1.0]) + 2.0).abs() < 1e-12);
        assert!((autocorrelation(&[1.0, -1.0, 1.0, -1.0], 1) + 0.75).abs() < 1e-12);
    }
}
