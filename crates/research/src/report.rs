//! Plots of a stored run: the fan chart (from its `fan.json` artifact) and the CRPS-by-interval
//! chart of each asset, as PNG and SVG.

use std::path::{Path, PathBuf};

use crate::plot::{write_crps_chart, write_fan_chart, FanData};
use crate::record::RunRecord;
use crate::store::Archive;
use crate::Result;

/// Artifact name of the fan-chart data (quantile bands + realised path).
pub const FAN_ARTIFACT: &str = "fan.json";

/// Renders every plot of `rec` into `dir`: `fan.{png,svg}` when `fan` is given, and
/// `crps-<asset>-<tf>.{png,svg}` per scored asset. Returns (file name, path) pairs.
pub fn render_plots(
    rec: &RunRecord,
    fan: Option<&FanData>,
    dir: &Path,
) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    if let Some(f) = fan {
        out.extend(write_fan_chart(f, &dir.join("fan"))?);
    }
    for s in rec.scores.iter().filter(|s| !s.per_interval.is_empty()) {
        let stem = format!("crps-{}-{}", s.asset.to_lowercase(), s.timeframe);
        let title = format!(
            "{} {} {} — CRPS by interval (total {:.2})",
            rec.name, s.asset, s.timeframe, s.crps
        );
        out.extend(write_crps_chart(&title, &s.per_interval, &dir.join(stem))?);
    }
    Ok(out
        .into_iter()
        .map(|p| {
            (
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                p,
            )
        })
        .collect())
}

/// The plot files of a run: its stored plot artifacts, or else plots rendered now from its
/// record (and `fan.json`, if stored) into `<data dir>/plots/<run id>/`.
pub fn plots_for(archive: &Archive, rec: &RunRecord) -> Result<Vec<PathBuf>> {
    let stored: Vec<PathBuf> = rec
        .artifacts
        .iter()
        .filter(|a| a.name.ends_with(".png") || a.name.ends_with(".svg"))
        .map(|a| archive.artifact_path(a))
        .filter(|p| p.exists())
        .collect();
    if !stored.is_empty() {
        return Ok(stored);
    }
    let fan: Option<FanData> = rec
        .artifacts
        .iter()
        .find(|a| a.name == FAN_ARTIFACT)
        .and_then(|a| archive.local.read(&a.key).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let dir = archive.plots_dir().join(&rec.run_id);
    Ok(render_plots(rec, fan.as_ref(), &dir)?
        .into_iter()
        .map(|(_, p)| p)
        .collect())
}
