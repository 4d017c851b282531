//! Promotion's paired comparison through the worker pool: each side is one experiment of the
//! runner, so with two workers both evaluate at once, remotely, with the numbers of the same
//! comparison made on this machine.

use std::sync::Arc;
use std::time::Duration;

use research::promotion::{compare, Contender, PromptSet};
use research::{DataRequest, ExperimentRunner, ModelsRunner};
use serde_json::json;
use worker::client::WorkerClient;
use worker::protocol::sha256_hex;
use worker::WorkerPool;

use crate::dispatch::TestWorker;

#[test]
fn a_paired_comparison_runs_on_the_workers_with_the_local_numbers() {
    let test = "a_paired_comparison_runs_on_the_workers_with_the_local_numbers";
    let local = Arc::new(ModelsRunner::new().with_device(models::device::DeviceChoice::Cpu));
    // The real BTC 1m history (the shared data folder), as a paired comparison needs.
    let spec = json!({"baseline": "gbm", "timeframe": "1m"});
    let req = DataRequest {
        assets: vec!["BTC".into()],
        ..Default::default()
    };
    let Ok(resolved) = local.resolve_data(&spec, &req) else {
        assert!(
            std::env::var_os("SYNTH_CITY_REQUIRE_SHARED").is_none(),
            "{test}: the shared data folder (real BTC 1m history) is required here"
        );
        eprintln!("SKIP: {test}: no real BTC 1m history (shared data folder)");
        return;
    };
    let set = PromptSet::standard("BTC", "1m");
    let (cand, inc) = (
        Contender::Model("gbm".into()),
        Contender::Model("default".into()),
    );
    let here = compare(local.as_ref(), &cand, &inc, &set).unwrap();

    let (a, b) = (
        TestWorker::start(Some("t"), 1),
        TestWorker::start(Some("t"), 1),
    );
    let pool = WorkerPool::connect(local.clone(), &[a.addr("t"), b.addr("t")])
        .with_poll_interval(Duration::from_millis(20));
    let there = compare(&pool, &cand, &inc, &set).unwrap();
    assert_eq!(
        (there.prompts, there.first_prompt, there.last_prompt),
        (here.prompts, here.first_prompt, here.last_prompt)
    );
    assert_eq!(there.ratio, here.ratio);
    assert_eq!(there.ratio_90, here.ratio_90);
    assert_eq!(there.candidate_better(), here.candidate_better());
    // Both sides went out at once, one to each worker: each holds the candles it trained on.
    let (_, _, prepared) = local.inputs(&spec, &resolved).unwrap().remove(0);
    let sha = sha256_hex(&serde_json::to_vec(&prepared).unwrap());
    for w in [&a, &b] {
        let c = WorkerClient::new(w.addr("t")).unwrap();
        assert!(c.has_data(&sha).unwrap(), "{} got no evaluation", w.url);
    }
}
