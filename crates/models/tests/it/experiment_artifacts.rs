//! Experiments hand back what they trained: the final model (neural weights or baseline
//! settings) and one held-out prompt's paths; stored weights reproduce those paths exactly.

use models::checkpoint;
use models::data::DataPolicy;
use models::experiment::{prepare, run_trained, sample_prompt, ExperimentConfig, ModelChoice};
use models::spec::{ModelSpec, Timeframe};
use models::trained::TrainedModel;

/// A neural spec that trains in well under a second: one epoch on 64 windows, d_model 8.
fn tiny() -> ModelSpec {
    let mut s = ModelSpec::new(Timeframe::High1m, &["mlp"], "gbm");
    s.d_model = 8;
    s.seq_len = 32;
    s.training.epochs = 1;
    s.training.batch_size = 16;
    s.training.n_paths = 16;
    s.training.max_windows = 64;
    s.training.seed = 3;
    s
}

fn config(model: ModelChoice) -> ExperimentConfig {
    let mut cfg = ExperimentConfig::new("BTC", Timeframe::High1m, model);
    cfg.folds = 1;
    cfg.eval.max_prompts = 3;
    cfg.eval.seed = 11;
    cfg.data = DataPolicy::SyntheticOnly;
    cfg
}

#[test]
fn neural_experiment_returns_its_model_and_weights_reproduce_its_paths() {
    let cfg = config(ModelChoice::Neural(Box::new(tiny())));
    let data = prepare(&cfg).unwrap();
    let run = run_trained(&cfg, &data, &mut |_, _| {}).unwrap();
    assert_eq!(run.result.n_prompts, 3);
    let TrainedModel::Neural(m) = &run.model else {
        panic!("expected a neural model, got {:?}", run.model);
    };
    let sample = run.sample.expect("a held-out prompt was sampled");
    assert_eq!(sample.paths.n_paths(), 1000);
    assert_eq!(sample.paths.n_points(), 61);
    assert_eq!(sample.realised.len(), 61);
    assert!(sample.paths.paths().all(|p| p[0] == sample.start_price));
    // The sample is one of the scored prompts of the last test span.
    let test = run.result.folds.last().unwrap().eval.span;
    assert!(test.holds_window(sample.start_time, 3600));

    // Weights to bytes and back (spec from the metadata): the same paths, bit for bit.
    let bytes = run.model.weights().unwrap().unwrap();
    assert_eq!(
        checkpoint::spec_of(&bytes).unwrap().as_ref(),
        Some(m.spec())
    );
    let back = checkpoint::from_bytes(&bytes, None).unwrap();
    let again = sample_prompt(&cfg, &data, test, &back).unwrap();
    assert_eq!(again, sample);
    // A buffer that is not safetensors is an error, not a panic.
    assert!(checkpoint::from_bytes(b"not weights", None).is_err());
    // A spec that does not fit the weights is refused.
    let mut other = m.spec().clone();
    other.d_model = 16;
    let err = checkpoint::from_bytes(&bytes, Some(other)).err().unwrap();
    assert!(err.to_string().contains("shape"), "{err}");
}

#[test]
fn baseline_experiment_returns_its_settings() {
    let cfg = config(ModelChoice::Baseline("ewma".into()));
    let data = prepare(&cfg).unwrap();
    let run = run_trained(&cfg, &data, &mut |_, _| {}).unwrap();
    assert!(run.model.weights().unwrap().is_none());
    let art = run.model.baseline_artifact().unwrap();
    assert_eq!(art.baseline, "ewma");
    assert!(art.settings["half_life_secs"].as_f64().unwrap() > 0.0);
    let f = models::baselines::baseline_from_settings(&art.baseline, &art.settings).unwrap();
    assert_eq!(f.name(), "ewma");
    let test = run.result.folds.last().unwrap().eval.span;
    assert_eq!(
        sample_prompt(&cfg, &data, test, f.as_ref()),
        run.sample.clone()
    );
    assert!(run.sample.is_some());
    for name in models::baselines::BASELINE_NAMES {
        let s = models::baselines::baseline_settings(name).unwrap();
        let b = models::baselines::baseline_from_settings(name, &s).unwrap();
        assert_eq!(
            b.name(),
            models::baselines::baseline(name).unwrap().name(),
            "{name}"
        );
    }
    let bad = serde_json::json!({"half_life_secs": "soon"});
    let err = models::baselines::baseline_from_settings("ewma", &bad)
        .err()
        .unwrap();
    assert!(err.to_string().contains("ewma settings"), "{err}");
}
