//! Named, documented experiment presets: every statistical baseline, and a small neural model
//! for every head and every main block family.

use serde::Serialize;

use crate::experiment::ModelChoice;
use crate::spec::{ModelSpec, Timeframe};

/// What a preset builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PresetKind {
    /// A statistical baseline by name (see [`crate::baselines::BASELINE_NAMES`]).
    Baseline {
        /// Baseline name.
        baseline: &'static str,
    },
    /// A neural model: blocks in order, then a head, with default hyperparameters.
    Neural {
        /// Registry names of the blocks.
        blocks: &'static [&'static str],
        /// Registry name of the head.
        head: &'static str,
    },
}

/// A named experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Preset {
    /// Preset name (used by `synth-city sweep --presets`).
    pub name: &'static str,
    /// One line on what it is and why it is there.
    pub description: &'static str,
    /// What it builds.
    #[serde(flatten)]
    pub kind: PresetKind,
}

const fn base(name: &'static str, description: &'static str) -> Preset {
    Preset {
        name,
        description,
        kind: PresetKind::Baseline { baseline: name },
    }
}

const fn neural(
    name: &'static str,
    blocks: &'static [&'static str],
    head: &'static str,
    description: &'static str,
) -> Preset {
    Preset {
        name,
        description,
        kind: PresetKind::Neural { blocks, head },
    }
}

/// Every preset, baselines first.
pub const PRESETS: &[Preset] = &[
    base(
        "gbm",
        "the SN50 reference miner: driftless GBM with its fixed per-asset sigma",
    ),
    base(
        "gbm_hist",
        "the reference GBM with sigma from the last 3 days of returns",
    ),
    base(
        "ewma",
        "EWMA volatility (1-day half-life), flat forecast, Gaussian returns",
    ),
    base(
        "garch_t",
        "GARCH(1,1), Student-t innovations by MLE, intraday volatility pattern",
    ),
    base(
        "garch_t_flat",
        "GARCH(1,1)-t without the intraday pattern (ablation)",
    ),
    base(
        "bootstrap",
        "filtered block bootstrap of returns with the intraday pattern",
    ),
    base(
        "bootstrap_cal",
        "the bootstrap with its volatility scaled by the multiplier that minimises the SN50 CRPS \
         over past pseudo-prompts in the history",
    ),
    base(
        "mix_cal",
        "ensemble: half the paths from bootstrap_cal, half from garch_t_flat",
    ),
    base(
        "bootstrap_sess",
        "the bootstrap with market closures: closed hours carry the overnight/break gap \
         variance instead of the in-session volatility (equities, gold)",
    ),
    base(
        "mix_sess",
        "ensemble: half the paths from bootstrap_sess, half from garch_t (LOW); at 1-minute \
         steps a 30-min-EWMA bootstrap with garch_t_flat",
    ),
    base(
        "mix_rev",
        "mix_sess whose GARCH members' variance reverts with a half-life of at most 12 h \
         (5-min steps) / 1 h (1-min steps); did not beat mix_sess on the walk-forward",
    ),
    base(
        "mix_fit",
        "mix_sess with its GARCH share and its near/far spread chosen at every prompt by the \
         SN50 CRPS of its own forecasts on earlier windows of the history; did not beat mix_sess on \
         the walk-forward",
    ),
    base(
        "mix_har",
        "mix_sess with its volatility level from a HAR-RV regression (log realised variance of \
         the next horizon on the last 1 h, 4 h, day and week, deseasonalised) fitted on the \
         prompt's own past, at LOW (HIGH as mix_sess); did not beat mix_sess on the walk-forward",
    ),
    base(
        "mix_har_1m",
        "mix_har with its regressors from 1-minute realised variance (the request's finer \
         1-minute series at LOW; 5-minute returns without one)",
    ),
    base(
        "mix_har_range",
        "mix_har with its regressors from the 5-minute candles' Parkinson range variance",
    ),
    base(
        "mix_range",
        "the default model: mix_sess whose LOW bootstrap starts from a level blended half and \
         half with the 5-minute candles' range level (1 h EWMA); HIGH as mix_sess",
    ),
    base(
        "mix_range_1m",
        "mix_range with the range level from the request's 1-minute candles (LOW; the \
         5-minute candles without them)",
    ),
    base(
        "mix_range_1m_w1",
        "mix_range_1m with the range level replacing the bootstrap's starting level",
    ),
    base(
        "mix_mkt",
        "mix_sess whose LOW spread leans toward the market-wide volatility factor (median over \
         the assets of their last day's over their 30-day realised variance), weight 0.5",
    ),
    base(
        "mix_mkt_w25",
        "mix_mkt with weight 0.25",
    ),
    neural(
        "mlp_gbm",
        &["mlp"],
        "gbm",
        "MLP backbone, GBM head (constant drift and volatility)",
    ),
    neural(
        "lstm_student_t",
        &["lstm"],
        "student_t",
        "LSTM, Student-t increments (fat tails)",
    ),
    neural(
        "gru_mixture",
        &["gru"],
        "mixture",
        "GRU, mixture of Gaussians per step",
    ),
    neural(
        "transformer_sde",
        &["transformer"],
        "sde",
        "Transformer encoder, per-step drift and vol",
    ),
    neural(
        "tcn_quantile",
        &["tcn"],
        "quantile",
        "dilated causal TCN, quantile head",
    ),
    neural(
        "nbeats_flow",
        &["nbeats"],
        "flow",
        "N-BEATS-style MLP stack, monotone flow of noise",
    ),
    neural(
        "dlinear_gbm",
        &["dlinear"],
        "gbm",
        "DLinear trend/seasonal split, GBM head",
    ),
    neural(
        "patchtst_mixture",
        &["patchtst"],
        "mixture",
        "PatchTST patching + encoder, mixture",
    ),
    neural(
        "revin_lstm_copula",
        &["revin", "lstm"],
        "copula",
        "RevIN + LSTM, Gaussian copula",
    ),
    neural(
        "mamba_jump",
        &["mamba"],
        "jump",
        "Mamba-style selective SSM, jump-diffusion head",
    ),
    neural(
        "itransformer_student_t",
        &["itransformer"],
        "student_t",
        "iTransformer, Student-t",
    ),
    neural(
        "frets_sde",
        &["frets"],
        "sde",
        "FreTS frequency MLP, SDE head",
    ),
];

