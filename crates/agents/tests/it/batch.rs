//! `run_experiments`: a batch trained through the backend's batch call (the workers' slots at
//! once), each run registered once; reuse, duplicates and the budget per experiment; the
//! built-in Trainer trains its rungs in batches.

use std::sync::{Arc, Mutex};

use agents::backend::{
    BatchProgress, Catalog, PlannerRun, PlannerSpec, Progress, ResearchBackend, Validation,
};
use agents::planner::BuiltinBrains;
use agents::tools::{Budget, Session};
use agents::{run_pipeline, EventBus, PipelineOptions, ToolError};
use serde_json::{json, Value};

use crate::fake_backend::FakeBackend;

/// [`FakeBackend`] that records the size of every batch it is handed.
#[derive(Default)]
struct Batches {
    inner: FakeBackend,
    sizes: Mutex<Vec<usize>>,
}

impl ResearchBackend for Batches {
    fn catalog(&self) -> Result<Catalog, ToolError> {
        self.inner.catalog()
    }
    fn validate(&self, spec: &PlannerSpec) -> Result<Validation, ToolError> {
        self.inner.validate(spec)
    }
    fn run(
        &self,
        name: &str,
        spec: &PlannerSpec,
        p: Progress<'_>,
    ) -> Result<PlannerRun, ToolError> {
        self.inner.run(name, spec, p)
    }
    fn slots(&self) -> usize {
        2
    }
    fn run_batch(
        &self,
        items: &[(String, PlannerSpec)],
        progress: BatchProgress<'_>,
    ) -> Vec<Result<PlannerRun, ToolError>> {
        self.sizes.lock().unwrap().push(items.len());
        items
            .iter()
            .enumerate()
            .map(|(i, (n, s))| self.inner.run(n, s, &|e, k, c| progress(i, e, k, c)))
            .collect()
    }
    fn history(
        &self,
        asset: Option<&str>,
        timeframe: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PlannerRun>, ToolError> {
        self.inner.history(asset, timeframe, limit)
    }
    fn champion(&self, asset: &str, timeframe: &str) -> Result<Option<PlannerRun>, ToolError> {
        self.inner.champion(asset, timeframe)
    }
    fn promote(&self, run_id: &str) -> Result<PlannerRun, ToolError> {
        self.inner.promote(run_id)
    }
}

fn spec(blocks: &[&str], d_model: u64) -> Value {
    json!({"asset": "BTC", "timeframe": "5m", "blocks": blocks, "head": "gbm",
           "d_model": d_model, "epochs": 1, "seed": 0})
}

fn call(s: &Arc<Session>, args: Value) -> Value {
    let tools = agents::tools::toolbox(s.clone(), None);
    tools.execute("run_experiments", &args.to_string()).content
}

#[test]
fn a_batch_trains_once_each_reuses_refuses_duplicates_and_keeps_the_budget() {
    let backend = Arc::new(Batches::default());
    let s = Session::new(
        backend.clone(),
        None,
        Budget {
            max_experiments: Some(3),
            deadline: None,
        },
    );
    // One run already in the registry: reused, not trained, not counted.
    let prior: PlannerSpec = serde_json::from_value(spec(&["gru"], 8)).unwrap();
    backend.inner.run("prior", &prior, &|_, _, _| {}).unwrap();
    let mut named = spec(&["lstm"], 8);
    named["name"] = json!("mine");
    let out = call(
        &s,
        json!({"experiments": [named, spec(&["mlp"], 8), spec(&["lstm"], 8), spec(&["gru"], 8),
                               spec(&["revin", "gru"], 8), spec(&["mlp"], 16)]}),
    );
    let r = out["results"].as_array().unwrap_or_else(|| panic!("{out}"));
    assert_eq!(r.len(), 6, "{out}");
    assert_eq!(r[0]["reused"], false);
    assert_eq!(r[0]["run"]["name"], "mine");
    assert_eq!(r[1]["reused"], false);
    assert!(
        r[2]["error"]
            .as_str()
            .unwrap()
            .contains("same as experiment 1"),
        "{}",
        r[2]
    );
    assert_eq!(r[3]["reused"], true);
    assert_eq!(r[4]["reused"], false);
    assert!(
        r[5]["error"].as_str().unwrap().contains("budget exhausted"),
        "{}",
        r[5]
    );
    assert_eq!(out["trained"], 3);
    assert_eq!(out["remaining_budget"], 0);
    assert_eq!(out["slots"], 2);
    // One batch of the three that train; four runs in the registry (the prior one + 3).
    assert_eq!(*backend.sizes.lock().unwrap(), vec![3]);
    assert_eq!(backend.inner.runs.lock().unwrap().len(), 4);
    assert_eq!(s.runs().len(), 4, "3 trained + 1 reused in this session");
    // Bad input: an empty batch, too many specs, a misspelt field (named by index).
    let e = call(&s, json!({"experiments": []}));
    assert!(e["error"].as_str().unwrap().contains("at least one"), "{e}");
    let many: Vec<Value> = (0..17).map(|k| spec(&["mlp"], 100 + k)).collect();
    let e = call(&s, json!({"experiments": many}));
    assert!(e["error"].as_str().unwrap().contains("at most 16"), "{e}");
    let e = call(
        &s,
        json!({"experiments": [{"blocks": ["mlp"], "head": "gbm", "dmodel": 3}]}),
    );
    assert!(
        e["error"].as_str().unwrap().contains("experiments[0]"),
        "{e}"
    );
    assert_eq!(
        *backend.sizes.lock().unwrap(),
        vec![3],
        "nothing trained on bad input"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builtin_trainer_trains_each_rung_in_one_batch() {
    let backend = Arc::new(Batches::default());
    let bus = EventBus::new("batch", 4096);
    let opts = PipelineOptions {
        max_experiments: Some(4),
        ..PipelineOptions::default()
    };
    let reports = run_pipeline(backend.clone(), Arc::new(BuiltinBrains), None, &opts, &bus)
        .await
        .unwrap();
    assert!(reports[0].success, "{:#?}", reports[0].stages);
    // Rung 0: the plan's 3 configs at once; rung 1: the best at 3× the epochs.
    assert_eq!(*backend.sizes.lock().unwrap(), vec![3, 1]);
    let runs = backend.inner.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 4);
    assert_eq!(runs[3].spec.epochs, Some(6));
    assert_eq!(
        runs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["r0-1", "r0-2", "r0-3", "r1-1"]
    );
}
