//! The built-in planner end to end over the in-memory backend: a champion with weights is
//! registered, and a second loop trains none of the first loop's experiments.

use std::collections::HashSet;
use std::sync::Arc;

use agents::planner::BuiltinBrains;
use agents::{run_pipeline, Event, EventBus, PipelineOptions};

use crate::fake_backend::FakeBackend;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_pipeline_registers_a_champion_and_never_repeats_itself() {
    let backend = Arc::new(FakeBackend::default());
    let bus = EventBus::new("test", 4096);
    let mut rx = bus.subscribe();
    let opts = PipelineOptions {
        loops: 2,
        max_experiments: Some(4),
        ..PipelineOptions::default()
    };
    let reports = run_pipeline(backend.clone(), Arc::new(BuiltinBrains), None, &opts, &bus)
        .await
        .unwrap();
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert!(r.success, "{:#?}", r.stages);
        assert_eq!(
            r.stages.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["planner", "trainer", "check", "publisher"]
        );
    }
    let runs = backend.runs.lock().unwrap().clone();
    // 3 configs at rung 0 + the best one at 3× epochs, per loop.
    assert_eq!(runs.len(), 8);
    let first: HashSet<&str> = runs[..4].iter().map(|r| r.fingerprint.as_str()).collect();
    let second: HashSet<&str> = runs[4..].iter().map(|r| r.fingerprint.as_str()).collect();
    assert_eq!(first.len(), 4);
    assert!(first.is_disjoint(&second), "loop 2 repeated an experiment");
    assert_eq!(runs[3].spec.epochs, Some(6));

    let champ = backend
        .champions
        .lock()
        .unwrap()
        .get(&("BTC".to_string(), "5m".to_string()))
        .cloned()
        .unwrap();
    let champ = runs.iter().find(|r| r.run_id == champ).unwrap();
    assert!(champ.weights.is_some());
    let best = runs
        .iter()
        .filter_map(|r| r.crps)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(champ.crps, Some(best));
    assert_eq!(backend.saved_pipelines.lock().unwrap().len(), 2);
    // The champion only improves: the second loop's report names it.
    assert_eq!(
        reports[1].state["champion"]["run_id"],
        champ.run_id.as_str()
    );

    let mut kinds = Vec::new();
    while let Ok(e) = rx.try_recv() {
        kinds.push(e.event);
    }
    assert!(kinds.iter().any(|e| matches!(
        e,
        Event::EpochProgress {
            epoch: 6,
            epochs: 6,
            ..
        }
    )));
    assert!(kinds.iter().any(|e| matches!(e, Event::Champion { .. })));
    assert_eq!(
        kinds
            .iter()
            .filter(|e| matches!(e, Event::PipelineComplete { success: true, .. }))
            .count(),
        2
    );
}