/// A preset by name.
pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

impl Preset {
    /// The model this preset builds for `timeframe`, with `d_model`, `epochs` and `seed`
    /// applied to neural specs when given.
    pub fn model(
        &self,
        timeframe: Timeframe,
        d_model: Option<usize>,
        epochs: Option<usize>,
        seed: u64,
    ) -> ModelChoice {
        match self.kind {
            PresetKind::Baseline { baseline } => ModelChoice::Baseline(baseline.to_string()),
            PresetKind::Neural { blocks, head } => {
                let mut spec = ModelSpec::new(timeframe, blocks, head);
                spec.name = Some(self.name.to_string());
                if let Some(d) = d_model {
                    spec.d_model = d;
                }
                if let Some(e) = epochs {
                    spec.training.epochs = e;
                }
                spec.training.seed = seed;
                ModelChoice::Neural(Box::new(spec))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_cover_every_head_and_are_valid_specs() {
        for h in crate::registry::heads() {
            assert!(
                PRESETS
                    .iter()
                    .any(|p| matches!(p.kind, PresetKind::Neural { head, .. } if head == h.name)),
                "no preset for head {}",
                h.name
            );
        }
        for p in PRESETS {
            match p.model(Timeframe::High1m, None, None, 0) {
                ModelChoice::Neural(s) => {
                    s.validate().unwrap();
                }
                ModelChoice::Baseline(b) => assert!(crate::baselines::baseline(&b).is_some()),
            }
        }
        assert!(preset("garch_t").is_some() && preset("nope").is_none());
    }
}
