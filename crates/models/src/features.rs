//! Input features (B, T, F) from candles, normalised per window without look-ahead.
//!
//! For a window whose last candle is row `i` (decision time = that candle's close,
//! `ts[i] + resolution`), every feature at row `j ≤ i` uses only closes up to row `j`, and the
//! window's normaliser σ_w (RMS of its own T log returns) uses only rows of the window. So no
//! value depends on anything after the decision time. σ_w is also the head's volatility
//! anchor (`scale`). Returns across a gap in the data (missing candles) are set to 0.
//!
//! Features (channels):
//! - `log_return`: r_j / σ_w (clamped to ±20);
//! - `abs_return`: |r_j| / σ_w − 0.8;
//! - `rv_<n>`: ln(RMS of the last n returns at row j / σ_w) — realised volatility at window n;
//! - `time_of_day`: sin, cos of 2π·(seconds of day)/86,400 at the candle close (2 channels);
//! - `day_of_week`: sin, cos of 2π·(day of week)/7 (2 channels).

use market::Candles;

/// The default feature list.
pub const DEFAULT_FEATURES: &[&str] = &[
    "log_return",
    "abs_return",
    "rv_12",
    "rv_48",
    "time_of_day",
    "day_of_week",
];

/// Names accepted by [`Feature::parse`].
pub const FEATURE_HELP: &str =
    "log_return, abs_return, rv_<n> (2 ≤ n ≤ 5000), time_of_day, day_of_week";

/// Smallest window normaliser (log-return units), to avoid dividing by zero on flat data.
pub const MIN_SCALE: f64 = 1e-5;

/// One input feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// Normalised log return.
    LogReturn,
    /// Normalised absolute log return.
    AbsReturn,
    /// Log ratio of the realised volatility over the last n steps to the window's.
    RealisedVol(usize),
    /// Time of day (sin, cos).
    TimeOfDay,
    /// Day of week (sin, cos).
    DayOfWeek,
}

impl Feature {
    /// Parses a feature name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "log_return" => Some(Self::LogReturn),
            "abs_return" => Some(Self::AbsReturn),
            "time_of_day" => Some(Self::TimeOfDay),
            "day_of_week" => Some(Self::DayOfWeek),
            _ => {
                let n: usize = s.strip_prefix("rv_")?.parse().ok()?;
                (2..=5000).contains(&n).then_some(Self::RealisedVol(n))
            }
        }
    }

    /// Channels this feature contributes.
    pub fn channels(self) -> usize {
        match self {
            Self::TimeOfDay | Self::DayOfWeek => 2,
            _ => 1,
        }
    }

    /// Rows of history before a window row that this feature reads.
    pub fn lookback(self) -> usize {
        match self {
            Self::RealisedVol(n) => n,
            _ => 1,
        }
    }
}

/// Per-row quantities of a candle series: closes, log returns, gap flags, prefix sums.
#[derive(Debug, Clone)]
pub struct Series {
    /// Candle open times.
    pub ts: Vec<i64>,
    /// Closes.
    pub close: Vec<f64>,
    /// Log return into row j (0 for row 0 and across gaps).
    pub ret: Vec<f64>,
    /// prefix_r2[j] = Σ_{k<j} ret[k]².
    prefix_r2: Vec<f64>,
    /// prefix_gap[j] = number of rows k < j that start a gap (ts[k] − ts[k−1] ≠ resolution).
    prefix_gap: Vec<usize>,
    /// Seconds per candle.
    pub resolution: i64,
}

impl Series {
    /// Derives the series from candles (non-positive closes give a return of 0).
    pub fn new(c: &Candles) -> Self {
        let n = c.len();
        let res = c.resolution_secs as i64;
        let mut ret = vec![0.0; n];
        let mut gap = vec![false; n];
        for j in 1..n {
            let contiguous = c.ts[j] - c.ts[j - 1] == res;
            gap[j] = !contiguous;
            let (a, b) = (c.close[j - 1], c.close[j]);
            if contiguous && a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite() {
                ret[j] = (b / a).ln();
            }
        }
        let mut prefix_r2 = vec![0.0; n + 1];
        let mut prefix_gap = vec![0usize; n + 1];
        for j in 0..n {
            prefix_r2[j + 1] = prefix_r2[j] + ret[j] * ret[j];
            prefix_gap[j + 1] = prefix_gap[j] + gap[j] as usize;
        }
        Self {
            ts: c.ts.clone(),
            close: c.close.clone(),
            ret,
            prefix_r2,
            prefix_gap,
            resolution: res,
        }
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// RMS of ret[a..=b].
    fn rms(&self, a: usize, b: usize) -> f64 {
        let n = (b + 1 - a) as f64;
        ((self.prefix_r2[b + 1] - self.prefix_r2[a]) / n)
            .max(0.0)
            .sqrt()
    }

    /// True when rows a..=b have no gap between consecutive rows.
    pub fn contiguous(&self, a: usize, b: usize) -> bool {
        self.prefix_gap[b + 1] - self.prefix_gap[a + 1] == 0
    }
}

/// One model input (and, for training, its target).
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Features, row-major (T, F).
    pub x: Vec<f32>,
    /// σ_w: RMS per-step log return over the window (the heads' volatility anchor).
    pub scale: f32,
    /// The next H log returns after the decision time (empty at inference).
    pub target: Vec<f32>,
    /// Decision time: close time of the window's last candle (UTC seconds).
    pub decision_ts: i64,
    /// Close of the window's last candle.
    pub last_close: f64,
}

