//! Backtest of the SN50 competition: replays the validators' prompt schedule over a historical
//! range (LOW and HIGH), asks each competitor for 1,000 paths from history cut at the request
//! time, scores them with `sn50` exactly, and emulates the validators' prompt scores, moving
//! averages and reward weights with the competitors as the miners.

pub mod competitor;
pub mod data;
pub mod engine;
pub mod error;
pub mod plot;
pub mod report;
pub mod rewards;
pub mod schedule;
pub mod walk_forward;

pub use competitor::{in_sample_notes, resolve_competitors, Competitor, DEFAULT_COMPETITORS};
pub use data::{load_market, AssetData, MarketData};
pub use engine::{run, run_prompts, BacktestConfig, PromptResult, PromptStatus};
pub use error::BacktestError;
pub use report::{summarise, write_outputs, Summary};
pub use rewards::{final_weights, share_timeline, CompetitionWeights, ShareSnapshot};
pub use schedule::{schedule, Competition, Prompt, LEAD_SECS};
pub use walk_forward::{WalkForwardConfig, WalkForwardReport};
