//! Promotion: how a run becomes the champion the miner serves. One function, [`promote`], used
//! by `synth-city champion promote`, the Publisher agent and the bridge's publish:
//!
//! 1. the checker: the run succeeded on real data, its spec validates, it has a finite score
//!    on the asset at its timeframe, a neural run's weights are stored; plus an outside
//!    verdict when one is given (the CodeChecker agent's). A failed check always refuses.
//! 2. a paired comparison ([`paired::compare`]) against the current champion, or against the
//!    `default` model when there is none, on the same prompts, with at least
//!    [`paired::MIN_PROMPTS_LOW`] / [`paired::MIN_PROMPTS_HIGH`] of them. The candidate must be
//!    better beyond the noise (the 90 % interval of its CRPS ratio below 1); `force` promotes
//!    anyway (recorded as such), but never below the prompt minimum.
//! 3. the entry in the registry's champion history (who, when, the comparison, the verdict),
//!    appended only if no other promotion landed meanwhile.

pub mod paired;

use serde::{Deserialize, Serialize};

use crate::registry::{NewPromotion, Promotion, PromotionAction};
use crate::runner::ExperimentRunner;
use crate::{Archive, DataProvenance, ResearchError, Result, RunRecord, RunStatus};

pub use paired::{
    compare, min_prompts, Contender, Interval90, PairedComparison, PromptSet, MIN_PROMPTS_HIGH,
    MIN_PROMPTS_LOW,
};

/// A checker's verdict on a run before it may be promoted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckVerdict {
    /// True when every check passed.
    pub passed: bool,
    /// Who checked (`research` for the built-in checks, `codechecker` for the agent…).
    pub by: String,
    /// What is wrong (empty when passed).
    pub issues: Vec<String>,
}

/// What to promote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromoteRequest {
    /// Run id (or a unique prefix).
    pub run_id: String,
    /// Only these assets (default: every asset the run was scored on).
    #[serde(default)]
    pub assets: Vec<String>,
    /// Who promotes (`cli`, `pipeline:<id>`, `bot:<id>`).
    pub by: String,
    /// Promote even when the comparison does not show the run better.
    #[serde(default)]
    pub force: bool,
    /// Walk-forward folds of the comparison (default 2).
    #[serde(default)]
    pub folds: Option<usize>,
    /// Prompts per fold (default 100).
    #[serde(default)]
    pub max_prompts: Option<usize>,
    /// Evaluation seed (default 0).
    #[serde(default)]
    pub seed: Option<u64>,
    /// An outside checker's verdict (the CodeChecker agent's), recorded beside the built-in one;
    /// a failed verdict refuses.
    #[serde(default)]
    pub checker: Option<CheckVerdict>,
}

impl PromoteRequest {
    /// Promote `run_id` on every asset it was scored on, by `by`, with the standard prompts.
    pub fn new(run_id: &str, by: &str) -> Self {
        Self {
            run_id: run_id.to_string(),
            assets: Vec::new(),
            by: by.to_string(),
            force: false,
            folds: None,
            max_prompts: None,
            seed: None,
            checker: None,
        }
    }
}

/// The outcome of a promotion on one asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotionOutcome {
    /// Asset.
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// The run.
    pub run_id: String,
    /// True when it is now the champion.
    pub promoted: bool,
    /// Why (promoted, forced, refused and why, already champion).
    pub reason: String,
    /// The checker's verdict.
    pub checker: CheckVerdict,
    /// The paired comparison, when it was run.
    pub comparison: Option<PairedComparison>,
    /// The new history entry, when promoted.
    pub entry: Option<Promotion>,
}

/// The built-in checks on `run` for `asset` (see the module docs); `outside` is merged in.
pub fn check(
    archive: &Archive,
    runner: &dyn ExperimentRunner,
    run: &RunRecord,
    asset: &str,
    outside: Option<&CheckVerdict>,
) -> CheckVerdict {
    let mut issues = Vec::new();
    if run.status != RunStatus::Ok {
        issues.push(format!("status: the run {}", run.status.as_str()));
    }
    if run.provenance != DataProvenance::Real {
        issues.push("data: made on synthetic data".to_string());
    }
    let v = runner.validate(&run.spec);
    issues.extend(v.errors.iter().map(|e| format!("spec: {e}")));
    let score = run
        .scores
        .iter()
        .find(|s| s.asset.eq_ignore_ascii_case(asset) && s.timeframe == run.data.timeframe);
    match score {
        Some(s) if s.crps.is_finite() && s.crps > 0.0 => {}
        Some(s) => issues.push(format!("score: CRPS {} on {asset} is not finite", s.crps)),
        None => issues.push(format!(
            "score: the run has no {} score on {asset}",
            run.data.timeframe
        )),
    }
    if issues.is_empty() && run.spec.get("baseline").is_none() {
        if let Err(e) = crate::load_model(archive, &run.run_id, Some(asset)) {
            issues.push(format!("weights: {}", e.message));
        }
    }
    let mut by = "research".to_string();
    if let Some(o) = outside {
        by = format!("research+{}", o.by);
        if !o.passed && o.issues.is_empty() {
            issues.push(format!("{}: failed", o.by));
        }
        issues.extend(o.issues.iter().map(|i| format!("{}: {i}", o.by)));
    }
    CheckVerdict {
        passed: issues.is_empty(),
        by,
        issues,
    }
}

