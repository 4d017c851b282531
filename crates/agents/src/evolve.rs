//! Evolutionary research (`synth-city pipeline --evolve`): a population of candidates (specs;
//! with an LLM also new components and scripts written by the Author), every candidate
//! evaluated on the same held-out prompts (the research evaluation's standard walk-forward set
//! of the asset and timeframe, so CRPS values pair prompt by prompt), the best half kept, the
//! rest replaced by mutations of the survivors, and every candidate's lineage (parent id,
//! mutation) recorded. The best candidate is then offered to the Publisher's promotion, which
//! compares it with the champion on the same prompts (`research::promotion`).
//!
//! With no LLM the built-in planner mutates parameters only (learning rate, width, epochs,
//! gradient clip, seed) — and says so in the log and the report.

use std::sync::Arc;

use serde::Serialize;
use serde_json::{json, Value};
use sn50::Timeframe;

use crate::agent::{run_agent, AgentRun};
use crate::backend::{PlannerSpec, SharedResearch};
use crate::defs::{Agent, DefStore};
use crate::events::{Event, EventBus};
use crate::pipeline::{context_message, Brains, TaskState};
use crate::planner::{guidance, propose, SearchSpace, SpecBase, SplitMix64};
use crate::roles::AUTHOR;
use crate::tools::announce::Announcer;
use crate::tools::{toolbox, Budget, FinishTool, Session};

/// Most generations.
pub const MAX_GENERATIONS: u32 = 50;
/// Largest population.
pub const MAX_POPULATION: u32 = 32;

/// Options of an evolutionary run.
#[derive(Debug, Clone)]
pub struct EvolveOptions {
    /// Generations after the first (≥ 1).
    pub generations: u32,
    /// Candidates per generation (≥ 2).
    pub population: u32,
    /// SN50 asset.
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// Epochs of the first generation's candidates.
    pub epochs: u32,
    /// Seed (proposals and mutations).
    pub seed: u64,
    /// Guidance in words (focus/avoid families, as the pipeline takes it).
    pub guidance: Option<String>,
    /// Stored components and agents (the Author writes as its owner).
    pub defs: Option<DefStore>,
    /// Announces a promotion (Moltbook) when configured.
    pub announcer: Option<Announcer>,
    /// Offer the best candidate for promotion at the end.
    pub promote: bool,
}

impl Default for EvolveOptions {
    fn default() -> Self {
        Self {
            generations: 3,
            population: 4,
            asset: "BTC".into(),
            timeframe: Timeframe::default().to_string(),
            epochs: 2,
            seed: 0,
            guidance: None,
            defs: None,
            announcer: None,
            promote: true,
        }
    }
}

/// One candidate and its lineage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// `g<generation>-c<index>`.
    pub id: String,
    /// Generation (0 = the initial population).
    pub generation: u32,
    /// The candidate it was mutated from.
    pub parent: Option<String>,
    /// How it came about (`proposal`, `champion`, `lr 0.001 -> 0.0005`, `author: …`).
    pub mutation: String,
    /// Its spec.
    pub spec: PlannerSpec,
    /// The registry run that evaluated it.
    pub run_id: Option<String>,
    /// Held-out CRPS (lower is better).
    pub crps: Option<f64>,
    /// Why it could not be evaluated.
    pub error: Option<String>,
}

/// The outcome of an evolutionary run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvolutionReport {
    /// Run id.
    pub run_id: String,
    /// Who mutates: the Author (LLM) or the built-in planner (parameters only).
    pub mutator: String,
    /// Every candidate, in order of creation (the lineage).
    pub candidates: Vec<Candidate>,
    /// Ids of the survivors of each generation.
    pub survivors: Vec<Vec<String>>,
    /// The best candidate.
    pub best: Option<Candidate>,
    /// What the promotion said (when asked for).
    pub promotion: Option<Value>,
    /// What the guidance was understood as.
    pub guidance: Option<String>,
}

fn crps_of(c: &Candidate) -> f64 {
    c.crps.filter(|x| x.is_finite()).unwrap_or(f64::INFINITY)
}

