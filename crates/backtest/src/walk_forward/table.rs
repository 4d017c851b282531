//! The walk-forward report as text: per competition, each scope's ratios to GBM by regime with
//! their 90 % intervals, the differences to the compared model, and the reward shares per
//! period.

use std::fmt::Write as _;

use super::{Group, Regime, WalkForwardReport, WEIGHTED};

fn cell(v: f64, lo: f64, hi: f64) -> String {
    format!("{v:.4} ({lo:.3}–{hi:.3})")
}

/// The report as tables.
pub fn table(r: &WalkForwardReport) -> String {
    let mut out = String::new();
    let w = r
        .competitors
        .iter()
        .map(|c| c.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let against = r
        .competitors
        .iter()
        .position(|c| *c == r.config.against)
        .unwrap_or(0);
    for &comp in &r.config.competitions {
        let mine: Vec<&Group> = r.groups.iter().filter(|g| g.competition == comp).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{} — mean CRPS ÷ GBM's on the same prompts (90% interval)",
            comp.label().to_uppercase()
        );
        let _ = write!(out, "{:<14} {:<w$}", "scope", "model");
        for reg in Regime::ALL {
            let _ = write!(out, " {:>24}", reg.label());
        }
        let _ = writeln!(out);
        let mut scopes: Vec<String> = vec![WEIGHTED.to_string()];
        for g in &mine {
            if !scopes.contains(&g.scope) {
                scopes.push(g.scope.clone());
            }
        }
        for scope in &scopes {
            let row = |reg: Regime| mine.iter().find(|g| g.scope == *scope && g.regime == reg);
            let _ = write!(out, "{:<14} {:<w$}", scope, "prompts");
            for reg in Regime::ALL {
                let n = row(reg).map_or(0, |g| g.ratios.prompts);
                let _ = write!(out, " {n:>24}");
            }
            let _ = writeln!(out);
            for (c, name) in r.competitors.iter().enumerate() {
                if name == super::REFERENCE {
                    continue;
                }
                let _ = write!(out, "{:<14} {:<w$}", "", name);
                for reg in Regime::ALL {
                    let s = row(reg).map_or(String::from("—"), |g| {
                        let e = g.ratios.ratio[c];
                        cell(e.value, e.lo, e.hi)
                    });
                    let _ = write!(out, " {s:>24}");
                }
                let _ = writeln!(out);
            }
        }
        let _ = writeln!(
            out,
            "{WEIGHTED}: ratio minus {}'s (paired; below 0: better)",
            r.config.against
        );
        for (c, name) in r.competitors.iter().enumerate() {
            if c == against || name == super::REFERENCE {
                continue;
            }
            let _ = write!(out, "{:<14} {:<w$}", "", name);
            for reg in Regime::ALL {
                let s = mine
                    .iter()
                    .find(|g| g.scope == WEIGHTED && g.regime == reg)
                    .map_or(String::from("—"), |g| {
                        let e = g.ratios.minus_against[c];
                        format!("{:+.4} ({:+.3}–{:+.3})", e.value, e.lo, e.hi)
                    });
                let _ = write!(out, " {s:>24}");
            }
            let _ = writeln!(out);
        }
        let _ = writeln!(out);
    }
    if !r.periods.is_empty() {
        let _ = writeln!(
            out,
            "Reward share per period (LOW + HIGH combined as the validator does, mean over the period)"
        );
        let _ = write!(out, "{:<36} {:>7}", "period", "prompts");
        for name in &r.competitors {
            let _ = write!(out, " {name:>w$}");
        }
        let _ = writeln!(out);
        let mut mean = vec![0.0; r.competitors.len()];
        for p in &r.periods {
            let _ = write!(
                out,
                "{:<36} {:>7}",
                format!("{} → {}", &p.from[..10], &p.to[..10]),
                p.prompts
            );
            for (k, s) in p.combined.iter().enumerate() {
                let _ = write!(out, " {:>w$}", format!("{:.1}%", 100.0 * s));
                if let Some(m) = mean.get_mut(k) {
                    *m += s / r.periods.len() as f64;
                }
            }
            let _ = writeln!(out, "  {}", p.assets.join(","));
        }
        let _ = write!(out, "{:<36} {:>7}", "mean over periods", "");
        for s in &mean {
            let _ = write!(out, " {:>w$}", format!("{:.1}%", 100.0 * s));
        }
        let _ = writeln!(out);
    }
    if r.invalid_prompts > 0 {
        let _ = writeln!(
            out,
            "{} prompts left out of the ratios: a competitor's answer was invalid",
            r.invalid_prompts
        );
    }
    for (why, k) in &r.skipped {
        let _ = writeln!(out, "skipped {k}: {why}");
    }
    out
}
