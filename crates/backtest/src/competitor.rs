//! The miners of a backtest: statistical baselines by name (every statistical preset),
//! `default` (the model a miner serves where no champion was promoted,
//! `models::baselines::DEFAULT_MODEL`), a neural preset by name (its newest successful
//! real-data run in the registry), registry runs by id (`run:<id>`), and `champion`: what the
//! miner serves for each asset × competition (the promoted champion, else the default model).
//! A neural run answers with its stored weights (`research::load_model`), one model per asset
//! it was trained on, in the competition of its timeframe.

use std::collections::BTreeMap;
use std::sync::Arc;

use models::baselines::{baseline, default_model, BASELINE_NAMES, DEFAULT_ALIAS, DEFAULT_MODEL};
use models::Forecaster;
use research::{Archive, RunRecord};

use crate::schedule::Competition;
use crate::BacktestError;

/// Competitors when none are named: the reference GBM, the classic baselines and the best
/// statistical model (`mix_range`, also the miner's `default`).
pub const DEFAULT_COMPETITORS: &[&str] = &["gbm", "gbm_hist", "ewma", "garch_t", "mix_range"];

/// How a competitor name resolves, before any registry is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameKind {
    /// A statistical baseline (every statistical preset), by its model name.
    Statistical(&'static str),
    /// `default`: [`DEFAULT_MODEL`].
    Default,
    /// A neural preset: its newest successful real-data run in the registry.
    NeuralPreset(&'static str),
    /// `run:<id>`.
    Run(String),
    /// `champion`: the promoted champion per market, else the default model.
    Champion,
}

/// What `name` names, or why it names nothing.
pub fn classify(name: &str) -> Result<NameKind, BacktestError> {
    if name == DEFAULT_ALIAS {
        return Ok(NameKind::Default);
    }
    if name == "champion" {
        return Ok(NameKind::Champion);
    }
    if let Some(id) = name.strip_prefix("run:") {
        return Ok(NameKind::Run(id.to_string()));
    }
    if let Some(b) = BASELINE_NAMES.iter().find(|b| **b == name) {
        return Ok(NameKind::Statistical(b));
    }
    if let Some(p) = models::presets::preset(name) {
        return Ok(match p.kind {
            models::presets::PresetKind::Baseline { baseline } => NameKind::Statistical(baseline),
            models::presets::PresetKind::Neural { .. } => NameKind::NeuralPreset(p.name),
        });
    }
    Err(BacktestError::Invalid(format!(
        "unknown competitor {name:?}: use a preset ({}), default, run:<registry run id> or \
         champion",
        models::presets::PRESETS
            .iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// One miner of the backtest.
#[derive(Clone)]
pub struct Competitor {
    /// Name in tables and files.
    pub name: String,
    source: Source,
    /// Close of the last candle a neural model behind it was trained on (unix seconds).
    trained_until: Option<i64>,
}

#[derive(Clone)]
enum Source {
    /// One model for every prompt.
    Fixed(Arc<dyn Forecaster>),
    /// A model per (asset, competition); prompts without one are answered by nobody (-1).
    PerMarket(BTreeMap<(String, Competition), Arc<dyn Forecaster>>),
    /// The evaluation-only hourly-volatility oracle (reads the realised prices).
    Oracle(crate::walk_forward::oracle::HourlyVolOracle),
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
            trained_until: None,
        }
    }

    /// The evaluation-only [`HourlyVolOracle`](crate::walk_forward::oracle::HourlyVolOracle),
    /// told each hour's realised volatility (`synth-city evaluate` only; never a miner's model).
    pub fn oracle_hourly_vol() -> Self {
        Self {
            name: crate::walk_forward::oracle::ORACLE_HOURLY_VOL.into(),
            source: Source::Oracle(crate::walk_forward::oracle::HourlyVolOracle),
            trained_until: None,
        }
    }

    /// The oracle behind this competitor, if it is one (its answers need the realised prices).
    pub fn oracle(&self) -> Option<crate::walk_forward::oracle::HourlyVolOracle> {
        match &self.source {
            Source::Oracle(o) => Some(*o),
            _ => None,
        }
    }

    /// For a competitor backed by trained registry weights: the close of the last candle
    /// they were trained on. Prompts before it are in-sample (see [`in_sample_notes`]).
    pub fn trained_until(&self) -> Option<i64> {
        self.trained_until
    }

    /// The model answering `asset` in `competition`, if any.
    pub fn model_for(&self, asset: &str, competition: Competition) -> Option<&dyn Forecaster> {
        match &self.source {
            Source::Fixed(m) => Some(m.as_ref()),
            Source::PerMarket(map) => map
                .get(&(asset.to_string(), competition))
                .map(|m| m.as_ref()),
            Source::Oracle(_) => None,
        }
    }
}

/// Turns names into competitors. `archive` (registry and artifacts) is opened only when a
/// `run:` or `champion` name needs it. Returns the competitors and notes (what a neural run
/// does not answer, champions that could not be loaded). Unknown names, duplicates and a
/// named neural run whose weights cannot be loaded are errors.
pub fn resolve_competitors(
    names: &[String],
    assets: &[String],
    competitions: &[Competition],
    archive: &mut dyn FnMut() -> Result<Archive, BacktestError>,
) -> Result<(Vec<Competitor>, Vec<String>), BacktestError> {
    let mut out: Vec<Competitor> = Vec::new();
    let mut notes = Vec::new();
    let mut reg: Option<Archive> = None;
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
        let kind = classify(name)?;
        match &kind {
            NameKind::Statistical(b) => {
                if let Some(m) = baseline(b) {
                    out.push(Competitor::new(name, Arc::from(m)));
                }
                continue;
            }
            NameKind::Default => {
                out.push(Competitor::new(name, Arc::from(default_model())));
                continue;
            }
            _ => {}
        }
        if reg.is_none() {
            reg = Some(archive()?);
        }
        let Some(ar) = reg.as_ref() else { continue };
        let run_id = match &kind {
            NameKind::Run(id) => Some(id.clone()),
            NameKind::NeuralPreset(p) => Some(newest_preset_run(ar, p)?),
            _ => None,
        };
        if let Some(id) = run_id {
            let run = ar
                .registry
                .get_run(&id)
                .map_err(|e| BacktestError::Invalid(format!("registry run {id:?}: {e}")))?;
            if let Some(m) = statistical(&run.spec) {
                out.push(Competitor::new(name, m));
                continue;
            }
            let (c, note) = neural_run(ar, name, &run, assets, competitions)?;
            notes.extend(note);
            out.push(c);
            continue;
        }
        let mut map = BTreeMap::new();
        let mut trained_until: Option<i64> = None;
        for &comp in competitions {
            let tf = comp.timeframe().as_str();
            for asset in assets {
                let champ = ar
                    .registry
                    .champion(asset, tf)
                    .map_err(|e| BacktestError::Env(format!("registry champion: {e}")))?;
                match champ {
                    Some(c) => match statistical(&c.run.spec) {
                        Some(m) => {
                            map.insert((asset.clone(), comp), m);
                        }
                        None => match load_neural(ar, &c.run, asset) {
                            Ok((m, model_comp, until)) if model_comp == comp => {
                                map.insert((asset.clone(), comp), m);
                                trained_until = trained_until.max(Some(until));
                            }
                            Ok(_) => notes.push(format!(
                                "champion {asset} {}: neural run {} is not a {} model, skipped",
                                comp.label(),
                                c.run.run_id,
                                comp.label()
                            )),
                            Err(e) => notes.push(format!(
                                "champion {asset} {}: neural run {} not loaded ({e}), skipped",
                                comp.label(),
                                c.run.run_id
                            )),
                        },
                    },
                    None => {
                        notes.push(format!(
                            "champion {asset} {}: none promoted, the default model \
                             ({DEFAULT_MODEL}) stands in, as in the miner",
                            comp.label()
                        ));
                        map.insert((asset.clone(), comp), Arc::from(default_model()));
                    }
                }
            }
        }
        if map.is_empty() {
            notes.push("champion: no loadable champion for these assets, skipped".into());
        } else {
            out.push(Competitor {
                name: name.to_string(),
                source: Source::PerMarket(map),
                trained_until,
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

/// The newest successful real-data registry run of neural preset `preset`'s shape (its blocks
/// and head); an error saying how to make one when there is none.
fn newest_preset_run(archive: &Archive, preset: &str) -> Result<String, BacktestError> {
    let Some(models::presets::PresetKind::Neural { blocks, head }) =
        models::presets::preset(preset).map(|p| p.kind)
    else {
        return Err(BacktestError::Invalid(format!(
            "{preset:?} is not a neural preset"
        )));
    };
    let q = research::HistoryQuery {
        limit: 100_000,
        head: Some(head.to_string()),
        ..Default::default()
    };
    let runs = archive
        .registry
        .history(&q)
        .map_err(|e| BacktestError::Env(format!("registry: {e}")))?;
    runs.into_iter()
        .find(|r| {
            r.blocks
                .iter()
                .map(|b| b.to_lowercase())
                .eq(blocks.iter().map(|b| b.to_lowercase()))
                && r.status == research::RunStatus::Ok
                && r.provenance == research::DataProvenance::Real
        })
        .map(|r| r.run_id)
        .ok_or_else(|| {
            BacktestError::Invalid(format!(
                "neural preset {preset:?} has no trained real-data run in the registry: train \
                 one first (`synth-city sweep --presets {preset}`), or name a run:<id>"
            ))
        })
}

/// Competition answered by a model of registry timeframe `tf` (`5m` / `1m`).
fn competition_of(tf: &str) -> Option<Competition> {
    sn50::Timeframe::parse(tf).map(sn50::Timeframe::competition)
}

/// A neural run's model for `asset` from its stored weights: the model, its competition and
/// the close of the last candle it was trained on.
fn load_neural(
    archive: &Archive,
    run: &RunRecord,
    asset: &str,
) -> Result<(Arc<dyn Forecaster>, Competition, i64), String> {
    let m = research::load_model(archive, &run.run_id, Some(asset)).map_err(|e| e.to_string())?;
    let comp = competition_of(&m.timeframe)
        .ok_or_else(|| format!("unknown timeframe {:?}", m.timeframe))?;
    Ok((
        Arc::from(m.forecaster),
        comp,
        run.data.end + comp.time_increment(),
    ))
}

/// A named neural run: its model for every backtest asset it was trained on, in the
/// competition of its timeframe; a note when it leaves prompts unanswered.
fn neural_run(
    archive: &Archive,
    name: &str,
    run: &RunRecord,
    assets: &[String],
    competitions: &[Competition],
) -> Result<(Competitor, Option<String>), BacktestError> {
    let tf = &run.data.timeframe;
    let comp = competition_of(tf).ok_or_else(|| {
        BacktestError::Invalid(format!("{name}: unknown timeframe {tf:?} in the registry"))
    })?;
    let covered: Vec<&String> = assets
        .iter()
        .filter(|a| {
            let a = sn50::asset::canonical_asset(a);
            run.data
                .assets
                .iter()
                .any(|r| sn50::asset::canonical_asset(r) == a)
        })
        .collect();
    if covered.is_empty() || !competitions.contains(&comp) {
        return Err(BacktestError::Invalid(format!(
            "{name}: a neural model of {} at {tf} ({}): it answers none of the backtest's prompts \
             (assets {}, {})",
            run.data.assets.join(","),
            comp.label(),
            assets.join(","),
            competitions
                .iter()
                .map(|c| c.label())
                .collect::<Vec<_>>()
                .join("+")
        )));
    }
    let mut map = BTreeMap::new();
    let mut trained_until = None;
    for asset in &covered {
        let (m, model_comp, until) = load_neural(archive, run, asset)
            .map_err(|e| BacktestError::Invalid(format!("{name} ({asset}): {e}")))?;
        if model_comp != comp {
            return Err(BacktestError::Invalid(format!(
                "{name}: stored model is {}, the run says {tf}",
                model_comp.label()
            )));
        }
        map.insert(((*asset).clone(), comp), m);
        trained_until = trained_until.max(Some(until));
    }
    let note = (covered.len() < assets.len() || competitions.len() > 1).then(|| {
        format!(
            "{name}: neural model of {} for {} only; its other prompts count as unanswered (-1)",
            covered
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(","),
            comp.label()
        )
    });
    Ok((
        Competitor {
            name: name.to_string(),
            source: Source::PerMarket(map),
            trained_until,
        },
        note,
    ))
}

/// Notes for competitors whose weights were trained on data after `from` (the first prompt
/// start): their scores on the prompts before that point are in-sample.
pub fn in_sample_notes(competitors: &[Competitor], from: i64) -> Vec<String> {
    competitors
        .iter()
        .filter_map(|c| {
            let until = c.trained_until?;
            (until > from).then(|| {
                format!(
                    "{}: trained on data up to {}, after the first prompt ({}): prompts before \
                     then are in-sample",
                    c.name,
                    market::timeparse::format_utc(until),
                    market::timeparse::format_utc(from)
                )
            })
        })
        .collect()
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
            || -> Result<Archive, BacktestError> { Err(BacktestError::Env("no registry".into())) };
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

    #[test]
    fn every_preset_default_and_champion_are_names() {
        for p in models::presets::PRESETS {
            let k = classify(p.name).unwrap();
            match p.kind {
                models::presets::PresetKind::Baseline { baseline } => {
                    assert_eq!(k, NameKind::Statistical(baseline))
                }
                models::presets::PresetKind::Neural { .. } => {
                    assert_eq!(k, NameKind::NeuralPreset(p.name))
                }
            }
        }
        assert_eq!(classify("default").unwrap(), NameKind::Default);
        assert_eq!(classify("champion").unwrap(), NameKind::Champion);
        assert_eq!(classify("run:ab12").unwrap(), NameKind::Run("ab12".into()));
        assert!(DEFAULT_COMPETITORS.contains(&DEFAULT_MODEL));
        for n in DEFAULT_COMPETITORS {
            assert!(matches!(classify(n), Ok(NameKind::Statistical(_))), "{n}");
        }
        let e = classify("nope").unwrap_err().to_string();
        assert!(e.contains("mix_sess") && e.contains("default"), "{e}");

        // Statistical presets and `default` need no registry; `default` is DEFAULT_MODEL.
        let mut no_reg =
            || -> Result<Archive, BacktestError> { Err(BacktestError::Env("no registry".into())) };
        let (c, _) = resolve_competitors(
            &names(&["mix_sess", "default", "bootstrap_sess"]),
            &names(&["BTC"]),
            &[Competition::Low],
            &mut no_reg,
        )
        .unwrap();
        assert_eq!(c[1].name, "default");
        assert_eq!(
            c[1].model_for("BTC", Competition::Low).unwrap().name(),
            DEFAULT_MODEL
        );

        // A neural preset and `champion` read the registry. Empty: the neural preset says
        // how to train one; `champion` is what the miner serves, the default model.
        let dir = tempfile::tempdir().unwrap();
        let mut reg =
            || Archive::open(dir.path(), None).map_err(|e| BacktestError::Env(e.to_string()));
        let e = resolve_competitors(
            &names(&["gbm", "lstm_student_t"]),
            &names(&["BTC"]),
            &[Competition::Low],
            &mut reg,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("no trained real-data run") && e.contains("sweep"),
            "{e}"
        );
        let (c, notes) = resolve_competitors(
            &names(&["gbm", "champion"]),
            &names(&["BTC"]),
            &[Competition::Low, Competition::High],
            &mut reg,
        )
        .unwrap();
        assert_eq!(
            c[1].model_for("BTC", Competition::High).unwrap().name(),
            DEFAULT_MODEL
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("none promoted"), "{notes:?}");
    }
}