/// A parameter mutation of `spec` (one or two of lr, d_model, epochs, clip_norm; always a new
/// seed so the run is never a reuse).
pub fn mutate_parameters(spec: &PlannerSpec, rng: &mut SplitMix64) -> (PlannerSpec, String) {
    let mut s = spec.clone();
    let mut what = Vec::new();
    let n = 1 + (rng.unit() < 0.4) as usize;
    for _ in 0..n {
        match (rng.unit() * 4.0) as u32 {
            0 => {
                let lr = s.lr.unwrap_or(1e-3);
                let f = [0.5, 2.0, 1.0 / 3.0, 3.0][(rng.unit() * 4.0) as usize % 4];
                let new = (lr * f).clamp(1e-5, 1e-2);
                what.push(format!("lr {lr} -> {new}"));
                s.lr = Some(new);
            }
            1 if s.baseline.is_none() => {
                let d = s.d_model.unwrap_or(32);
                let choices: Vec<u64> = [16, 32, 64].into_iter().filter(|x| *x != d).collect();
                let new = choices[(rng.unit() * choices.len() as f64) as usize % choices.len()];
                what.push(format!("d_model {d} -> {new}"));
                s.d_model = Some(new);
            }
            2 => {
                let e = s.epochs.unwrap_or(2);
                let new = (e + 1 + (rng.unit() * e as f64) as u64).min(20);
                what.push(format!("epochs {e} -> {new}"));
                s.epochs = Some(new);
            }
            _ => {
                let c = s.clip_norm.unwrap_or(1.0);
                let new = [0.25, 0.5, 2.0][(rng.unit() * 3.0) as usize % 3];
                what.push(format!("clip_norm {c} -> {new}"));
                s.clip_norm = Some(new);
            }
        }
    }
    let seed = s.seed.unwrap_or(0) + 1 + (rng.unit() * 1000.0) as u64;
    s.seed = Some(seed);
    s.name = None;
    (s, what.join(", "))
}

