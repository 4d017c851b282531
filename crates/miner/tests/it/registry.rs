//! `RegistryChampions` over a real research archive in a temp dir: a baseline champion, a
//! neural champion with stored weights, and a neural champion whose weights are missing. Only
//! promoted runs are served, whatever the raw CRPS of the others.

use std::sync::Arc;
use std::time::Duration;

use market::Candles;
use miner::{
    parse_prompt, Answerer, ChampionSource, HistorySource, MarketHistory, ModelCache, OrDefault,
    RegistryChampions,
};
use models::neural::NeuralModel;
use models::spec::ModelSpec;
use research::model_store::ModelKind;
use research::registry::{NewPromotion, PromotionAction};
use research::{
    Archive, AssetScore, DataProvenance, DataRange, ModelManifest, Requester, RunRecord, RunStatus,
    Timings,
};
use serde_json::{json, Value};
use sn50::{Competition, Timeframe};

fn record(id: &str, asset: &str, tf: &str, crps: f64, spec: Value) -> RunRecord {
    let now = chrono::Utc::now();
    let mut r = RunRecord {
        run_id: id.into(),
        experiment_id: format!("{id:0>64}"),
        name: id.into(),
        spec,
        blocks: Vec::new(),
        head: String::new(),
        data: DataRange {
            assets: vec![asset.into()],
            timeframe: tf.into(),
            start: 0,
            end: 1,
        },
        seed: 0,
        provenance: DataProvenance::Real,
        requested_by: Requester::Cli,
        status: RunStatus::Ok,
        error: None,
        crps: None,
        baseline_ratio: None,
        scores: vec![AssetScore {
            asset: asset.into(),
            timeframe: tf.into(),
            crps,
            baseline_crps: Some(crps * 1.1),
            per_interval: Default::default(),
            prompts: 10,
        }],
        extra: Default::default(),
        timings: Timings::default(),
        started_at: now,
        finished_at: now,
        artifacts: Vec::new(),
        ran_on: None,
    };
    r.summarise_scores();
    r
}

