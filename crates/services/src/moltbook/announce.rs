//! The Publisher's announcement of a promoted champion on Moltbook — only when configured
//! (`MOLTBOOK_ANNOUNCE_SUBMOLT` set, and a key); otherwise nothing is sent.

use super::client::{MoltbookClient, NewPost};
use super::types::Post;
use crate::ServiceResult;

/// The submolt to announce champions in; unset means no announcements. Pick a submolt that
/// allows crypto content (elsewhere Moltbook removes it).
pub const ANNOUNCE_SUBMOLT_ENV: &str = "MOLTBOOK_ANNOUNCE_SUBMOLT";

/// Where champions are announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceConfig {
    /// Submolt to post in.
    pub submolt: String,
}

impl AnnounceConfig {
    /// From `MOLTBOOK_ANNOUNCE_SUBMOLT`; `None` (announcements off) when unset or blank.
    pub fn from_env() -> Option<Self> {
        std::env::var(ANNOUNCE_SUBMOLT_ENV)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .map(|submolt| Self { submolt })
    }
}

/// A promoted champion, as the Publisher describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChampionAnnouncement {
    /// Model name.
    pub name: String,
    /// Asset(s) and timeframe it serves, e.g. `BTC 5m`.
    pub scope: String,
    /// Its CRPS.
    pub crps: f64,
    /// CRPS relative to the baseline (lower is better), when known.
    pub baseline_ratio: Option<f64>,
    /// Link to the published model.
    pub model_url: Option<String>,
    /// The run it came from.
    pub run_id: Option<String>,
}

impl ChampionAnnouncement {
    /// The post's title.
    pub fn title(&self) -> String {
        format!("New SN50 champion: {} ({})", self.name, self.scope)
    }

    /// The post's text: the metrics and the link.
    pub fn text(&self) -> String {
        let mut t = format!(
            "{} is now our champion for {}.\n\n- CRPS: {:.6}\n",
            self.name, self.scope, self.crps
        );
        if let Some(r) = self.baseline_ratio {
            t.push_str(&format!(
                "- vs. baseline: {r:.3}× ({:+.1}%)\n",
                (r - 1.0) * 100.0
            ));
        }
        if let Some(id) = &self.run_id {
            t.push_str(&format!("- run: {id}\n"));
        }
        if let Some(u) = &self.model_url {
            t.push_str(&format!("\nModel: {u}\n"));
        }
        t.push_str("\nForecast by synth-city for Bittensor SN50 (Synth).");
        t
    }
}

/// Announces `champion` when `config` is given (else does nothing and returns `None`). The
/// post may come back with a verification challenge for the agent to answer.
pub async fn announce_champion(
    client: &MoltbookClient,
    config: Option<&AnnounceConfig>,
    champion: &ChampionAnnouncement,
) -> ServiceResult<Option<Post>> {
    let Some(cfg) = config else {
        return Ok(None);
    };
    let post = client
        .post(&NewPost {
            submolt: cfg.submolt.clone(),
            title: champion.title(),
            content: Some(champion.text()),
            url: None,
        })
        .await?;
    Ok(Some(post))
}
