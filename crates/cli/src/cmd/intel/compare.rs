//! `synth-city agents compare-models --base M1 --tuned M2`: the same planning tasks through two
//! models on the configured OpenAI-compatible server (Chutes, or LLM_BASE_URL), each plan
//! scored for validity by the research backend's own validator (the one `validate_experiment`
//! uses): did the answer parse, did it plan experiments, does every spec build.

use std::process::ExitCode;
use std::time::Instant;

use agents::llm::{ChatRequest, LlmClient, LlmConfig, Message, UsageMeter};
use agents::{PlannerSpec, SharedResearch};
use serde::Serialize;
use serde_json::{json, Value};

use super::block_on;
use crate::{CliError, CliResult};

/// Arguments of `agents compare-models`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The base model id.
    #[arg(long)]
    pub base: String,
    /// The fine-tuned model id.
    #[arg(long)]
    pub tuned: String,
    /// Planning tasks (asset × timeframe pairs, in a fixed order) given to both.
    #[arg(long, default_value_t = 6)]
    pub tasks: usize,
    /// Experiments asked per plan.
    #[arg(long, default_value_t = 4)]
    pub experiments: usize,
    /// Sampling temperature (the same for both).
    #[arg(long, default_value_t = 0.2)]
    pub temperature: f64,
    /// Print the comparison as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// One plan's score.
#[derive(Debug, Clone, Serialize)]
struct PlanScore {
    asset: String,
    timeframe: String,
    parsed: bool,
    experiments: usize,
    valid_experiments: usize,
    valid: bool,
    errors: Vec<String>,
    seconds: f64,
}

/// A model's scores over every task.
#[derive(Debug, Clone, Serialize)]
struct ModelScore {
    model: String,
    plans: usize,
    parsed: usize,
    valid_plans: usize,
    experiments: usize,
    valid_experiments: usize,
    prompt_tokens: u64,
    completion_tokens: u64,
    scores: Vec<PlanScore>,
}

/// The planning tasks: SN50's assets in its order, 5m then 1m.
fn tasks(n: usize) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for tf in sn50::Timeframe::ALL {
        for a in sn50::Asset::ALL_NAMES {
            v.push((a.to_string(), tf.as_str().to_string()));
        }
    }
    // Interleave the timeframes so a small n covers both.
    let half = v.len() / 2;
    let mut out = Vec::new();
    for i in 0..half {
        out.push(v[i].clone());
        out.push(v[half + i].clone());
    }
    out.truncate(n);
    out
}

fn prompt(asset: &str, tf: &str, n: usize, blocks: &[String], heads: &[String]) -> Vec<Message> {
    let system = format!(
        "{}\n\nIn this task you have no tools: answer with ONLY a JSON object \
         {{\"plan\": {{\"experiments\": [spec, ...], \"rationale\": \"...\"}}}}.",
        agents::roles::system_prompt(&agents::roles::PLANNER)
    );
    let user = format!(
        "Plan {n} experiments for asset {asset}, timeframe {tf}. Blocks you may use: {}. Heads: {}. \
         Each spec: {{\"asset\": \"{asset}\", \"timeframe\": \"{tf}\", \"blocks\": [...], \"head\": \"...\", \
         \"d_model\": 16|32|64, \"lr\": number, \"epochs\": number, \"seed\": number}}.",
        blocks.join(", "),
        heads.join(", ")
    );
    vec![Message::system(system), Message::user(user)]
}

/// The experiments of an answer: the first JSON object in it (fences and prose around it are
/// tolerated), as `{plan: {experiments}}`, `{result: {plan: …}}` or `{experiments}`.
fn experiments_of(answer: &str) -> Option<Vec<Value>> {
    let start = answer.find('{')?;
    let end = answer.rfind('}')?;
    if end <= start {
        return None;
    }
    let v: Value = serde_json::from_str(&answer[start..=end]).ok()?;
    let plan = if v["result"]["plan"].is_object() {
        &v["result"]["plan"]
    } else if v["plan"].is_object() {
        &v["plan"]
    } else {
        &v
    };
    plan["experiments"].as_array().cloned()
}

fn score(backend: &SharedResearch, asset: &str, tf: &str, answer: &str, seconds: f64) -> PlanScore {
    let mut s = PlanScore {
        asset: asset.into(),
        timeframe: tf.into(),
        parsed: false,
        experiments: 0,
        valid_experiments: 0,
        valid: false,
        errors: Vec::new(),
        seconds,
    };
    let Some(exps) = experiments_of(answer) else {
        s.errors
            .push("the answer holds no {plan: {experiments}} JSON".into());
        return s;
    };
    s.parsed = true;
    s.experiments = exps.len();
    for (i, e) in exps.iter().enumerate() {
        let spec: PlannerSpec = match serde_json::from_value(e.clone()) {
            Ok(p) => p,
            Err(err) => {
                s.errors.push(format!("experiment {i}: {err}"));
                continue;
            }
        };
        if spec
            .asset
            .as_deref()
            .is_some_and(|a| !a.eq_ignore_ascii_case(asset))
            || spec.timeframe.as_deref().is_some_and(|t| t != tf)
        {
            s.errors
                .push(format!("experiment {i}: not for {asset} {tf}"));
            continue;
        }
        match backend.validate(&spec) {
            Ok(v) if v.valid => s.valid_experiments += 1,
            Ok(v) => s
                .errors
                .push(format!("experiment {i}: {}", v.errors.join("; "))),
            Err(e) => s.errors.push(format!("experiment {i}: {e}")),
        }
    }
    s.valid = s.experiments > 0 && s.valid_experiments == s.experiments;
    s
}