/// Builds windows of a fixed length and feature list.
#[derive(Debug, Clone)]
pub struct FeatureBuilder {
    features: Vec<Feature>,
    seq_len: usize,
    horizon: usize,
}

impl FeatureBuilder {
    /// A builder for `seq_len` steps of `features` and targets of `horizon` steps.
    pub fn new(features: Vec<Feature>, seq_len: usize, horizon: usize) -> Self {
        Self {
            features,
            seq_len,
            horizon,
        }
    }

    /// Channels F.
    pub fn n_features(&self) -> usize {
        self.features.iter().map(|f| f.channels()).sum()
    }

    /// Window length T.
    pub fn seq_len(&self) -> usize {
        self.seq_len
    }

    /// Target length H.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Rows needed up to and including the decision row.
    pub fn rows_needed(&self) -> usize {
        self.seq_len
            + self
                .features
                .iter()
                .map(|f| f.lookback())
                .max()
                .unwrap_or(1)
    }

    /// The window whose last row is `i`; with a target when `with_target` (None when the
    /// series is too short on either side).
    pub fn window_at(&self, s: &Series, i: usize, with_target: bool) -> Option<Window> {
        if i + 1 < self.rows_needed() || i >= s.len() {
            return None;
        }
        if with_target && i + self.horizon >= s.len() {
            return None;
        }
        let t = self.seq_len;
        let a = i + 1 - t;
        let scale = s.rms(a, i).max(MIN_SCALE);
        let f = self.n_features();
        let mut x = Vec::with_capacity(t * f);
        for j in a..=i {
            let r = s.ret[j] / scale;
            let close_t = s.ts[j] + s.resolution;
            for feat in &self.features {
                match *feat {
                    Feature::LogReturn => x.push(r.clamp(-20.0, 20.0) as f32),
                    Feature::AbsReturn => x.push((r.abs().min(20.0) - 0.8) as f32),
                    Feature::RealisedVol(n) => {
                        let rv = s.rms(j + 1 - n, j).max(MIN_SCALE * 0.01);
                        x.push((rv / scale).ln().clamp(-5.0, 5.0) as f32);
                    }
                    Feature::TimeOfDay => {
                        let a = 2.0 * std::f64::consts::PI * close_t.rem_euclid(86_400) as f64
                            / 86_400.0;
                        x.push(a.sin() as f32);
                        x.push(a.cos() as f32);
                    }
                    Feature::DayOfWeek => {
                        // 1970-01-01 was a Thursday: Monday = 0.
                        let dow = (close_t.div_euclid(86_400) + 3).rem_euclid(7) as f64;
                        let a = 2.0 * std::f64::consts::PI * dow / 7.0;
                        x.push(a.sin() as f32);
                        x.push(a.cos() as f32);
                    }
                }
            }
        }
        let target = if with_target {
            s.ret[i + 1..=i + self.horizon]
                .iter()
                .map(|&r| r as f32)
                .collect()
        } else {
            Vec::new()
        };
        Some(Window {
            x,
            scale: scale as f32,
            target,
            decision_ts: s.ts[i] + s.resolution,
            last_close: s.close[i],
        })
    }

    /// Training windows every `stride` rows whose inputs and targets have no gaps and whose
    /// decision time passes `keep` (e.g. a split span's `holds_window`).
    pub fn windows(&self, s: &Series, stride: usize, keep: impl Fn(i64) -> bool) -> Vec<Window> {
        let need = self.rows_needed();
        if s.len() < need + self.horizon + 1 {
            return Vec::new();
        }
        let stride = stride.max(1);
        let mut out = Vec::new();
        let mut i = need - 1;
        while i + self.horizon < s.len() {
            let decision = s.ts[i] + s.resolution;
            if keep(decision) && s.contiguous(i + 1 - need, i + self.horizon) {
                if let Some(w) = self.window_at(s, i, true) {
                    out.push(w);
                }
            }
            i += stride;
        }
        out
    }
}