/// Runs the evolution over `backend`, emitting on `bus`.
pub async fn run_evolution(
    backend: SharedResearch,
    brains: Arc<dyn Brains>,
    opts: &EvolveOptions,
    bus: &EventBus,
) -> Result<EvolutionReport, String> {
    let generations = opts.generations.clamp(1, MAX_GENERATIONS);
    let population = opts.population.clamp(2, MAX_POPULATION) as usize;
    let llm = !brains.label().starts_with("builtin");
    let mutator = if llm {
        format!(
            "author ({}): new components, scripts and specs; parameters when the Author fails",
            brains.label()
        )
    } else {
        "builtin: no LLM configured, so the built-in planner mutates parameters only (lr, d_model, epochs, clip_norm, seed); new components and scripts need the Author (set CHUTES_API_KEY or LLM_BASE_URL)".to_string()
    };
    let log = |level: &str, message: String| {
        bus.emit(Event::Log {
            level: level.into(),
            message,
        })
    };
    log(
        "info",
        format!(
            "evolution: {population} candidates × {} generations; mutations by {mutator}",
            generations + 1
        ),
    );
    let catalog = backend.catalog().map_err(|e| e.message)?;
    let understood = opts
        .guidance
        .as_deref()
        .filter(|g| !g.trim().is_empty())
        .map(|g| guidance::parse(g, &catalog));
    if let Some(u) = &understood {
        log("info", u.describe());
    }
    let space = match &understood {
        Some(u) => u.steer(&SearchSpace::from_catalog(&catalog)),
        None => SearchSpace::from_catalog(&catalog),
    };
    if space.is_empty() {
        return Err("the backend lists no blocks or no heads".into());
    }
    let session = Session::with_announcer(
        backend.clone(),
        Some(bus.clone()),
        Budget::default(),
        opts.announcer.clone(),
    );
    let tools = toolbox(session.clone(), opts.defs.clone());
    let mut rng = SplitMix64::new(opts.seed ^ 0x000E_701E);

    // Generation 0: the champion (when there is one) and TPE proposals.
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut current: Vec<Candidate> = Vec::new();
    if let Ok(Some(ch)) = backend.champion(&opts.asset, &opts.timeframe) {
        current.push(Candidate {
            id: "g0-c1".into(),
            generation: 0,
            parent: None,
            mutation: format!("champion {}", ch.run_id),
            spec: ch.spec.clone(),
            run_id: None,
            crps: None,
            error: None,
        });
    }
    let history = backend
        .history(None, None, 100_000)
        .map_err(|e| e.message)?;
    let base = SpecBase {
        asset: opts.asset.clone(),
        timeframe: opts.timeframe.clone(),
        epochs: opts.epochs.max(1),
        seed: opts.seed,
    };
    for spec in propose(
        &space,
        &history,
        &base,
        population - current.len(),
        opts.seed,
    ) {
        let i = current.len() + 1;
        current.push(Candidate {
            id: format!("g0-c{i}"),
            generation: 0,
            parent: None,
            mutation: "proposal".into(),
            spec,
            run_id: None,
            crps: None,
            error: None,
        });
    }
    let mut survivors_log = Vec::new();
    for generation in 0..=generations {
        bus.emit(Event::StageStart {
            stage: format!("generation-{generation}"),
            index: generation as usize + 1,
            total: generations as usize + 1,
        });
        // Evaluate the new candidates (survivors keep their score).
        for c in current
            .iter_mut()
            .filter(|c| c.run_id.is_none() && c.error.is_none())
        {
            evaluate(&session, c);
            candidates.push(c.clone());
        }
        current.sort_by(|a, b| crps_of(a).total_cmp(&crps_of(b)));
        let keep = population.div_ceil(2);
        current.retain(|c| c.crps.is_some());
        current.truncate(keep);
        survivors_log.push(current.iter().map(|c| c.id.clone()).collect::<Vec<_>>());
        bus.emit(Event::StageEnd {
            stage: format!("generation-{generation}"),
            success: !current.is_empty(),
            attempts: 1,
        });
        if let Some(b) = current.first() {
            log(
                "info",
                format!(
                    "generation {generation}: best {} CRPS {:.4} ({})",
                    b.id,
                    crps_of(b),
                    b.mutation
                ),
            );
        }
        if current.is_empty() {
            log(
                "warn",
                format!("generation {generation}: no candidate could be evaluated"),
            );
            break;
        }
        if generation == generations {
            break;
        }
        // Children of the survivors, round robin.
        let parents = current.clone();
        let mut k = 0;
        while current.len() < population {
            let p = &parents[k % parents.len()];
            k += 1;
            let id = format!("g{}-c{}", generation + 1, current.len() + 1);
            let (spec, mutation) = if llm {
                match author_mutation(&tools, brains.as_ref(), p, opts, bus).await {
                    Ok(x) => x,
                    Err(e) => {
                        log("warn", format!("{id}: the Author could not mutate {} ({e}); a parameter mutation instead", p.id));
                        mutate_parameters(&p.spec, &mut rng)
                    }
                }
            } else {
                mutate_parameters(&p.spec, &mut rng)
            };
            current.push(Candidate {
                id,
                generation: generation + 1,
                parent: Some(p.id.clone()),
                mutation,
                spec,
                run_id: None,
                crps: None,
                error: None,
            });
        }
    }
    let best = candidates
        .iter()
        .filter(|c| c.crps.is_some())
        .min_by(|a, b| crps_of(a).total_cmp(&crps_of(b)))
        .cloned();
    let promotion = match (&best, opts.promote) {
        (Some(b), true) => {
            let out = tools.execute(
                "register_champion",
                &json!({"run_id": b.run_id}).to_string(),
            );
            Some(out.content)
        }
        _ => None,
    };
    let report = EvolutionReport {
        run_id: bus.run_id().to_string(),
        mutator,
        candidates,
        survivors: survivors_log,
        best,
        promotion,
        guidance: understood.map(|u| u.describe()),
    };
    // Saved like a pipeline loop (history pipelines lists it).
    let record = json!({
        "loop": 1,
        "report": {"success": report.best.is_some(),
                   "stages": report.survivors.iter().enumerate().map(|(g, s)| json!({"name": format!("generation-{g}"), "success": !s.is_empty()})).collect::<Vec<_>>(),
                   "state": {"best_crps": report.best.as_ref().and_then(|b| b.crps), "best_run_id": report.best.as_ref().and_then(|b| b.run_id.clone())},
                   "transcripts": []},
        "experiments": session.runs(),
        "evolution": report,
    });
    if let Err(e) = backend.save_pipeline_run(&report.run_id, &record) {
        log("warn", format!("could not save the evolution: {e}"));
    }
    Ok(report)
}

