//! A seeded synthetic market for offline demos and tests. Its output is always labelled
//! [`Provenance::Synthetic`] and is never a stand-in for real data of a real asset.
//!
//! Per candle of `dt` seconds the log return is
//! `r = s(time of day) · sqrt(h) · z + J`, where
//! - `h` follows GARCH(1,1): `h' = ω + α·(sqrt(h)·z)² + β·h`, `ω = σ²_d·dt·(1 − α − β)`, which gives
//!   volatility clustering around the long-run diffusive variance `σ²_d·dt`;
//! - `z` is Student-t with `df` degrees of freedom scaled to unit variance (fat tails);
//! - `J` is a jump, `N(0, jump_sd²)`, arriving with probability `jumps_per_day · dt / 1 day`;
//! - `s² = 1 + a·cos(2π(t − peak)/1 day)` has mean 1 over a day (intraday pattern).
//!
//! `σ²_d = annual_vol² − jumps_per_year · jump_sd²`, so `annual_vol` is the total volatility.
//! Open is the previous close; high and low extend beyond max/min(open, close) by a half-normal
//! multiple of half the candle's volatility (a simple, documented approximation).

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{StandardNormal, StudentT};
use serde::{Deserialize, Serialize};

use crate::returns::SECS_PER_YEAR;
use crate::{Candles, MarketError, Provenance};

/// Parameters of the synthetic market (see the module docs for the model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticParams {
    /// Asset name written into the series.
    pub asset: String,
    /// First open price.
    pub start_price: f64,
    /// Total annualised volatility (e.g. 0.55 for 55 %).
    pub annual_vol: f64,
    /// GARCH reaction to the last shock, `α ≥ 0`.
    pub garch_alpha: f64,
    /// GARCH persistence, `β ≥ 0`, `α + β < 1`.
    pub garch_beta: f64,
    /// Student-t degrees of freedom (> 2); `f64::INFINITY` gives normal shocks.
    pub tail_df: f64,
    /// Expected jumps per day.
    pub jumps_per_day: f64,
    /// Standard deviation of a jump's log size.
    pub jump_sd: f64,
    /// Amplitude `a` of the intraday variance pattern, in `[0, 1)`.
    pub intraday_amplitude: f64,
    /// UTC second of the day at which variance peaks.
    pub intraday_peak_secs: u32,
}

impl SyntheticParams {
    /// Typical parameters for an SN50 asset (`BTC`, `ETH`, `SOL`, `XRP`, `HYPE`, `XAU`, `SPYX`,
    /// `NVDAX`, `TSLAX`, `AAPLX`, `GOOGLX`, `WTIOIL`, or an alias such as `SPY`); other names get
    /// BTC-like crypto parameters.
    /// Equity and gold peaks sit at the US cash open (14:30 UTC), crypto at 15:00 UTC.
    pub fn for_asset(asset: &str) -> Self {
        // (price, annual vol, α, β, df, jumps/day, jump sd, intraday amplitude, peak hour)
        let (p, vol, a, b, df, jd, js, amp, peak) =
            match sn50::asset::canonical_asset(asset).as_str() {
                "BTC" => (100_000.0, 0.50, 0.05, 0.93, 4.5, 0.5, 0.004, 0.5, 15.0),
                "ETH" => (3_500.0, 0.70, 0.05, 0.93, 4.5, 0.5, 0.005, 0.5, 15.0),
                "SOL" => (180.0, 0.85, 0.06, 0.92, 4.0, 0.6, 0.006, 0.5, 15.0),
                "XRP" => (2.5, 0.85, 0.06, 0.92, 4.0, 0.6, 0.006, 0.5, 15.0),
                "HYPE" => (40.0, 1.00, 0.06, 0.92, 4.0, 0.8, 0.008, 0.4, 15.0),
                "XAU" | "XAUT" => (3_300.0, 0.18, 0.04, 0.94, 5.0, 0.2, 0.002, 0.6, 14.5),
                "SPYX" => (600.0, 0.18, 0.05, 0.93, 5.0, 0.2, 0.002, 0.8, 14.5),
                "NVDAX" | "TSLAX" => (180.0, 0.55, 0.05, 0.93, 4.5, 0.3, 0.005, 0.8, 14.5),
                "AAPLX" | "GOOGLX" => (220.0, 0.30, 0.05, 0.93, 5.0, 0.2, 0.003, 0.8, 14.5),
                "WTIOIL" => (70.0, 0.35, 0.05, 0.93, 5.0, 0.3, 0.004, 0.6, 14.5),
                _ => (100_000.0, 0.50, 0.05, 0.93, 4.5, 0.5, 0.004, 0.5, 15.0),
            };
        Self {
            asset: asset.to_string(),
            start_price: p,
            annual_vol: vol,
            garch_alpha: a,
            garch_beta: b,
            tail_df: df,
            jumps_per_day: jd,
            jump_sd: js,
            intraday_amplitude: amp,
            intraday_peak_secs: (peak * 3600.0) as u32,
        }
    }

