//! Data Universe (Bittensor SN13, Macrocosmos): bulk social data from X, Reddit and YouTube.
//!
//! Two ways to collect:
//! - **on-demand** ([`DataUniverse::on_demand`]): one call returns up to 1,000 posts matching
//!   keywords or users over a date range, normalised to [`SocialPost`];
//! - **Gravity** ([`DataUniverse::create_gravity`]): a crawler that collects a topic for up to
//!   seven days; [`DataUniverse::build_dataset`] stops it and builds Parquet files, which
//!   [`DataUniverse::download`] fetches.
//!
//! What is collected is kept in the data folder ([`SocialStore`], `<data>/social/`): Parquet
//! files written through the workspace's one atomic write, and the tasks' ids in
//! `tasks.json`, so a task survives a restart. [`summarize`] reads any of those files (ours or
//! Gravity's) into a short summary for the research tools.
//!
//! Protocol (`shared/research/services.md` §6): Connect-style JSON, `POST
//! {base}/{package.Service}/{Method}` with `Authorization: Bearer <key>`; SN13 fields are
//! snake_case, Gravity's camelCase; 64-bit integers may arrive as strings; HTTP 464 means the
//! miner network is busy (retried).

mod client;
mod parquet_io;
mod posts;
mod query;
mod store;
mod wire;

pub use client::{DataUniverse, MAX_DOWNLOAD};
pub use parquet_io::{posts_to_parquet, summarize, ParquetSummary, TopPost, MAX_SUMMARY_ROWS};
pub use posts::SocialPost;
pub use query::{parse_date, GravitySpec, OnDemandQuery, Platform, MAX_KEYWORDS, MAX_LIMIT};
pub use store::{
    now_rfc3339, on_demand_id, SocialFile, SocialStore, TaskKind, TaskRecord, STATE_FILE,
};
pub use wire::{CrawlerState, Dataset, DatasetFile, DatasetStep, GravityTask};

/// The variables that may hold the API key, first wins (from app.macrocosmos.ai, API keys).
pub const KEY_ENVS: &[&str] = &["MC_API", "MACROCOSMOS_API_KEY"];
/// The variable that overrides the base URL (tests, proxies).
pub const URL_ENV: &str = "MACROCOSMOS_BASE_URL";
/// The service's base URL.
pub const DEFAULT_URL: &str = "https://constellation.api.cloud.macrocosmos.ai";
/// The service's name in messages.
pub const SERVICE: &str = "Data Universe";
