//! An in-memory research backend with a deterministic "CRPS" per spec, for pipeline tests.

use std::collections::HashMap;
use std::sync::Mutex;

use agents::backend::{
    Catalog, Component, PlannerRun, PlannerSpec, Progress, ResearchBackend, Validation,
};
use agents::ToolError;
use serde_json::Value;

#[derive(Default)]
pub struct FakeBackend {
    pub runs: Mutex<Vec<PlannerRun>>,
    pub champions: Mutex<HashMap<(String, String), String>>,
    pub saved_pipelines: Mutex<Vec<Value>>,
}

fn comp(n: &str) -> Component {
    Component {
        name: n.into(),
        description: String::new(),
    }
}

/// Lower for GRU, the student_t head, d_model 32, lr 1e-3 and more epochs.
pub fn score(spec: &Value) -> f64 {
    let blocks = spec["blocks"].to_string();
    let mut s = 30.0;
    if blocks.contains("gru") {
        s -= 3.0;
    }
    if blocks.contains("revin") {
        s -= 1.0;
    }
    if spec["head"] == "student_t" {
        s -= 2.0;
    }
    if spec["d_model"] == 32 {
        s -= 1.0;
    }
    if (spec["lr"].as_f64().unwrap_or(0.0) - 1e-3).abs() < 1e-12 {
        s -= 0.5;
    }
    s - 0.1 * spec["epochs"].as_f64().unwrap_or(1.0)
}

impl ResearchBackend for FakeBackend {
    fn catalog(&self) -> Result<Catalog, ToolError> {
        Ok(Catalog {
            blocks: vec![comp("revin"), comp("lstm"), comp("gru"), comp("mlp")],
            heads: vec![comp("gbm"), comp("student_t")],
            presets: vec![],
        })
    }
    fn validate(&self, spec: &PlannerSpec) -> Result<Validation, ToolError> {
        let ok = !spec.blocks.is_empty();
        Ok(Validation {
            valid: ok,
            errors: if ok {
                vec![]
            } else {
                vec!["blocks: empty".into()]
            },
            warnings: vec![],
            param_count: Some(1000),
        })
    }
    fn run(
        &self,
        name: &str,
        typed: &PlannerSpec,
        progress: Progress<'_>,
    ) -> Result<PlannerRun, ToolError> {
        let spec = &typed.to_json();
        let epochs = spec["epochs"].as_u64().unwrap_or(1) as u32;
        for e in 1..=epochs {
            progress(e, epochs, Some(score(spec) + f64::from(epochs - e)));
        }
        let fp = typed.fingerprint();
        let mut runs = self.runs.lock().unwrap();
        let rec = PlannerRun {
            run_id: format!("run-{}-{fp}", runs.len()),
            name: name.into(),
            fingerprint: fp,
            spec: typed.clone(),
            status: "ok".into(),
            crps: Some(score(spec)),
            baseline_crps: Some(30.0),
            param_count: Some(1000),
            train_secs: Some(0.01),
            error: None,
            weights: Some(format!("mem://{}", runs.len())),
            synthetic_data: true,
        };
        runs.push(rec.clone());
        Ok(rec)
    }
    fn history(
        &self,
        asset: Option<&str>,
        timeframe: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PlannerRun>, ToolError> {
        Ok(self
            .runs
            .lock()
            .unwrap()
            .iter()
            .filter(|r| {
                asset.is_none_or(|a| r.spec.asset.as_deref() == Some(a))
                    && timeframe.is_none_or(|t| r.spec.timeframe.as_deref() == Some(t))
            })
            .take(limit)
            .cloned()
            .collect())
    }
    fn champion(&self, asset: &str, timeframe: &str) -> Result<Option<PlannerRun>, ToolError> {
        let id = self
            .champions
            .lock()
            .unwrap()
            .get(&(asset.to_string(), timeframe.to_string()))
            .cloned();
        Ok(id.and_then(|id| {
            self.runs
                .lock()
                .unwrap()
                .iter()
                .find(|r| r.run_id == id)
                .cloned()
        }))
    }
    fn promote(&self, run_id: &str) -> Result<PlannerRun, ToolError> {
        let run = self
            .runs
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.run_id == run_id)
            .cloned()
            .ok_or_else(|| ToolError::invalid("no such run"))?;
        let key = (
            run.spec.asset.clone().unwrap(),
            run.spec.timeframe.clone().unwrap(),
        );
        self.champions
            .lock()
            .unwrap()
            .insert(key, run_id.to_string());
        Ok(run)
    }
    fn save_pipeline_run(&self, _run_id: &str, summary: &Value) -> Result<(), ToolError> {
        self.saved_pipelines.lock().unwrap().push(summary.clone());
        Ok(())
    }
}