fn evaluate(session: &Session, c: &mut Candidate) {
    let name = c.id.clone();
    match tokio::task::block_in_place(|| session.run_experiment(&name, &c.spec, false)) {
        Ok(v) => {
            let run: Option<crate::backend::PlannerRun> =
                serde_json::from_value(v["run"].clone()).ok();
            match run {
                Some(r) if r.is_ok() => {
                    c.run_id = Some(r.run_id);
                    c.crps = r.crps;
                }
                Some(r) => {
                    c.run_id = Some(r.run_id);
                    c.error = Some(r.error.unwrap_or_else(|| "the run failed".into()));
                }
                None => c.error = Some("no run in the result".into()),
            }
        }
        Err(e) => c.error = Some(e.message),
    }
}

/// Asks the Author for a mutation of `parent`: a changed spec or a new component used in one.
async fn author_mutation(
    tools: &crate::tools::ToolRegistry,
    brains: &dyn Brains,
    parent: &Candidate,
    opts: &EvolveOptions,
    bus: &EventBus,
) -> Result<(PlannerSpec, String), String> {
    let agent = Agent::from_role(&AUTHOR);
    let mut state = TaskState::new();
    state.insert("asset".into(), json!(opts.asset));
    state.insert("timeframe".into(), json!(opts.timeframe));
    state.insert(
        "parent".into(),
        json!({"id": parent.id, "experiment": parent.spec, "crps": parent.crps}),
    );
    state.insert("description".into(), json!("Mutate the parent candidate into one likely to have a LOWER CRPS: a new block, head or script (distribution shape, volatility regime, calibration) or a changed spec. Evaluate it with one quick run."));
    if let Some(g) = &opts.guidance {
        state.insert("guidance".into(), json!(g));
    }
    let (model, model_id) = brains.model_for(&agent);
    let r = run_agent(AgentRun {
        agent: agent.name.clone(),
        model: model.as_ref(),
        model_id,
        system_prompt: agent.system_prompt.clone(),
        context: context_message(&agent, &state).into_iter().collect(),
        user_message: agent.default_message.clone(),
        tools: tools.subset(&agent.tools)?,
        finish: FinishTool::new(agent.result_schema.clone()),
        temperature: 0.7,
        max_turns: agent.max_turns,
        bus: Some(bus.clone()),
    })
    .await;
    if !r.success {
        return Err(r.raw_text.chars().take(300).collect());
    }
    let spec = PlannerSpec::parse(&r.result()["experiment"]).map_err(|e| e.message)?;
    let what = match r.result().get("component").and_then(|c| c.get("name")) {
        Some(n) => format!("author: new component {}", n.as_str().unwrap_or("?")),
        None => "author: changed spec".into(),
    };
    let mut spec = spec;
    // Evaluated at the population's epochs, on the same asset and timeframe as the rest.
    spec.asset = Some(opts.asset.clone());
    spec.timeframe = Some(opts.timeframe.clone());
    Ok((spec, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_mutations_change_parameters_only() {
        let spec = PlannerSpec {
            blocks: vec!["lstm".into()],
            head: "gbm".into(),
            d_model: Some(32),
            lr: Some(1e-3),
            epochs: Some(2),
            seed: Some(0),
            ..PlannerSpec::default()
        };
        let mut rng = SplitMix64::new(7);
        for _ in 0..50 {
            let (m, what) = mutate_parameters(&spec, &mut rng);
            assert_eq!(
                (m.blocks.clone(), m.head.clone()),
                (spec.blocks.clone(), spec.head.clone())
            );
            assert_ne!(m.fingerprint(), spec.fingerprint(), "{what}");
            assert!(!what.is_empty());
            assert!(m.lr.unwrap() >= 1e-5 && m.lr.unwrap() <= 1e-2);
        }
    }
}
