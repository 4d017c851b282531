//! Market data for synth-city: candle series, Pyth history, a local Parquet cache, CSV import,
//! resampling and returns, and a clearly-labelled synthetic market.

pub mod assets;
pub mod atomic;
pub mod cache;
pub mod embedded;
pub mod error;
pub mod gaps;
pub mod grid;
pub mod home;
pub mod import;
pub mod lookup;
pub mod pyth;
pub mod resample;
pub mod returns;
pub mod series;
pub mod symbols;
pub mod sync;
pub mod synthetic;
pub mod timeparse;

pub use cache::{Cache, CacheEntry};
pub use error::MarketError;
pub use gaps::{find_gaps, gap_summary, Gap, GapSummary};
pub use import::{load_shared, read_csv_file, ImportOptions, ImportReport};
pub use lookup::{load_real, RealSource};
pub use pyth::{PythClient, PythConfig};
pub use resample::{resample, BucketRule};
pub use returns::{log_returns, LogReturns};
pub use series::{Candles, Provenance};
pub use synthetic::SyntheticParams;
