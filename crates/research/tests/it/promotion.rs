//! Promotion: paired comparisons on the same prompts, the prompt minimum, the champion history
//! with rollback, and an old (v1) registry upgraded in place.

use research::promotion::{self, compare, Contender, PromoteRequest, PromptSet, MIN_PROMPTS_HIGH};
use research::registry::{schema::SCHEMA_VERSION, NewPromotion, PromotionAction};
use research::{Archive, ErrorKind, ModelsRunner, Registry, RunRecord};
use serde_json::json;

use crate::common::run;

/// A successful real-data run of a statistical baseline on BTC at 1m (HIGH), as the CLI
/// would record it (its own score comes from a smaller evaluation, which must not matter).
fn baseline_run(name: &str, crps: f64) -> RunRecord {
    let mut r = run(name, &[], &format!("baseline:{name}"), 0, "BTC", crps);
    r.spec = json!({"baseline": name, "timeframe": "1m"});
    r.blocks.clear();
    r.data.timeframe = "1m".into();
    for s in &mut r.scores {
        s.timeframe = "1m".into();
        s.prompts = 5;
    }
    r
}

fn archive() -> (tempfile::TempDir, Archive) {
    let dir = tempfile::tempdir().unwrap();
    let a = Archive::open(dir.path(), None).unwrap();
    (dir, a)
}

#[test]
fn a_comparison_below_the_prompt_minimum_is_refused() {
    let runner = ModelsRunner::new();
    let mut set = PromptSet::standard("BTC", "1m");
    set.folds = 1;
    set.max_prompts = 5;
    let e = compare(
        &runner,
        &Contender::Model("gbm".into()),
        &Contender::Model("default".into()),
        &set,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidConfig);
    assert!(e.message.contains("minimum of 100"), "{}", e.message);

    // The same through a promotion: a 5-prompt run is never promoted on 5 prompts, forced or
    // not, and nothing is recorded.
    let (_d, a) = archive();
    let r = baseline_run("gbm_hist", 1.0);
    a.registry.insert_run(&r, None).unwrap();
    let mut req = PromoteRequest::new(&r.run_id, "cli");
    req.force = true;
    req.folds = Some(1);
    req.max_prompts = Some(MIN_PROMPTS_HIGH - 1);
    let e = promotion::promote(&a, &runner, &req).unwrap_err();
    assert!(e.message.contains("minimum"), "{}", e.message);
    assert!(a.registry.champion("BTC", "1m").unwrap().is_none());
    assert!(a.registry.promotions(None, None, 0).unwrap().is_empty());
}

