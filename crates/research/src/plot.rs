//! Plots of a run, as PNG and SVG: a fan chart (predicted quantile bands against the realised
//! path) and a CRPS-by-interval bar chart. PNG text uses an embedded font (no system fonts).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use sn50::PathSet;

use crate::{ResearchError, Result};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono.ttf");
/// Size of every chart synth-city draws (research and backtest), in pixels.
pub const SIZE: (u32, u32) = (960, 540);

/// Registers the embedded font as `sans-serif` (once per process): PNG text needs no system fonts.
pub fn register_font() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ResearchError::env("embedded plot font could not be loaded"))
    }
}

/// Quantile bands of a forecast over time, and the realised path if known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FanData {
    /// Chart title.
    pub title: String,
    /// Minutes from the start of each point.
    pub minutes: Vec<f64>,
    /// Per point: the 5 %, 25 %, 50 %, 75 % and 95 % quantiles of the predicted price.
    pub quantiles: Vec<[f64; 5]>,
    /// Realised prices at the same points (may be shorter or absent; NaN where unknown,
    /// `null` in JSON).
    #[serde(with = "nan_as_null", default)]
    pub realised: Vec<f64>,
}

/// `f64` vectors with NaN written as JSON `null` (and read back as NaN).
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let opt: Vec<Option<f64>> = v.iter().map(|x| x.is_finite().then_some(*x)).collect();
        opt.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let opt = Vec::<Option<f64>>::deserialize(d)?;
        Ok(opt.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
    }
}

/// Probabilities of the bands of [`FanData::quantiles`].
pub const FAN_LEVELS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

impl FanData {
    /// Bands from sampled paths (`step_minutes` apart), with an optional realised path.
    pub fn from_paths(title: &str, paths: &PathSet, step_minutes: f64, realised: &[f64]) -> Self {
        let n = paths.n_points();
        let mut column = Vec::with_capacity(paths.n_paths());
        let quantiles = (0..n)
            .map(|t| {
                column.clear();
                column.extend(paths.paths().map(|p| p[t]).filter(|x| x.is_finite()));
                column.sort_by(f64::total_cmp);
                FAN_LEVELS.map(|q| quantile_sorted(&column, q))
            })
            .collect();
        Self {
            title: title.into(),
            minutes: (0..n).map(|i| i as f64 * step_minutes).collect(),
            quantiles,
            realised: realised.iter().copied().take(n).collect(),
        }
    }
}

fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Writes `<stem>.png` and `<stem>.svg` of one chart, each atomically (the one plot set-up: font,
/// size, folders, atomic files), for any caller's error type; returns their paths.
pub fn write_both<E: From<ResearchError>>(
    stem: &Path,
    draw: impl Fn(DrawingArea<SVGBackend<'_>, Shift>) -> std::result::Result<(), E>,
    draw_png: impl Fn(DrawingArea<BitMapBackend<'_>, Shift>) -> std::result::Result<(), E>,
) -> std::result::Result<Vec<PathBuf>, E> {
    register_font()?;
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(ResearchError::from)?;
    }
    let svg_path = stem.with_extension("svg");
    let png_path = stem.with_extension("png");
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(root)?;
    }
    market::atomic::write_atomic(&svg_path, svg.as_bytes()).map_err(ResearchError::from)?;
    let tmp = stem.with_extension("tmp.png");
    {
        let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
        draw_png(root)?;
    }
    std::fs::rename(&tmp, &png_path).map_err(ResearchError::from)?;
    Ok(vec![png_path, svg_path])
}

fn plot_err(e: impl std::fmt::Display) -> ResearchError {
    ResearchError::env(format!("plot: {e}"))
}

fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

fn draw_fan<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, d: &FanData) -> Result<()> {
    root.fill(&WHITE).map_err(plot_err)?;
    let (lo, hi) = finite_range(
        d.quantiles
            .iter()
            .flat_map(|q| q.iter().copied())
            .chain(d.realised.iter().copied()),
    )
    .ok_or_else(|| ResearchError::invalid("fan chart: no finite values"))?;
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-6).max(1e-9);
    let x_max = d.minutes.last().copied().unwrap_or(1.0).max(1e-9);
    let mut chart = ChartBuilder::on(&root)
        .caption(&d.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..x_max, (lo - pad)..(hi + pad))
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("minutes from start")
        .y_desc("price")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(plot_err)?;
    let band = |a: usize, b: usize| -> Vec<(f64, f64)> {
        let up = d.minutes.iter().zip(&d.quantiles).map(|(&x, q)| (x, q[b]));
        let down = d
            .minutes
            .iter()
            .zip(&d.quantiles)
            .rev()
            .map(|(&x, q)| (x, q[a]));
        up.chain(down).collect()
    };
    let outer = RGBColor(158, 202, 225);
    let inner = RGBColor(66, 146, 198);
    chart
        .draw_series(std::iter::once(Polygon::new(
            band(0, 4),
            outer.mix(0.6).filled(),
        )))
        .map_err(plot_err)?
        .label("5–95 %")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], outer.filled()));
    chart
        .draw_series(std::iter::once(Polygon::new(
            band(1, 3),
            inner.mix(0.7).filled(),
        )))
        .map_err(plot_err)?
        .label("25–75 %")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], inner.filled()));
    chart
        .draw_series(LineSeries::new(
            d.minutes.iter().zip(&d.quantiles).map(|(&x, q)| (x, q[2])),
            BLUE.stroke_width(2),
        ))
        .map_err(plot_err)?
        .label("median")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE.stroke_width(2)));
    if d.realised.iter().any(|y| y.is_finite()) {
        chart
            .draw_series(LineSeries::new(
                d.minutes
                    .iter()
                    .copied()
                    .zip(d.realised.iter().copied())
                    .filter(|(_, y)| y.is_finite()),
                BLACK.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label("realised")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)
}

fn draw_bars<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    bars: &[(String, f64)],
) -> Result<()> {
    root.fill(&WHITE).map_err(plot_err)?;
    let max = bars
        .iter()
        .map(|b| b.1)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let n = bars.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(70)
        .build_cartesian_2d((0..n).into_segmented(), 0.0..max * 1.1)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n.max(1))
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.0.clone()).unwrap_or_default(),
            _ => String::new(),
        })
        .x_desc("scoring interval")
        .y_desc("mean CRPS")
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
            let v = if v.is_finite() { *v } else { 0.0 };
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 0.0),
                    (SegmentValue::Exact(i + 1), v),
                ],
                RGBColor(66, 146, 198).filled(),
            );
            r.set_margin(0, 0, 6, 6);
            r
        }))
        .map_err(plot_err)?;
    root.present().map_err(plot_err)
}