    /// Plain geometric Brownian motion: constant volatility, normal shocks, no jumps or pattern.
    pub fn gbm(asset: &str, start_price: f64, annual_vol: f64) -> Self {
        Self {
            asset: asset.to_string(),
            start_price,
            annual_vol,
            garch_alpha: 0.0,
            garch_beta: 0.0,
            tail_df: f64::INFINITY,
            jumps_per_day: 0.0,
            jump_sd: 0.0,
            intraday_amplitude: 0.0,
            intraday_peak_secs: 0,
        }
    }

    /// Checks the parameters; the message names the bad one.
    pub fn validate(&self) -> Result<(), MarketError> {
        let bad = |m: &str| Err(MarketError::Invalid(format!("synthetic parameters: {m}")));
        if !(self.start_price.is_finite() && self.start_price > 0.0) {
            return bad("start_price must be a positive number");
        }
        if !(self.annual_vol.is_finite() && self.annual_vol > 0.0) {
            return bad("annual_vol must be positive");
        }
        if !(self.garch_alpha >= 0.0 && self.garch_beta >= 0.0)
            || self.garch_alpha + self.garch_beta >= 1.0
        {
            return bad("need alpha >= 0, beta >= 0 and alpha + beta < 1");
        }
        if self.tail_df.is_nan() || self.tail_df <= 2.0 {
            return bad("tail_df must be > 2");
        }
        if !(self.jumps_per_day >= 0.0 && self.jump_sd >= 0.0) {
            return bad("jumps_per_day and jump_sd must be >= 0");
        }
        if !(0.0..1.0).contains(&self.intraday_amplitude) {
            return bad("intraday_amplitude must be in [0, 1)");
        }
        if self.diffusive_annual_var() <= 0.0 {
            return bad("jumps alone exceed annual_vol");
        }
        Ok(())
    }

    /// Annual variance left to the diffusive part once jumps are accounted for.
    pub fn diffusive_annual_var(&self) -> f64 {
        self.annual_vol.powi(2) - self.jumps_per_day * 365.0 * self.jump_sd.powi(2)
    }

    /// Generates `n` candles of `resolution_secs` starting at `start_ts` (floored to the grid).
    /// The same parameters and seed always give the same series.
    pub fn generate(
        &self,
        start_ts: i64,
        resolution_secs: u32,
        n: usize,
        seed: u64,
    ) -> Result<Candles, MarketError> {
        self.validate()?;
        if resolution_secs == 0 {
            return Err(MarketError::Invalid("resolution must be positive".into()));
        }
        let res = i64::from(resolution_secs);
        let dt = f64::from(resolution_secs);
        let bar_var = self.diffusive_annual_var() * dt / SECS_PER_YEAR;
        let (a, b) = (self.garch_alpha, self.garch_beta);
        let omega = bar_var * (1.0 - a - b);
        let jump_p = (self.jumps_per_day * dt / 86_400.0).min(1.0);
        let t_dist = if self.tail_df.is_finite() {
            Some(StudentT::new(self.tail_df).map_err(|e| MarketError::Invalid(e.to_string()))?)
        } else {
            None
        };
        let t_scale = if self.tail_df.is_finite() {
            ((self.tail_df - 2.0) / self.tail_df).sqrt()
        } else {
            1.0
        };
        let mut rng = StdRng::seed_from_u64(seed);
        let mut c = Candles::empty(self.asset.clone(), resolution_secs, Provenance::Synthetic);
        let t0 = start_ts.div_euclid(res) * res;
        let (mut h, mut price) = (bar_var, self.start_price);
        for i in 0..n {
            let t = t0 + i as i64 * res;
            let z: f64 = match &t_dist {
                Some(d) => rng.sample::<f64, _>(d) * t_scale,
                None => rng.sample(StandardNormal),
            };
            let season = self.season(t + res / 2);
            let shock = h.sqrt() * z;
            let mut r = season * shock;
            if jump_p > 0.0 && rng.random::<f64>() < jump_p {
                r += self.jump_sd * rng.sample::<f64, _>(StandardNormal);
            }
            h = omega + a * shock * shock + b * h;
            let open = price;
            price *= r.exp();
            let wick = 0.5 * season * h.sqrt();
            let up: f64 = rng.sample::<f64, _>(StandardNormal).abs() * wick;
            let down: f64 = rng.sample::<f64, _>(StandardNormal).abs() * wick;
            c.ts.push(t);
            c.open.push(open);
            c.close.push(price);
            c.high.push(open.max(price) * up.exp());
            c.low.push(open.min(price) * (-down).exp());
        }
        Ok(c)
    }

    /// Intraday volatility multiplier `s(t)`; `s²` averages to 1 over a day.
    pub fn season(&self, t: i64) -> f64 {
        let day = 86_400.0;
        let phase = (t - i64::from(self.intraday_peak_secs)).rem_euclid(86_400) as f64 / day;
        (1.0 + self.intraday_amplitude * (std::f64::consts::TAU * phase).cos()).sqrt()
    }
}