/// Plain GBM against the default model on the same 200 real BTC HIGH prompts: refused with
/// its numbers, although its recorded CRPS (on 5 other prompts) is far lower; forced, it is
/// recorded as forced with the evidence; then the default model's own run beats it and is
/// promoted on its merits.
#[test]
fn a_worse_candidate_is_refused_by_the_paired_comparison() {
    let runner = ModelsRunner::new();
    let (_d, a) = archive();
    let gbm = baseline_run("gbm", 0.01);
    a.registry.insert_run(&gbm, None).unwrap();
    let out = promotion::promote(&a, &runner, &PromoteRequest::new(&gbm.run_id, "cli")).unwrap();
    assert_eq!(out.len(), 1);
    let o = &out[0];
    assert!(!o.promoted, "{o:?}");
    assert!(o.checker.passed, "{:?}", o.checker);
    let cmp = o.comparison.as_ref().unwrap();
    assert_eq!(cmp.incumbent, "default");
    assert!(cmp.prompts >= MIN_PROMPTS_HIGH, "{}", cmp.prompts);
    assert!(cmp.ratio > 1.0 && cmp.ratio_90.lo > 1.0, "{cmp:?}");
    assert!(!cmp.candidate_better());
    assert!(o.reason.starts_with("refused"), "{}", o.reason);
    assert!(o.reason.contains("CRPS ratio"), "{}", o.reason);
    assert!(a.registry.champion("BTC", "1m").unwrap().is_none());

    // Forced: recorded as such, with the comparison.
    let mut req = PromoteRequest::new(&gbm.run_id, "cli");
    req.force = true;
    let o = &promotion::promote(&a, &runner, &req).unwrap()[0];
    assert!(o.promoted);
    let ch = a.registry.champion("BTC", "1m").unwrap().unwrap();
    assert_eq!(ch.run.run_id, gbm.run_id);
    let p = ch.promotion.unwrap();
    assert_eq!(p.action, PromotionAction::Force);
    assert_eq!(p.evidence.as_ref().unwrap().prompts, cmp.prompts);
    assert!(p.checker.unwrap().passed);

    // The default model's run beats the (forced) GBM champion on the same prompts.
    let mix = baseline_run("mix_sess", 5.0);
    a.registry.insert_run(&mix, None).unwrap();
    let o = &promotion::promote(&a, &runner, &PromoteRequest::new(&mix.run_id, "cli")).unwrap()[0];
    assert!(o.promoted, "{}", o.reason);
    let cmp2 = o.comparison.as_ref().unwrap();
    assert_eq!(cmp2.incumbent, format!("run:{}", gbm.run_id));
    assert!(cmp2.candidate_better(), "{cmp2:?}");
    // Paired on the very same prompts as the first comparison (same folds, times, seed).
    assert_eq!(
        (cmp2.first_prompt, cmp2.last_prompt, cmp2.prompts),
        (cmp.first_prompt, cmp.last_prompt, cmp.prompts)
    );
    assert!((cmp2.ratio * cmp.ratio - 1.0).abs() < 1e-9);
    assert_eq!(
        a.registry
            .champion("BTC", "1m")
            .unwrap()
            .unwrap()
            .run
            .run_id,
        mix.run_id
    );
    // Promoting the champion again changes nothing.
    let o = &promotion::promote(&a, &runner, &PromoteRequest::new(&mix.run_id, "cli")).unwrap()[0];
    assert!(!o.promoted && o.reason == "already the champion");
    assert_eq!(a.registry.promotions(None, None, 0).unwrap().len(), 2);
}

#[test]
fn a_failed_check_refuses_even_when_forced() {
    let runner = ModelsRunner::new();
    let (_d, a) = archive();
    let mut r = baseline_run("garch_t", 1.0);
    r.provenance = research::DataProvenance::Synthetic;
    a.registry.insert_run(&r, None).unwrap();
    let mut req = PromoteRequest::new(&r.run_id, "cli");
    req.force = true;
    let o = &promotion::promote(&a, &runner, &req).unwrap()[0];
    assert!(!o.promoted && !o.checker.passed);
    assert!(o.reason.contains("synthetic"), "{}", o.reason);
    // An outside checker's failed verdict refuses too.
    let ok = baseline_run("ewma", 1.0);
    a.registry.insert_run(&ok, None).unwrap();
    let mut req = PromoteRequest::new(&ok.run_id, "pipeline:p1");
    req.force = true;
    req.checker = Some(research::CheckVerdict {
        passed: false,
        by: "codechecker".into(),
        issues: vec!["best_crps: does not match the run".into()],
    });
    let o = &promotion::promote(&a, &runner, &req).unwrap()[0];
    assert!(!o.promoted);
    assert!(o.reason.contains("codechecker: best_crps"), "{}", o.reason);
    assert!(a.registry.champion("BTC", "1m").unwrap().is_none());
}

fn record(reg: &Registry, run: &str, by: &str) -> i64 {
    let cur = reg.current_promotion("BTC", "5m").unwrap().map(|c| c.id);
    reg.record_promotion(&NewPromotion {
        asset: "btc",
        timeframe: "5m",
        run_id: Some(run),
        action: PromotionAction::Promote,
        by,
        expected_current: cur,
        previous_id: cur,
        evidence: None,
        checker: None,
    })
    .unwrap()
    .id
}