/// Promotes a run (see the module docs), one outcome per asset. Refusals are outcomes with
/// `promoted: false` and the reason (the comparison's numbers included); errors are for what
/// could not be evaluated at all (unknown run, too few prompts, data missing).
pub fn promote(
    archive: &Archive,
    runner: &dyn ExperimentRunner,
    req: &PromoteRequest,
) -> Result<Vec<PromotionOutcome>> {
    let reg = &archive.registry;
    let run = reg.get_run(&req.run_id)?;
    let tf = run.data.timeframe.clone();
    let assets: Vec<String> = if req.assets.is_empty() {
        run.scores
            .iter()
            .filter(|s| s.timeframe == tf)
            .map(|s| s.asset.to_uppercase())
            .collect()
    } else {
        req.assets.iter().map(|a| a.to_uppercase()).collect()
    };
    if assets.is_empty() {
        return Err(ResearchError::invalid(format!(
            "run {} has no {tf} score to promote",
            run.run_id
        )));
    }
    let set_for = |asset: &str| {
        let mut set = PromptSet::standard(asset, &tf);
        set.folds = req.folds.unwrap_or(set.folds);
        set.max_prompts = req.max_prompts.unwrap_or(set.max_prompts);
        set.seed = req.seed.unwrap_or(set.seed);
        set
    };
    // Too few prompts is refused before anything is checked or evaluated.
    set_for(&assets[0]).check_minimum()?;
    let mut out = Vec::with_capacity(assets.len());
    for asset in assets {
        let verdict = check(archive, runner, &run, &asset, req.checker.as_ref());
        let mut o = PromotionOutcome {
            asset: asset.clone(),
            timeframe: tf.clone(),
            run_id: run.run_id.clone(),
            promoted: false,
            reason: String::new(),
            checker: verdict.clone(),
            comparison: None,
            entry: None,
        };
        if !verdict.passed {
            o.reason = format!("refused by the checker: {}", verdict.issues.join("; "));
            out.push(o);
            continue;
        }
        let current = reg.current_promotion(&asset, &tf)?;
        let current_run = current.as_ref().and_then(|c| c.run_id.clone());
        if current_run.as_deref() == Some(run.run_id.as_str()) {
            o.reason = "already the champion".into();
            out.push(o);
            continue;
        }
        let incumbent = match &current_run {
            Some(id) => Contender::Run(Box::new(reg.get_run(id)?)),
            None => Contender::Model(models::baselines::DEFAULT_ALIAS.to_string()),
        };
        let set = set_for(&asset);
        let cmp = compare(
            runner,
            &Contender::Run(Box::new(run.clone())),
            &incumbent,
            &set,
        )?;
        let better = cmp.candidate_better();
        o.comparison = Some(cmp.clone());
        if !better && !req.force {
            o.reason = format!(
                "refused: not better than {} beyond the noise (the 90% interval of the CRPS \
                 ratio must lie below 1): {}",
                incumbent.label(),
                cmp.summary()
            );
            out.push(o);
            continue;
        }
        let action = if better {
            PromotionAction::Promote
        } else {
            PromotionAction::Force
        };
        let entry = reg.record_promotion(&NewPromotion {
            asset: &asset,
            timeframe: &tf,
            run_id: Some(&run.run_id),
            action,
            by: &req.by,
            expected_current: current.as_ref().map(|c| c.id),
            previous_id: current.as_ref().map(|c| c.id),
            evidence: Some(&cmp),
            checker: Some(&verdict),
        })?;
        o.promoted = true;
        o.reason = format!(
            "{} over {}: {}",
            if better { "promoted" } else { "forced" },
            incumbent.label(),
            cmp.summary()
        );
        o.entry = Some(entry);
        out.push(o);
    }
    Ok(out)
}

/// Rolls the champion of `asset` × `timeframe` back to the one before it (see
/// [`crate::Registry::rollback_champion`]).
pub fn rollback(archive: &Archive, asset: &str, timeframe: &str, by: &str) -> Result<Promotion> {
    archive.registry.rollback_champion(asset, timeframe, by)
}
