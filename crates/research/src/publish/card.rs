//! The model card (`README.md` of a Hub repository): YAML metadata the Hub indexes (tags for the
//! subnet and CRPS, a `model-index` with the metrics), then the scores per competition against
//! the reference GBM with their prompt counts and data range, the fan chart and how to serve the
//! model with synth-city.

use std::fmt::Write as _;

use sn50::Timeframe;

use crate::record::RunRecord;

/// The competition of a timeframe: `5m` → LOW (24 h horizon), `1m` → HIGH (1 h horizon).
fn competition(tf: &str) -> &'static str {
    match Timeframe::parse(tf).unwrap_or_default() {
        Timeframe::High1m => "HIGH (1 h at 1 min)",
        Timeframe::Low5m => "LOW (24 h at 5 min)",
    }
}

fn utc(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ts.to_string())
}

fn f(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| format!("{x:.4}"))
        .unwrap_or_else(|| "-".into())
}

/// A YAML scalar: quoted, with `"` and `\` escaped.
fn y(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace(['\n', '\r'], " ")
    )
}

/// The card of `rec`, published to `repo` (`owner/name`); `fan` is the repository path of the
/// fan chart image, when the run has one.
pub fn model_card(rec: &RunRecord, repo: &str, fan: Option<&str>) -> String {
    let mut tags = vec![
        "synth-city".to_string(),
        "bittensor".into(),
        "sn50".into(),
        "synth".into(),
        "crps".into(),
        "probabilistic-forecasting".into(),
        "time-series-forecasting".into(),
        format!("timeframe-{}", rec.data.timeframe),
    ];
    tags.extend(rec.data.assets.iter().map(|a| a.to_lowercase()));
    let mut s = String::from("---\nlibrary_name: synth-city\nlicense: mit\npipeline_tag: time-series-forecasting\ntags:\n");
    for t in &tags {
        let _ = writeln!(s, "- {}", y(t));
    }
    let _ = writeln!(s, "model-index:\n- name: {}\n  results:", y(&rec.name));
    for sc in &rec.scores {
        let _ = writeln!(
            s,
            "  - task:\n      type: time-series-forecasting\n      name: {}\n    dataset:\n      type: {}\n      name: {}\n    metrics:\n    - type: crps\n      name: {}\n      value: {}",
            y(&format!("SN50 {} price paths", competition(&sc.timeframe))),
            y(&format!("{}-{}", sc.asset.to_lowercase(), sc.timeframe)),
            y(&format!("{} {} ({})", sc.asset, sc.timeframe, rec.provenance.as_str())),
            y(&format!("CRPS {} {}", sc.asset, sc.timeframe)),
            f(Some(sc.crps)),
        );
        if let Some(b) = sc.baseline_crps.filter(|b| *b > 0.0 && b.is_finite()) {
            let _ = writeln!(
                s,
                "    - type: crps_ratio_vs_gbm\n      name: {}\n      value: {:.4}",
                y(&format!(
                    "CRPS / reference GBM {} {}",
                    sc.asset, sc.timeframe
                )),
                sc.crps / b
            );
        }
    }
    s.push_str("---\n\n");
    let _ = writeln!(s, "# {}\n", rec.name);
    let _ = writeln!(
        s,
        "A probabilistic price-path model for [Bittensor](https://bittensor.com) subnet 50 \
         ([Synth](https://github.com/mode-network/synth-subnet)), trained and evaluated walk-forward \
         by [synth-city](https://github.com/synth-city/synth-city). Validators score 1,000 simulated \
         paths with CRPS: **lower is better**; the reference is the validators' geometric Brownian \
         motion (GBM) on the same prompts.\n"
    );
    let kind = if rec.spec.get("baseline").is_some() {
        "statistical baseline (settings in `model.json`)"
    } else {
        "neural network (weights in `*.safetensors`, spec in their metadata)"
    };
    let _ = writeln!(s, "- Run: `{}` ({kind})", rec.run_id);
    let _ = writeln!(s, "- Experiment: `{}`", rec.experiment_id);
    if !rec.blocks.is_empty() {
        let _ = writeln!(
            s,
            "- Backbone: {} → head `{}`",
            rec.blocks.join(" → "),
            rec.head
        );
    }
    let _ = writeln!(
        s,
        "- Data: {} {}, {} → {} ({} data), seed {}",
        rec.data.assets.join(", "),
        rec.data.timeframe,
        utc(rec.data.start),
        utc(rec.data.end),
        rec.provenance.as_str(),
        rec.seed
    );
    s.push_str("\n## Scores against the reference GBM\n\n");
    s.push_str("| competition | asset | CRPS | GBM CRPS | CRPS / GBM | prompts |\n|---|---|---:|---:|---:|---:|\n");
    for sc in &rec.scores {
        let ratio = sc.baseline_crps.filter(|b| *b > 0.0).map(|b| sc.crps / b);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            competition(&sc.timeframe),
            sc.asset,
            f(Some(sc.crps)),
            f(sc.baseline_crps),
            f(ratio),
            sc.prompts
        );
    }
    for sc in rec.scores.iter().filter(|sc| !sc.per_interval.is_empty()) {
        let _ = writeln!(
            s,
            "\n**{} {}: CRPS per scoring interval**\n\n| interval | CRPS |\n|---|---:|",
            sc.asset, sc.timeframe
        );
        let mut rows: Vec<_> = sc.per_interval.iter().collect();
        rows.sort_by_key(|(k, _)| crate::plot::interval_sort_key(k));
        for (k, v) in rows {
            let _ = writeln!(s, "| {k} | {} |", f(Some(*v)));
        }
    }
    if let Some(fan) = fan {
        let _ = writeln!(
            s,
            "\n## Fan chart\n\nOne held-out prompt: quantile bands of the sampled paths and the realised price.\n\n![fan chart]({fan})"
        );
    }
    let _ = writeln!(
        s,
        "\n## Serve it with synth-city\n\n```sh\n\
         synth-city models pull hf://{repo}          # download, verify hashes, register run {id}\n\
         synth-city backtest --competitors run:{id},gbm   # replay validator prompts\n\
         synth-city history show {id}                # scores, artifacts, plots\n\
         ```\n\nOnce pulled, the run can be promoted champion of its asset and timeframe, and the \
         miner answers SN50 prompts with it.\n\n## Files\n\n\
         - `model.json`: what the run stored of its model (kind, timeframe, weights or settings per asset)\n\
         - `record.json`: the full run record (spec, data range, scores, artifact hashes)\n\
         - `*.safetensors`: weights (neural models)\n",
        id = rec.run_id
    );
    s
}

#[cfg(test)]
mod tests {
    use super::y;

    #[test]
    fn yaml_scalars_are_quoted_and_escaped() {
        assert_eq!(y("a\"b\\c\nd"), "\"a\\\"b\\\\c d\"");
    }
}