/// Runs the comparison.
pub fn run(a: Args) -> CliResult {
    if a.tasks == 0 || a.tasks > 24 || a.experiments == 0 || a.experiments > 16 {
        return Err(CliError::input("--tasks 1-24, --experiments 1-16"));
    }
    if !(0.0..=2.0).contains(&a.temperature) {
        return Err(CliError::input("--temperature between 0 and 2"));
    }
    let cfg = LlmConfig::from_env().ok_or_else(|| {
        CliError::input(
            "no LLM server configured: set CHUTES_API_KEY (Chutes) or LLM_BASE_URL (any OpenAI-compatible server)",
        )
    })?;
    let backend =
        agents::research_binding::open_default(agents::research_binding::DEFAULT_MAX_WINDOWS)
            .map_err(CliError::runtime)?;
    let catalog = backend
        .catalog()
        .map_err(|e| CliError::runtime(e.to_string()))?;
    let blocks: Vec<String> = catalog.blocks.iter().map(|c| c.name.clone()).collect();
    let heads: Vec<String> = catalog.heads.iter().map(|c| c.name.clone()).collect();
    let tasks = tasks(a.tasks);
    let mut results = Vec::new();
    for model in [&a.base, &a.tuned] {
        let meter = UsageMeter::default();
        let client = LlmClient::new(cfg.clone(), meter.clone())
            .map_err(|e| CliError::runtime(e.to_string()))?;
        let mut scores = Vec::new();
        for (asset, tf) in &tasks {
            let req = ChatRequest {
                model: model.clone(),
                messages: prompt(asset, tf, a.experiments, &blocks, &heads),
                tools: Vec::new(),
                temperature: Some(a.temperature),
                max_tokens: Some(4096),
            };
            let t0 = Instant::now();
            let answer = block_on(client.chat(&req))?;
            let secs = t0.elapsed().as_secs_f64();
            let s = match answer {
                Ok(r) => {
                    let text = r
                        .choices
                        .first()
                        .and_then(|c| c.message.content.clone())
                        .unwrap_or_default();
                    score(&backend, asset, tf, &text, secs)
                }
                Err(e) => {
                    let mut s = score(&backend, asset, tf, "", secs);
                    s.errors = vec![format!("the model did not answer: {e}")];
                    s
                }
            };
            if !a.json {
                eprintln!(
                    "{model} {asset} {tf}: {}/{} valid{}",
                    s.valid_experiments,
                    s.experiments,
                    if s.parsed { "" } else { " (no plan parsed)" }
                );
            }
            scores.push(s);
        }
        let u = meter.totals();
        results.push(ModelScore {
            model: model.clone(),
            plans: scores.len(),
            parsed: scores.iter().filter(|s| s.parsed).count(),
            valid_plans: scores.iter().filter(|s| s.valid).count(),
            experiments: scores.iter().map(|s| s.experiments).sum(),
            valid_experiments: scores.iter().map(|s| s.valid_experiments).sum(),
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            scores,
        });
    }
    let (b, t) = (&results[0], &results[1]);
    let verdict = match t.valid_plans.cmp(&b.valid_plans) {
        std::cmp::Ordering::Greater => "tuned",
        std::cmp::Ordering::Less => "base",
        std::cmp::Ordering::Equal => match t.valid_experiments.cmp(&b.valid_experiments) {
            std::cmp::Ordering::Greater => "tuned",
            std::cmp::Ordering::Less => "base",
            std::cmp::Ordering::Equal => "tie",
        },
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"base": b, "tuned": t, "better": verdict}))
                .unwrap_or_default()
        );
    } else {
        println!(
            "{:<8} {:<40} {:>12} {:>12} {:>18}",
            "", "model", "parsed", "valid plans", "valid experiments"
        );
        for (label, m) in [("base", b), ("tuned", t)] {
            println!(
                "{label:<8} {:<40} {:>12} {:>12} {:>18}",
                m.model,
                format!("{}/{}", m.parsed, m.plans),
                format!("{}/{}", m.valid_plans, m.plans),
                format!("{}/{}", m.valid_experiments, m.experiments)
            );
        }
        println!("better on these tasks: {verdict}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_in_their_usual_shapes() {
        let e = experiments_of("```json\n{\"plan\":{\"experiments\":[{\"head\":\"x\"}]}}\n```")
            .unwrap();
        assert_eq!(e.len(), 1);
        assert!(
            experiments_of("{\"result\":{\"plan\":{\"experiments\":[]}}}")
                .unwrap()
                .is_empty()
        );
        assert!(experiments_of("no json here").is_none());
        assert!(experiments_of("} backwards {").is_none());
        let t = tasks(3);
        assert_eq!(t[0].1, "5m");
        assert_eq!(t[1].1, "1m");
        assert_eq!(t.len(), 3);
    }
}
