//! Fan-chart data of a run, computed here from its stored held-out sample so the payload stays
//! small: the 5/25/50/75/95 % bands of the sampled paths per step, and the realised path.

use super::{api_err, run_view};
use crate::error::{ApiError, ApiResult};
use crate::types::{Bands, Fan};
use research::plot::{FanData, FAN_LEVELS};
use research::Archive;

/// `x` rounded to 8 significant digits (prices never need more; halves the payload); `None`
/// when not finite.
fn round_sig(x: f64) -> Option<f64> {
    if !x.is_finite() {
        return None;
    }
    if x == 0.0 {
        return Some(0.0);
    }
    let digits = 8 - 1 - x.abs().log10().floor() as i32;
    let p = 10f64.powi(digits.clamp(-300, 300));
    Some((x * p).round() / p)
}

fn column(values: impl Iterator<Item = f64>) -> Vec<Option<f64>> {
    values.map(round_sig).collect()
}

/// The fan of run `run_id` for `asset` (`None`: the run's only asset). Errors: 404 (no such
/// run, or it stored no sample: a failed run, or one made before samples were kept), 422 (a
/// multi-asset run without `asset`), 500 (a corrupted sample).
pub(super) fn fan(archive: &Archive, run_id: &str, asset: Option<&str>) -> ApiResult<Fan> {
    let rec = archive.registry.get_run(run_id).map_err(api_err)?;
    let asset = asset.map(str::to_ascii_uppercase);
    let s = research::load_sample(archive, &rec.run_id, asset.as_deref()).map_err(api_err)?;
    let broken = |what: &str| ApiError::failed(format!("stored sample of {}: {what}", rec.run_id));
    if s.paths.is_empty() {
        return Err(broken("no paths"));
    }
    let paths = sn50::PathSet::from_rows(&s.paths).map_err(|e| broken(&e.to_string()))?;
    let realised: Vec<f64> = s.realised.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    let d = FanData::from_paths(
        &rec.name,
        &paths,
        f64::from(s.time_increment) / 60.0,
        &realised,
    );
    let band = |i: usize| column(d.quantiles.iter().map(|q| q[i]));
    let r = run_view(&rec);
    Ok(Fan {
        run_id: rec.run_id.clone(),
        bot_id: r.bot_id,
        name: rec.name.clone(),
        model: r.model,
        crps: rec.crps,
        asset: s.asset,
        timeframe: r.timeframe,
        start_time: s.start_time,
        start_price: s.start_price,
        time_increment: s.time_increment,
        time_length: s.time_length,
        num_simulations: s.num_simulations,
        paths_used: paths.n_paths(),
        levels: FAN_LEVELS.to_vec(),
        minutes: d.minutes.clone(),
        bands: Bands {
            p5: band(0),
            p25: band(1),
            p50: band(2),
            p75: band(3),
            p95: band(4),
        },
        realised: column(d.realised.iter().copied()),
    })
}

#[cfg(test)]
mod tests {
    use super::round_sig;

    #[test]
    fn rounds_to_eight_significant_digits() {
        assert_eq!(round_sig(91_234.567_891_23), Some(91_234.568));
        assert_eq!(round_sig(0.000_123_456_789_1), Some(0.000_123_456_79));
        assert_eq!(round_sig(-2.5), Some(-2.5));
        assert_eq!(round_sig(0.0), Some(0.0));
        assert_eq!(round_sig(f64::NAN), None);
    }
}