fn tiny_neural() -> (ModelSpec, Vec<u8>) {
    let mut spec = ModelSpec::new(Timeframe::Low5m, &["mlp"], "gbm");
    spec.seq_len = 16;
    spec.d_model = 8;
    let model = NeuralModel::new(spec.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    models::checkpoint::save(&model, dir.path()).unwrap();
    let w = std::fs::read(dir.path().join(models::checkpoint::WEIGHTS)).unwrap();
    (spec, w)
}

fn low_prompt(asset: &str, start: &str) -> miner::Prompt {
    parse_prompt(
        format!(
            r#"{{"simulation_input":{{"asset":"{asset}","start_time":"{start}","time_increment":300,"time_length":86400,"num_simulations":100}}}}"#
        )
        .as_bytes(),
    )
    .unwrap()
}

#[test]
fn champions_load_from_the_registry_and_answer() {
    let home = tempfile::tempdir().unwrap();
    let archive = Archive::open(home.path(), None).unwrap();
    // BTC 5m: garch_t is promoted; gbm has a lower raw CRPS (on other prompts) but was never
    // promoted, so it is not served.
    let b = json!({"baseline": "garch_t", "timeframe": "5m"});
    archive
        .record_run(record("run-garch", "BTC", "5m", 10.0, b), Vec::new())
        .unwrap();
    let g = json!({"baseline": "gbm", "timeframe": "5m"});
    archive
        .record_run(record("run-gbm", "BTC", "5m", 5.0, g), Vec::new())
        .unwrap();
    // ETH 5m: a neural model stored as research stores a two-asset run (BTC's weights first,
    // ETH's second; a spec with an "eval" part): the champion must be ETH's weights.
    let (spec, weights) = tiny_neural();
    let mut spec_v = serde_json::to_value(&spec).unwrap();
    spec_v["eval"] = json!({"folds": 1});
    let mut manifest = ModelManifest::new(ModelKind::Neural, "5m");
    manifest
        .weights
        .insert("BTC".into(), "weights.safetensors".into());
    manifest
        .weights
        .insert("ETH".into(), "weights-eth.safetensors".into());
    let mut two = record("run-neural", "ETH", "5m", 9.0, spec_v.clone());
    two.data.assets = vec!["BTC".into(), "ETH".into()];
    archive
        .record_run(
            two,
            vec![
                ("spec.json".into(), spec_v.to_string().into_bytes()),
                ("weights.safetensors".into(), b"not the ETH model".to_vec()),
                ("weights-eth.safetensors".into(), weights),
                ("model.json".into(), serde_json::to_vec(&manifest).unwrap()),
            ],
        )
        .unwrap();
    // SOL 5m: neural, but its weights were never stored.
    archive
        .record_run(
            record("run-noweights", "SOL", "5m", 9.0, spec_v),
            Vec::new(),
        )
        .unwrap();
    for (asset, run) in [
        ("BTC", "run-garch"),
        ("ETH", "run-neural"),
        ("SOL", "run-noweights"),
    ] {
        archive
            .registry
            .record_promotion(&NewPromotion {
                asset,
                timeframe: "5m",
                run_id: Some(run),
                action: PromotionAction::Force,
                by: "test",
                expected_current: None,
                previous_id: None,
                evidence: None,
                checker: None,
            })
            .unwrap();
    }
    assert_eq!(
        archive
            .registry
            .best_run("BTC", "5m")
            .unwrap()
            .unwrap()
            .run
            .run_id,
        "run-gbm"
    );
    drop(archive);

    let src = RegistryChampions::open(home.path()).unwrap();
    let btc = src.champion("BTC", Competition::Low).unwrap().unwrap();
    assert_eq!(btc.name(), "garch_t");
    assert!(src.champion("BTC", Competition::High).unwrap().is_none());
    let eth = src.champion("ETH", Competition::Low).unwrap().unwrap();
    assert_eq!(eth.name(), "mlp+gbm");
    assert!(src.champion("SOL", Competition::Low).unwrap().is_none());
    assert!(src.champion("XRP", Competition::Low).unwrap().is_none());
    // Where nothing was promoted, the miner's source serves the default model.
    let with_default = OrDefault::new(RegistryChampions::open(home.path()).unwrap());
    let d = with_default
        .champion("XRP", Competition::Low)
        .unwrap()
        .unwrap();
    assert_eq!(d.name(), "default:mix_range");
    let btc = with_default
        .champion("BTC", Competition::Low)
        .unwrap()
        .unwrap();
    assert_eq!(btc.name(), "garch_t");

    // Answers: both champions answer from the synthetic market's history (a stand-in for the
    // cache here), and the answers validate; without history garch falls back to the GBM.
    let history = Arc::new(MarketHistory::with_loader(
        Duration::from_secs(600),
        Arc::new(|asset: &str, res: u32| models::data::synthetic(asset, res, 3).map(|l| l.candles)),
    ));
    let answerer = Answerer::new(
        ModelCache::new(Arc::new(src), Duration::from_secs(600)),
        history.clone(),
    );
    answerer.warm(&["BTC", "ETH", "SOL"]);
    // Just after the synthetic series ends (60 days from 2025-01-01).
    let end: &Candles = &history.history("BTC", 300, i64::MAX);
    let after = chrono::DateTime::from_timestamp(end.ts.last().unwrap() + 300, 0)
        .unwrap()
        .to_rfc3339();
    for (asset, model) in [
        ("BTC", "garch_t"),
        ("ETH", "mlp+gbm"),
        ("SOL", "reference_gbm"),
    ] {
        let p = low_prompt(asset, &after);
        let a = answerer.answer(&p, 1234.5, 7).unwrap();
        assert_eq!(a.model, model, "{asset}");
        assert_eq!(a.fallback, model == "reference_gbm");
        assert_eq!(miner::axon::self_check(&a.body, &p), Ok(()), "{asset}");
    }
    // A prompt long before the history: garch_t cannot fit and the GBM answers instead.
    let early = low_prompt("BTC", "2020-01-01T00:00:00+00:00");
    let a = answerer.answer(&early, 1234.5, 7).unwrap();
    assert!(a.fallback);
}

#[test]
fn a_missing_registry_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let err = RegistryChampions::open(home.path())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no research registry"), "{err}");
    // Nothing was created.
    assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
}
