//! The backtest's charts as PNG and SVG, drawn through research's plot set-up
//! ([`research::plot::write_both`]: 960×540, embedded font, atomic files):
//! reward share over time, and mean CRPS by asset per competition.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::Summary;
use crate::BacktestError;

use research::plot::write_both;

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn color(i: usize) -> RGBColor {
    COLORS[i % COLORS.len()]
}

fn plot_err(e: impl std::fmt::Display) -> BacktestError {
    BacktestError::Env(format!("plot: {e}"))
}

/// Reward share (LOW + HIGH combined) of each competitor over time.
pub fn reward_share_chart(s: &Summary, stem: &Path) -> Result<Vec<PathBuf>, BacktestError> {
    write_both(stem, |r| draw_shares(r, s), |r| draw_shares(r, s))
}

fn draw_shares<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    s: &Summary,
) -> Result<(), BacktestError> {
    root.fill(&WHITE).map_err(plot_err)?;
    let t0 = s.timeline.first().map_or(0, |x| x.time);
    let hours = |t: i64| (t - t0) as f64 / 3600.0;
    let x_max = s.timeline.last().map_or(1.0, |x| hours(x.time)).max(1.0);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Reward share over time (from {})",
                market::timeparse::format_utc(t0)
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_max, 0.0..1.0)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("hours since the first scored prompt")
        .y_desc("share of miners' rewards")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(plot_err)?;
    for (i, name) in s.competitors.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(
                s.timeline.iter().map(|p| (hours(p.time), p.share[i])),
                c.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)
}

/// Mean CRPS by asset, one panel per competition, one bar per competitor.
pub fn crps_by_asset_chart(s: &Summary, stem: &Path) -> Result<Vec<PathBuf>, BacktestError> {
    write_both(stem, |r| draw_crps(r, s), |r| draw_crps(r, s))
}

fn draw_crps<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    s: &Summary,
) -> Result<(), BacktestError> {
    root.fill(&WHITE).map_err(plot_err)?;
    let panels = root.split_evenly((1, s.competitions.len().max(1)));
    let n = s.competitors.len().max(1);
    for (panel, comp) in panels.iter().zip(&s.competitions) {
        let assets = comp.assets();
        let y_max = comp
            .competitors
            .iter()
            .flat_map(|x| x.per_asset.values().copied())
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max)
            .max(1e-9)
            * 1.1;
        let na = assets.len().max(1);
        let labels = assets.clone();
        let mut chart = ChartBuilder::on(panel)
            .caption(
                format!(
                    "{}: mean CRPS by asset",
                    comp.competition.label().to_uppercase()
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..na as f64, 0.0..y_max)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(na * 2 + 1)
            .x_label_formatter(&|x| {
                let k = x.floor() as usize;
                if (x - x.floor() - 0.5).abs() < 1e-6 {
                    labels.get(k).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("CRPS per prompt")
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(plot_err)?;
        for (i, x) in comp.competitors.iter().enumerate() {
            let c = color(i);
            let bars: Vec<Rectangle<(f64, f64)>> = assets
                .iter()
                .enumerate()
                .filter_map(|(k, a)| {
                    let v = *x.per_asset.get(a)?;
                    v.is_finite().then(|| {
                        let w = 0.8 / n as f64;
                        let x0 = k as f64 + 0.1 + w * i as f64;
                        Rectangle::new([(x0, 0.0), (x0 + w * 0.9, v)], c.filled())
                    })
                })
                .collect();
            chart
                .draw_series(bars)
                .map_err(plot_err)?
                .label(x.name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()
            .map_err(plot_err)?;
    }
    root.present().map_err(plot_err)
}