#[test]
fn rollback_restores_the_previous_champion() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path().join("registry.sqlite")).unwrap();
    let (a, b) = (
        run("a", &["lstm"], "gbm", 32, "BTC", 10.0),
        run("b", &["gru"], "gbm", 32, "BTC", 12.0),
    );
    reg.insert_run(&a, None).unwrap();
    reg.insert_run(&b, None).unwrap();
    assert!(reg.rollback_champion("BTC", "5m", "cli").is_err());
    record(&reg, &a.run_id, "cli");
    record(&reg, &b.run_id, "bot:x");
    // The champion is the promoted one, not the lowest CRPS.
    assert_eq!(
        reg.champion("BTC", "5m").unwrap().unwrap().run.run_id,
        b.run_id
    );
    assert_eq!(
        reg.best_run("BTC", "5m").unwrap().unwrap().run.run_id,
        a.run_id
    );
    let r = reg.rollback_champion("BTC", "5m", "cli").unwrap();
    assert_eq!(r.action, PromotionAction::Rollback);
    assert_eq!(r.run_id.as_deref(), Some(a.run_id.as_str()));
    assert_eq!(
        reg.champion("btc", "5m").unwrap().unwrap().run.run_id,
        a.run_id
    );
    // Back past the first promotion: no champion, the default model serves.
    let r = reg.rollback_champion("BTC", "5m", "cli").unwrap();
    assert_eq!(r.run_id, None);
    assert!(reg.champion("BTC", "5m").unwrap().is_none());
    assert!(reg.champions(None, None).unwrap().is_empty());
    assert!(reg.rollback_champion("BTC", "5m", "cli").is_err());
    // History: every step, newest first.
    let h = reg.promotions(Some("BTC"), None, 0).unwrap();
    let steps: Vec<_> = h.iter().map(|p| (p.action, p.run_id.clone())).collect();
    assert_eq!(
        steps,
        vec![
            (PromotionAction::Rollback, None),
            (PromotionAction::Rollback, Some(a.run_id.clone())),
            (PromotionAction::Promote, Some(b.run_id.clone())),
            (PromotionAction::Promote, Some(a.run_id.clone())),
        ]
    );
    // A stale promotion (compared against an entry that is no longer current) is refused.
    let e = reg
        .record_promotion(&NewPromotion {
            asset: "BTC",
            timeframe: "5m",
            run_id: Some(&b.run_id),
            action: PromotionAction::Promote,
            by: "cli",
            expected_current: Some(h[1].id),
            previous_id: Some(h[1].id),
            evidence: None,
            checker: None,
        })
        .unwrap_err();
    assert!(e.message.contains("changed"), "{}", e.message);
}

/// A registry written before champions were promoted (schema v1, where the champion was the
/// lowest CRPS) opens, keeps its runs, has no champion until one is promoted, and promotes.
#[test]
fn an_old_registry_migrates_and_keeps_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.sqlite");
    let old = run("old", &["lstm"], "gbm", 32, "BTC", 10.0);
    {
        let reg = Registry::open(&path).unwrap();
        reg.insert_run(&old, None).unwrap();
    }
    // Back to v1 as an old build left it: no table past v1, user_version 1.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let v1 = [
            "meta",
            "runs",
            "scores",
            "artifacts",
            "outbox",
            "sqlite_sequence",
        ];
        for t in tables.iter().filter(|t| !v1.contains(&t.as_str())) {
            conn.execute_batch(&format!("DROP TABLE {t}")).unwrap();
        }
        conn.pragma_update(None, "user_version", 1).unwrap();
    }
    let reg = Registry::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    assert_eq!(reg.get_run(&old.run_id).unwrap().run_id, old.run_id);
    assert_eq!(reg.count_runs().unwrap(), 1);
    assert!(reg.champion("BTC", "5m").unwrap().is_none());
    assert_eq!(
        reg.best_run("BTC", "5m").unwrap().unwrap().run.run_id,
        old.run_id
    );
    record(&reg, &old.run_id, "cli");
    assert_eq!(
        reg.champion("BTC", "5m").unwrap().unwrap().run.run_id,
        old.run_id
    );
}
