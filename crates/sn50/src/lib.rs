//! Bittensor SN50 (Synth) rules as a library: prompt configs, the response format and its
//! validation, and a bit-exact replica of the validator's scoring.

pub mod asset;
pub mod competition;
pub mod config;
pub mod crps;
pub mod format;
pub mod grid;
pub mod io;
mod io_fast;
pub mod numeric;
pub mod paths;
pub mod pyrepr;
pub mod rewards;
pub mod simulation;
pub mod sort;
pub mod validation;

pub use asset::Asset;
pub use competition::{Competition, Timeframe, UnknownName};
pub use config::{asset_coefficient, PromptConfig, ScoringInterval, HIGH, LOW};
pub use crps::{crps_for_miner, miner_score, CrpsError, IntervalCrps, MinerCrps};
pub use format::{format_paths, round_price, FormatError};
pub use grid::{real_price_grid, realized_prices, GridError};
pub use paths::{PathSet, PathSetError};
pub use rewards::{compute_prompt_scores, compute_softmax, PromptScores, ScoreRow};
pub use simulation::{
    parse_iso_unix, Price, SimulationInput, SimulationOutput, SimulationResponse,
};
pub use validation::{validate_response, validation_message, Expected, ValidationError, CORRECT};
