//! A run as a Weights & Biases run: its config (spec, data range, seed), per-epoch losses from
//! its `result-<asset>.json` artifacts (history), final CRPS per asset, competition and
//! interval against the reference GBM (summary) and the fan chart image. Built from the archive
//! every time it is sent, so a queued run uploads exactly what the archive holds.

use serde_json::{json, Map, Value};
use services::wandb::{RunFile, RunLog};
use sn50::Timeframe;

use crate::model_store::read_artifact;
use crate::record::RunRecord;
use crate::store::Archive;
use crate::Result;

/// Path of the fan chart in the W&B run.
pub const FAN_MEDIA: &str = "media/images/fan_chart.png";

/// The W&B run of `rec`.
pub fn run_log(archive: &Archive, rec: &RunRecord) -> Result<RunLog> {
    let mut config = Map::new();
    config.insert("spec".into(), rec.spec.clone());
    config.insert("name".into(), json!(rec.name));
    config.insert("experiment_id".into(), json!(rec.experiment_id));
    config.insert("blocks".into(), json!(rec.blocks));
    config.insert("head".into(), json!(rec.head));
    config.insert("assets".into(), json!(rec.data.assets));
    config.insert("timeframe".into(), json!(rec.data.timeframe));
    config.insert("data_start".into(), json!(rec.data.start));
    config.insert("data_end".into(), json!(rec.data.end));
    config.insert("seed".into(), json!(rec.seed));
    config.insert("provenance".into(), json!(rec.provenance.as_str()));
    config.insert("requested_by".into(), json!(rec.requested_by.label()));

    let mut history = Vec::new();
    for a in rec
        .artifacts
        .iter()
        .filter(|a| a.name.starts_with("result-") && a.name.ends_with(".json"))
    {
        let Ok(bytes) = read_artifact(archive, rec, &a.name) else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let asset = v["asset"].as_str().unwrap_or("").to_uppercase();
        for (fold, f) in v["folds"].as_array().into_iter().flatten().enumerate() {
            for e in f["train_report"]["epochs"].as_array().into_iter().flatten() {
                let mut row = Map::new();
                row.insert("asset".into(), json!(asset));
                row.insert("fold".into(), json!(fold));
                row.insert("epoch".into(), e["epoch"].clone());
                for k in ["train_loss", "val_loss", "lr", "grad_norm"] {
                    if e[k].is_number() {
                        row.insert(format!("{k}/{asset}"), e[k].clone());
                    }
                }
                history.push(row);
            }
        }
    }

    let mut summary = Map::new();
    if let Some(c) = rec.crps.filter(|c| c.is_finite()) {
        summary.insert("crps".into(), json!(c));
    }
    if let Some(r) = rec.baseline_ratio.filter(|r| r.is_finite()) {
        summary.insert("crps_ratio_vs_gbm".into(), json!(r));
    }
    for s in &rec.scores {
        let comp = Timeframe::parse(&s.timeframe)
            .unwrap_or_default()
            .competition()
            .label();
        let p = format!("{comp}/{}", s.asset);
        summary.insert(format!("crps/{p}"), json!(s.crps));
        summary.insert(format!("prompts/{p}"), json!(s.prompts));
        if let Some(b) = s.baseline_crps {
            summary.insert(format!("gbm_crps/{p}"), json!(b));
            if b > 0.0 {
                summary.insert(format!("crps_ratio_vs_gbm/{p}"), json!(s.crps / b));
            }
        }
        for (interval, v) in &s.per_interval {
            summary.insert(format!("crps/{p}/{interval}"), json!(v));
        }
    }
    for (k, v) in &rec.extra {
        if v.is_finite() {
            summary.insert(k.clone(), json!(v));
        }
    }
    summary.insert("train_s".into(), json!(rec.timings.train_s));
    summary.insert("eval_s".into(), json!(rec.timings.eval_s));

    let mut files = Vec::new();
    if rec.artifacts.iter().any(|a| a.name == "plots/fan.png") {
        let bytes = read_artifact(archive, rec, "plots/fan.png")?;
        summary.insert(
            "fan_chart".into(),
            json!({
                "_type": "image-file",
                "path": FAN_MEDIA,
                "sha256": crate::fingerprint::sha256_hex(&bytes),
                "size": bytes.len(),
                "format": "png",
            }),
        );
        files.push(RunFile {
            name: FAN_MEDIA.into(),
            bytes,
        });
    }

    let mut tags = vec![
        "synth-city".to_string(),
        "sn50".into(),
        rec.data.timeframe.clone(),
        rec.provenance.as_str().into(),
    ];
    tags.extend(rec.data.assets.iter().map(|a| a.to_lowercase()));
    Ok(RunLog {
        name: rec.run_id.clone(),
        display_name: rec.name.clone(),
        group: Some(rec.experiment_id.chars().take(12).collect()),
        job_type: Some(if rec.spec.get("baseline").is_some() {
            "baseline".into()
        } else {
            "train".into()
        }),
        tags,
        config,
        history,
        summary,
        files,
        notes: rec.error.as_ref().map(|e| e.message.clone()),
    })
}
