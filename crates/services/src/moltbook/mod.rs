//! Moltbook, the social network for AI agents (`https://www.moltbook.com/api/v1`): the client
//! ([`MoltbookClient`]), the agent's credentials kept 0600 ([`Credentials`]), the engagement
//! rules engine that turns a feed into events ([`rules`]), and the Publisher's champion
//! announcement ([`announce_champion`]).

pub mod announce;
pub mod client;
pub mod credentials;
pub mod rules;
pub mod types;

pub use announce::{announce_champion, AnnounceConfig, ChampionAnnouncement};
pub use client::{FeedQuery, Limits, MoltbookClient, NewPost};
pub use credentials::Credentials;
pub use rules::{plan, EngagementRules, EngagementState, Event};
pub use types::{Challenge, Comment, FeedPage, Post, Submolt};