/// Writes the fan chart as `<stem>.png` and `<stem>.svg`.
pub fn write_fan_chart(data: &FanData, stem: &Path) -> Result<Vec<PathBuf>> {
    if data.minutes.len() != data.quantiles.len() || data.minutes.len() < 2 {
        return Err(ResearchError::invalid(
            "fan chart needs at least 2 points with quantiles",
        ));
    }
    write_both(
        stem,
        |root| draw_fan(root, data),
        |root| draw_fan(root, data),
    )
}

/// Writes a CRPS-by-interval bar chart as `<stem>.png` and `<stem>.svg`; intervals are shown
/// shortest first.
pub fn write_crps_chart(
    title: &str,
    per_interval: &BTreeMap<String, f64>,
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    if per_interval.is_empty() {
        return Err(ResearchError::invalid("CRPS chart: no intervals"));
    }
    let mut bars: Vec<(String, f64)> = per_interval.iter().map(|(k, v)| (k.clone(), *v)).collect();
    bars.sort_by_key(|(k, _)| interval_sort_key(k));
    write_both(
        stem,
        |root| draw_bars(root, title, &bars),
        |root| draw_bars(root, title, &bars),
    )
}

/// Sort key of an SN50 interval name like `5min`, `3hour`, `24hour_abs`, `60min_gaps`:
/// shortest first, `_abs`/`_gaps` variants right after their plain interval.
pub fn interval_sort_key(name: &str) -> u64 {
    interval_seconds(name).unwrap_or(u64::MAX)
}

fn interval_seconds(name: &str) -> Option<u64> {
    let head = name.split('_').next()?;
    let digits: String = head.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: u64 = digits.parse().ok()?;
    let unit = &head[digits.len()..];
    let base = match unit {
        "min" => 60,
        "hour" => 3600,
        "sec" | "s" => 1,
        _ => return None,
    };
    // Keep `_abs`/`_gaps` variants right after their plain interval.
    Some(n * base * 4 + u64::from(name.contains("_abs")) + 2 * u64::from(name.contains("_gaps")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fan_quantiles_from_paths() {
        let rows: Vec<Vec<f64>> = (0..101).map(|i| vec![100.0, 100.0 + i as f64]).collect();
        let ps = PathSet::from_rows(&rows).unwrap();
        let d = FanData::from_paths("t", &ps, 5.0, &[100.0, 150.0, 999.0]);
        assert_eq!(d.minutes, vec![0.0, 5.0]);
        assert_eq!(d.quantiles[0], [100.0; 5]);
        assert_eq!(d.quantiles[1], [105.0, 125.0, 150.0, 175.0, 195.0]);
        assert_eq!(d.realised, vec![100.0, 150.0]);
    }

    #[test]
    fn interval_order() {
        let mut v = vec![
            "24hour_abs",
            "5min",
            "3hour",
            "30min",
            "24hour",
            "5min_gaps",
        ];
        v.sort_by_key(|k| interval_seconds(k).unwrap());
        assert_eq!(
            v,
            [
                "5min",
                "5min_gaps",
                "30min",
                "3hour",
                "24hour",
                "24hour_abs"
            ]
        );
    }

    #[test]
    fn writes_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<Vec<f64>> = (0..50)
            .map(|i| {
                (0..13)
                    .map(|t| 100.0 + (i as f64 - 25.0) * t as f64 * 0.1)
                    .collect()
            })
            .collect();
        let ps = PathSet::from_rows(&rows).unwrap();
        let d = FanData::from_paths(
            "BTC 1h",
            &ps,
            5.0,
            &(0..13).map(|t| 100.0 + t as f64 * 0.2).collect::<Vec<_>>(),
        );
        let files = write_fan_chart(&d, &dir.path().join("plots/fan")).unwrap();
        let png = std::fs::read(&files[0]).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(png.len() > 5_000, "png too small: {}", png.len());
        let svg = std::fs::read_to_string(&files[1]).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("realised") && svg.contains("BTC 1h"));
        let per: BTreeMap<String, f64> = [
            ("5min".to_string(), 1.5),
            ("24hour_abs".to_string(), 7.0),
            ("30min".to_string(), 3.0),
        ]
        .into();
        let files = write_crps_chart("CRPS", &per, &dir.path().join("crps")).unwrap();
        let svg = std::fs::read_to_string(&files[1]).unwrap();
        assert!(svg.contains("24hour_abs") && svg.contains("30min"));
        assert!(std::fs::read(&files[0]).unwrap().starts_with(b"\x89PNG"));
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n.to_string_lossy().contains("tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
