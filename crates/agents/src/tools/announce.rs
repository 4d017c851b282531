//! The Publisher's announcement of a promoted champion on Moltbook, through
//! `services::moltbook::announce_champion`: only when configured (`MOLTBOOK_ANNOUNCE_SUBMOLT`
//! and a Moltbook key) and only after a promotion actually happened.

use serde_json::{json, Value};
use services::moltbook::{announce_champion, AnnounceConfig, ChampionAnnouncement, MoltbookClient};

use crate::backend::PlannerRun;

/// A configured announcer.
#[derive(Clone)]
pub struct Announcer {
    client: MoltbookClient,
    config: AnnounceConfig,
}

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcer")
            .field("submolt", &self.config.submolt)
            .finish_non_exhaustive()
    }
}

impl Announcer {
    /// An announcer posting with `client` into `config.submolt`.
    pub fn new(client: MoltbookClient, config: AnnounceConfig) -> Self {
        Self { client, config }
    }

    /// From the environment: `None` unless `MOLTBOOK_ANNOUNCE_SUBMOLT` is set and a Moltbook
    /// key is there (`MOLTBOOK_API_KEY` or the credentials file).
    pub fn from_env() -> Option<Self> {
        let config = AnnounceConfig::from_env()?;
        match MoltbookClient::from_env() {
            Ok(client) => Some(Self { client, config }),
            Err(e) => {
                tracing::warn!(
                    "{} is set but Moltbook is not usable: {e}",
                    services::moltbook::announce::ANNOUNCE_SUBMOLT_ENV
                );
                None
            }
        }
    }

    /// Announces `run` (just promoted); the post id, or the error, as JSON. Never fails the
    /// promotion.
    pub fn announce(&self, run: &PlannerRun) -> Value {
        let champion = ChampionAnnouncement {
            name: if run.name.is_empty() {
                format!("{}+{}", run.spec.blocks.join("+"), run.spec.head)
            } else {
                run.name.clone()
            },
            scope: format!(
                "{} {}",
                run.spec.asset_or_default(),
                run.spec.timeframe_or_default()
            ),
            crps: run.crps.unwrap_or(f64::NAN),
            baseline_ratio: run
                .crps
                .zip(run.baseline_crps)
                .filter(|(_, b)| *b > 0.0)
                .map(|(c, b)| c / b),
            model_url: None,
            run_id: Some(run.run_id.clone()),
        };
        let fut = announce_champion(&self.client, Some(&self.config), &champion);
        let res = match tokio::runtime::Handle::try_current() {
            // Tools run on blocking threads of the agent loop's runtime.
            Ok(h) => h.block_on(fut),
            Err(_) => match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(fut),
                Err(e) => return json!({"error": format!("no runtime to announce on: {e}")}),
            },
        };
        match res {
            Ok(Some(p)) => json!({"moltbook_post": p.id, "submolt": self.config.submolt}),
            Ok(None) => json!(null),
            Err(e) => json!({"error": format!("Moltbook announcement failed: {e}")}),
        }
    }
}
