//! The miners of a backtest: statistical baselines by name, registry runs by id
//! (`run:<id>`), and the registry champion of each asset × competition (`champion`).

use std::collections::BTreeMap;
use std::sync::Arc;

use models::baselines::{baseline, BASELINE_NAMES};
use models::Forecaster;
use research::registry::Registry;

use crate::schedule::Competition;
use crate::BacktestError;

/// Competitors when none are named.
pub const DEFAULT_COMPETITORS: &[&str] = &["gbm", "gbm_hist", "ewma", "garch_t"];

/// One miner of the backtest.
#[derive(Clone)]
pub struct Competitor {
    /// Name in tables and files.
    pub name: String,
    source: Source,
}

#[derive(Clone)]
enum Source {
    /// One model for every prompt.
    Fixed(Arc<dyn Forecaster>),
    /// A model per (asset, competition); prompts without one are answered by nobody (-1).
    PerMarket(BTreeMap<(String, Competition), Arc<dyn Forecaster>>),
}

impl std::fmt::Debug for Competitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Competitor")
            .field("name", &self.name)
            .finish()
    }
}

impl Competitor {
    /// A competitor answering every prompt with `model`.
    pub fn new(name: impl Into<String>, model: Arc<dyn Forecaster>) -> Self {
        Self {
            name: name.into(),
            source: Source::Fixed(model),
        }
    }

    /// The model answering `asset` in `competition`, if any.
    pub fn model_for(&self, asset: &str, competition: Competition) -> Option<&dyn Forecaster> {
        match &self.source {
            Source::Fixed(m) => Some(m.as_ref()),
            Source::PerMarket(map) => map
                .get(&(asset.to_string(), competition))
                .map(|m| m.as_ref()),
        }
    }
}

/// Turns names into competitors. `registry` is opened only when a `run:` or `champion` name
/// needs it. Returns the competitors and notes on what was skipped (neural runs without
/// loadable weights). Unknown names and duplicates are errors.
pub fn resolve_competitors(
    names: &[String],
    assets: &[String],
    competitions: &[Competition],
    registry: &mut dyn FnMut() -> Result<Registry, BacktestError>,
) -> Result<(Vec<Competitor>, Vec<String>), BacktestError> {
    let mut out: Vec<Competitor> = Vec::new();
    let mut notes = Vec::new();
    let mut reg: Option<Registry> = None;
    for raw in names {
        let name = raw.trim();
        if name.is_empty() {
            continue;
        }
        if out.iter().any(|c| c.name == name) {
            return Err(BacktestError::Invalid(format!(
                "competitor {name:?} named twice"
            )));
        }
        if let Some(b) = baseline(name) {
            out.push(Competitor::new(name, Arc::from(b)));
            continue;
        }
        if !(name.starts_with("run:") || name == "champion") {
            return Err(BacktestError::Invalid(format!(
                "unknown competitor {name:?}: use a baseline ({}), run:<registry run id> or champion",
                BASELINE_NAMES.join(", ")
            )));
        }
        if reg.is_none() {
            reg = Some(registry()?);
        }
        let Some(r) = reg.as_ref() else { continue };
        if let Some(id) = name.strip_prefix("run:") {
            let run = r
                .get_run(id)
                .map_err(|e| BacktestError::Invalid(format!("registry run {id:?}: {e}")))?;
            match statistical(&run.spec) {
                Some(m) => out.push(Competitor::new(name, m)),
                None => notes.push(format!(
                    "{name}: skipped, a neural run ({}) has no weights the backtest can load",
                    run.name
                )),
            }
            continue;
        }
        let mut map = BTreeMap::new();
        for &comp in competitions {
            let tf = match comp {
                Competition::Low => "5m",
                Competition::High => "1m",
            };
            for asset in assets {
                let champ = r
                    .champion(asset, tf)
                    .map_err(|e| BacktestError::Env(format!("registry champion: {e}")))?;
                match champ {
                    Some(c) => match statistical(&c.run.spec) {
                        Some(m) => {
                            map.insert((asset.clone(), comp), m);
                        }
                        None => notes.push(format!(
                            "champion {asset} {}: run {} is neural, no loadable weights, skipped",
                            comp.label(),
                            c.run.run_id
                        )),
                    },
                    None => notes.push(format!(
                        "champion {asset} {}: none in the registry",
                        comp.label()
                    )),
                }
            }
        }
        if map.is_empty() {
            notes.push("champion: no statistical champion for these assets, skipped".into());
        } else {
            out.push(Competitor {
                name: name.to_string(),
                source: Source::PerMarket(map),
            });
        }
    }
    if out.len() < 2 {
        return Err(BacktestError::Invalid(format!(
            "a backtest needs at least 2 competitors, got {} ({})",
            out.len(),
            if notes.is_empty() {
                "none named".to_string()
            } else {
                notes.join("; ")
            }
        )));
    }
    Ok((out, notes))
}

/// The baseline a registry spec names (`{"baseline": "garch_t", …}`), if it is statistical.
fn statistical(spec: &serde_json::Value) -> Option<Arc<dyn Forecaster>> {
    let name = spec.get("baseline")?.as_str()?;
    baseline(name).map(Arc::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn baselines_resolve_and_bad_names_are_refused() {
        let mut no_reg =
            || -> Result<Registry, BacktestError> { Err(BacktestError::Env("no registry".into())) };
        let (c, notes) = resolve_competitors(
            &names(&["gbm", "ewma"]),
            &names(&["BTC"]),
            &[Competition::Low],
            &mut no_reg,
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert!(notes.is_empty());
        assert!(c[0].model_for("BTC", Competition::High).is_some());
        let e = resolve_competitors(&names(&["gbm", "nope"]), &[], &[], &mut no_reg).unwrap_err();
        assert!(e.to_string().contains("unknown competitor \"nope\""));
        let e = resolve_competitors(&names(&["gbm", "gbm"]), &[], &[], &mut no_reg).unwrap_err();
        assert!(e.to_string().contains("twice"));
        let e = resolve_competitors(&names(&["gbm"]), &[], &[], &mut no_reg).unwrap_err();
        assert!(e.to_string().contains("at least 2"));
        let e =
            resolve_competitors(&names(&["gbm", "run:abc"]), &[], &[], &mut no_reg).unwrap_err();
        assert!(e.to_string().contains("no registry"));
    }
}
