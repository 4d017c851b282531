//! The validator's two prompt competitions (`synth/validator/prompt_config.py`) and the per-asset
//! coefficients of its moving average (`synth/validator/moving_average.py`), as data.

use serde::Serialize;

/// One scoring horizon of a prompt: `name` as the validator spells it, `seconds` its length.
///
/// Names ending in `_abs` score absolute prices at the horizon end; names ending in `_gaps` score
/// only the first change `p0 -> p_s`; all others score every basis-point change over `seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScoringInterval {
    /// Interval name, e.g. `"5min"`, `"24hour_abs"`, `"0_5min_gaps"`.
    pub name: &'static str,
    /// Interval length in seconds.
    pub seconds: i64,
}

impl ScoringInterval {
    /// Whether this interval scores absolute prices (`_abs`).
    pub fn is_abs(&self) -> bool {
        self.name.ends_with("_abs")
    }
    /// Whether this interval scores only the change from the start (`_gaps`).
    pub fn is_gap(&self) -> bool {
        self.name.ends_with("_gaps")
    }
}

/// Every field of the validator's `PromptConfig`, with the CLI defaults production uses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptConfig {
    /// `"low"` (24 h) or `"high"` (1 h).
    pub label: &'static str,
    /// Assets in rotation order.
    pub asset_list: &'static [&'static str],
    /// Forecast horizon in seconds.
    pub time_length: i64,
    /// Seconds between path points.
    pub time_increment: i64,
    /// Paths per request.
    pub num_simulations: usize,
    /// `initial_delay` (unused by the validator).
    pub initial_delay: i64,
    /// Minutes between prompts.
    pub cycle_interval_minutes: i64,
    /// Extra seconds added to the request timeout.
    pub timeout_extra_seconds: i64,
    /// Scoring horizons, in the validator's order (the order changes the floating-point sum).
    pub scoring_intervals: &'static [ScoringInterval],
    /// Days of prompt scores in the moving average.
    pub window_days: i64,
    /// Softmax beta applied to the smoothed scores.
    pub softmax_beta: f64,
    /// Share of the weights this competition hands out.
    pub smoothed_score_coefficient: f64,
    /// Days of data kept in "light" mode.
    pub data_retention_days: i64,
    /// Age after which requests are thinned.
    pub thin_after_minutes: i64,
    /// Thinning bucket width in seconds.
    pub thin_bucket_seconds: i64,
}

impl PromptConfig {
    /// Points per path: `time_length / time_increment + 1` (289 LOW, 61 HIGH).
    pub fn points(&self) -> usize {
        (self.time_length / self.time_increment) as usize + 1
    }

    /// The config for a label (`"low"`/`"high"`, also `"24h"`/`"1h"`), case-insensitive.
    pub fn by_label(label: &str) -> Option<&'static PromptConfig> {
        label
            .parse::<crate::Competition>()
            .ok()
            .map(crate::Competition::cfg)
    }

    /// The validator's `label_from_time_length`: 86400 is LOW, 3600 is HIGH, anything else none.
    pub fn by_time_length(time_length: i64) -> Option<&'static PromptConfig> {
        match time_length {
            86_400 => Some(&LOW),
            3_600 => Some(&HIGH),
            _ => None,
        }
    }

    /// The intervals the validator scores a request of `time_length` with: HIGH's for 3600,
    /// LOW's for anything else.
    pub fn intervals_for_time_length(time_length: i64) -> &'static [ScoringInterval] {
        if time_length == HIGH.time_length {
            HIGH.scoring_intervals
        } else {
            LOW.scoring_intervals
        }
    }
}

const fn iv(name: &'static str, seconds: i64) -> ScoringInterval {
    ScoringInterval { name, seconds }
}

/// LOW_FREQUENCY ("24h"): 24 h at 5-minute steps, 12 assets.
pub const LOW: PromptConfig = PromptConfig {
    label: "low",
    asset_list: &[
        "BTC", "ETH", "XAU", "SOL", "SPYX", "NVDAX", "TSLAX", "AAPLX", "GOOGLX", "XRP", "HYPE",
        "WTIOIL",
    ],
    time_length: 86_400,
    time_increment: 300,
    num_simulations: 1000,
    initial_delay: 60,
    cycle_interval_minutes: 5,
    timeout_extra_seconds: 60,
    scoring_intervals: &[
        iv("5min", 300),
        iv("30min", 1800),
        iv("3hour", 10_800),
        iv("24hour_abs", 86_400),
    ],
    window_days: 10,
    softmax_beta: -0.1,
    smoothed_score_coefficient: 0.5,
    data_retention_days: 12,
    thin_after_minutes: 30,
    thin_bucket_seconds: 3600,
};

