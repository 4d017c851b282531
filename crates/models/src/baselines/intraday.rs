//! The intraday volatility pattern: a multiplicative time-of-day × day-of-week profile of
//! absolute returns, shrunk towards 1 where data are thin.

use super::StepReturns;

/// Seconds per time-of-day bucket (30 minutes).
const BUCKET_SECS: i64 = 1800;
/// Buckets per day.
const N_TOD: usize = (86_400 / BUCKET_SECS) as usize;
/// Pseudo-observations at the overall mean that every bucket starts with (shrinkage).
const PRIOR: f64 = 20.0;

/// Volatility multipliers by UTC time of day (30-minute buckets) and day of week; the
/// average multiplier over the returns it was fitted on is 1.
#[derive(Debug, Clone, PartialEq)]
pub struct IntradayProfile {
    tod: [f64; N_TOD],
    dow: [f64; 7],
}

impl Default for IntradayProfile {
    fn default() -> Self {
        Self::flat()
    }
}

impl IntradayProfile {
    /// No pattern: every multiplier is 1.
    pub fn flat() -> Self {
        Self {
            tod: [1.0; N_TOD],
            dow: [1.0; 7],
        }
    }

    /// Fits the profile on mean absolute returns (robust to jumps), time of day first, then
    /// day of week on the time-of-day-adjusted returns.
    pub fn fit(ret: &StepReturns) -> Self {
        let mut p = Self::flat();
        let mean = mean_abs(ret.r.iter().copied());
        if ret.len() < 100 || mean <= 0.0 {
            return p;
        }
        let (mut sum, mut n) = ([0.0; N_TOD], [0.0; N_TOD]);
        for (t, r) in ret.start.iter().zip(&ret.r) {
            let b = tod_bucket(*t);
            sum[b] += r.abs();
            n[b] += 1.0;
        }
        for b in 0..N_TOD {
            p.tod[b] = (sum[b] + PRIOR * mean) / (n[b] + PRIOR) / mean;
        }
        let (mut sum, mut n) = ([0.0; 7], [0.0; 7]);
        for (t, r) in ret.start.iter().zip(&ret.r) {
            let d = dow(*t);
            sum[d] += r.abs() / p.tod[tod_bucket(*t)];
            n[d] += 1.0;
        }
        let mean2 = sum.iter().sum::<f64>() / n.iter().sum::<f64>();
        for d in 0..7 {
            p.dow[d] = (sum[d] + PRIOR * mean2) / (n[d] + PRIOR) / mean2;
        }
        // Renormalise so the mean multiplier over the fitted returns is exactly 1.
        let m = ret.start.iter().map(|&t| p.at(t)).sum::<f64>() / ret.len() as f64;
        if m > 0.0 {
            p.tod.iter_mut().for_each(|x| *x /= m);
        }
        p
    }

    /// The multiplier for a move starting at UTC second `t`.
    pub fn at(&self, t: i64) -> f64 {
        self.tod[tod_bucket(t)] * self.dow[dow(t)]
    }
}

fn mean_abs(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x.abs(), n + 1));
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

fn tod_bucket(t: i64) -> usize {
    (t.rem_euclid(86_400) / BUCKET_SECS) as usize
}

/// Day of week, 0 = Thursday (the unix epoch's weekday); only used as an index.
fn dow(t: i64) -> usize {
    t.div_euclid(86_400).rem_euclid(7) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_doubled_bucket_and_is_flat_without_data() {
        // 20 days of 5-minute returns, |r| = 2 between 14:00 and 14:30 UTC, 1 elsewhere.
        let mut ret = StepReturns::default();
        for k in 0..(20 * 288) {
            let t = k * 300;
            let big = (50_400..52_200).contains(&(t % 86_400));
            ret.start.push(t);
            ret.r.push(if big {
                2.0
            } else if k % 2 == 0 {
                1.0
            } else {
                -1.0
            });
        }
        let p = IntradayProfile::fit(&ret);
        let ratio = p.at(50_400 + 60) / p.at(0);
        // Shrinkage (20 pseudo-observations against 120 real ones) pulls it a little towards 1.
        assert!((1.75..2.0).contains(&ratio), "ratio {ratio}");
        let m = ret.start.iter().map(|&t| p.at(t)).sum::<f64>() / ret.len() as f64;
        assert!((m - 1.0).abs() < 1e-12);
        assert_eq!(
            IntradayProfile::fit(&StepReturns::default()),
            IntradayProfile::flat()
        );
    }
}
