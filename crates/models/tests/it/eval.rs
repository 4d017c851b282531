//! Experiments on the synthetic market: validator-style prompts, sn50 scoring, reference ratio.

use models::data::{DataPolicy, DataSource};
use models::experiment::{run, ExperimentConfig, ModelChoice};
use models::spec::Timeframe;

#[test]
fn baseline_experiment_scores_against_the_reference_on_the_same_prompts() {
    let mut cfg = ExperimentConfig::new(
        "BTC",
        Timeframe::High1m,
        ModelChoice::Baseline("garch_t".into()),
    );
    cfg.folds = 2;
    cfg.eval.max_prompts = 3;
    cfg.data = DataPolicy::SyntheticOnly;
    let r = run(&cfg, &mut |_, _| {}).unwrap();
    assert_eq!(r.data_source, DataSource::Synthetic);
    assert!(r.warning.as_deref().unwrap().contains("SYNTHETIC"));
    assert_eq!(r.n_prompts, 6);
    assert_eq!(r.folds.len(), 2);
    // HIGH has 18 scoring intervals, all scored on full synthetic data.
    assert_eq!(r.per_interval.len(), 18);
    assert!((r.ratio - r.model_crps / r.baseline_crps).abs() < 1e-12);
    assert!(r.model_crps > 0.0 && r.baseline_crps > 0.0);
    // Test spans come after their training spans with at least one horizon between them.
    for f in &r.folds {
        assert!(f.eval.span.from - f.train.to >= 3600);
        assert_eq!(f.eval.score("gbm").unwrap().failures, 0);
    }
    // Same config, same numbers.
    let again = run(&cfg, &mut |_, _| {}).unwrap();
    assert_eq!(again.model_crps, r.model_crps);
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("\"provenance\":\"synthetic\""));
}