/// HIGH_FREQUENCY ("1h", HFT): 1 h at 1-minute steps, 5 assets.
pub const HIGH: PromptConfig = PromptConfig {
    label: "high",
    asset_list: &["BTC", "ETH", "XAU", "SOL", "HYPE"],
    time_length: 3600,
    time_increment: 60,
    num_simulations: 1000,
    initial_delay: 0,
    cycle_interval_minutes: 2,
    timeout_extra_seconds: 60,
    scoring_intervals: &[
        iv("1min", 60),
        iv("2min", 120),
        iv("5min", 300),
        iv("15min", 900),
        iv("30min", 1800),
        iv("60min_abs", 3600),
        iv("0_5min_gaps", 300),
        iv("0_10min_gaps", 600),
        iv("0_15min_gaps", 900),
        iv("0_20min_gaps", 1200),
        iv("0_25min_gaps", 1500),
        iv("0_30min_gaps", 1800),
        iv("0_35min_gaps", 2100),
        iv("0_40min_gaps", 2400),
        iv("0_45min_gaps", 2700),
        iv("0_50min_gaps", 3000),
        iv("0_55min_gaps", 3300),
        iv("0_60min_gaps", 3600),
    ],
    window_days: 3,
    softmax_beta: -0.2,
    smoothed_score_coefficient: 0.5,
    data_retention_days: 4,
    thin_after_minutes: 10,
    thin_bucket_seconds: 600,
};

/// Per-asset coefficients of the moving average (`ASSET_COEFFICIENTS`).
pub const ASSET_COEFFICIENTS: &[(&str, f64)] = &[
    ("BTC", 1.0),
    ("ETH", 0.7064366394033871),
    ("XAU", 1.7370922597118699),
    ("SOL", 0.6310037175639559),
    ("SPYX", 3.437935601155441),
    ("NVDAX", 1.6028217601617174),
    ("TSLAX", 1.6068755936957768),
    ("AAPLX", 2.0916380815843123),
    ("GOOGLX", 1.6827392777257926),
    ("XRP", 0.5658394110809131),
    ("HYPE", 0.4784547133706857),
    ("WTIOIL", 0.8475062847978935),
];

/// The coefficient of `asset`; 1.0 for an asset not in the map (the validator's `fillna(1.0)`).
pub fn asset_coefficient(asset: &str) -> f64 {
    ASSET_COEFFICIENTS
        .iter()
        .find(|(a, _)| *a == asset)
        .map_or(1.0, |&(_, c)| c)
}

/// Owner uid that receives the sum of all miner weights (mainnet).
pub const OWNER_UID_MAINNET: u16 = 248;
/// Owner uid on testnet.
pub const OWNER_UID_TESTNET: u16 = 23;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_per_path() {
        assert_eq!(LOW.points(), 289);
        assert_eq!(HIGH.points(), 61);
    }

    #[test]
    fn labels_and_lengths() {
        assert_eq!(PromptConfig::by_label("LOW").unwrap().label, "low");
        assert_eq!(PromptConfig::by_label("1h").unwrap().label, "high");
        assert!(PromptConfig::by_label("mid").is_none());
        assert_eq!(PromptConfig::by_time_length(86_400).unwrap().label, "low");
        assert_eq!(PromptConfig::by_time_length(3600).unwrap().label, "high");
        assert!(PromptConfig::by_time_length(7200).is_none());
        assert_eq!(PromptConfig::intervals_for_time_length(7200).len(), 4);
        assert_eq!(PromptConfig::intervals_for_time_length(3600).len(), 18);
    }

    #[test]
    fn interval_kinds() {
        let names: Vec<_> = HIGH
            .scoring_intervals
            .iter()
            .filter(|i| i.is_gap())
            .collect();
        assert_eq!(names.len(), 12);
        assert!(LOW.scoring_intervals[3].is_abs());
        assert!(!LOW.scoring_intervals[0].is_abs());
    }

    #[test]
    fn coefficients() {
        assert_eq!(asset_coefficient("XAU"), 1.7370922597118699);
        assert_eq!(asset_coefficient("DOGE"), 1.0);
        assert_eq!(ASSET_COEFFICIENTS.len(), LOW.asset_list.len());
    }
}
