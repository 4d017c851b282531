//! Value parsers shared by every command: an argument is checked once, at the edge, by clap
//! (a refused value exits with code 2 before anything runs).

use std::time::Duration;

/// An asset that synth-city knows: an SN50 asset, a data-file alias (`SPY`), one added through
/// `$SYNTH_CITY_PYTH_SYMBOLS`, or one with real data in the cache. Upper-cased.
pub fn asset(s: &str) -> Result<String, String> {
    market::assets::parse_asset(s).map_err(|e| e.to_string())
}

/// A well-formed asset name that may be new (`data import`, remote bridge calls). Upper-cased.
pub fn asset_name(s: &str) -> Result<String, String> {
    market::assets::check_asset_syntax(s).map_err(|e| e.to_string())
}

/// A timeframe, `5m` or `1m` ([`sn50::Timeframe`]); `--help` lists the values.
pub fn timeframe() -> impl clap::builder::TypedValueParser<Value = sn50::Timeframe> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(sn50::Timeframe::ALL.map(sn50::Timeframe::as_str))
        .try_map(|s| s.parse::<sn50::Timeframe>())
}

/// The competitions to cover: `low`, `high` ([`sn50::Competition`], also `24h` / `1h`) or
/// `both`.
pub fn competitions(s: &str) -> Result<&'static [sn50::Competition], String> {
    let all = &sn50::Competition::ALL;
    if s.trim().eq_ignore_ascii_case("both") {
        return Ok(all);
    }
    let c: sn50::Competition = s.parse().map_err(|e| format!("{e}, both"))?;
    Ok(std::slice::from_ref(&all[c as usize]))
}

/// The timeframes to cover: `5m`, `1m` or `both`.
pub fn timeframes(s: &str) -> Result<&'static [sn50::Timeframe], String> {
    let all = &sn50::Timeframe::ALL;
    if s.trim().eq_ignore_ascii_case("both") {
        return Ok(all);
    }
    let t: sn50::Timeframe = s.parse().map_err(|e| format!("{e}, both"))?;
    Ok(std::slice::from_ref(&all[t as usize]))
}

/// A block name of the registry, or its Python alias (`LSTMBlock` → `lstm`).
pub fn block(s: &str) -> Result<String, String> {
    models::aliases::canonical_block(s).map(str::to_string)
}

/// A head name of the registry, or its Python alias (`GBMHead` → `gbm`).
pub fn head(s: &str) -> Result<String, String> {
    models::aliases::canonical_head(s).map(str::to_string)
}

/// Longest wall-clock budget or wait accepted from the command line: 7 days.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 86_400);

/// A positive number of minutes, at most [`MAX_DURATION`].
pub fn minutes(s: &str) -> Result<Duration, String> {
    let m: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of minutes"))?;
    let max_min = MAX_DURATION.as_secs() / 60;
    if !(m.is_finite() && m > 0.0 && m <= max_min as f64) {
        return Err(format!(
            "{s:?}: minutes must be above 0 and at most {max_min} (7 days)"
        ));
    }
    Duration::try_from_secs_f64(m * 60.0).map_err(|e| format!("{s:?}: {e}"))
}

/// A whole number at least 1 (folds, prompts, experiments).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{s:?}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeframes_and_competitions_parse_through_sn50() {
        use clap::builder::TypedValueParser;
        let cmd = clap::Command::new("t");
        let p = timeframe();
        let tf = p.parse_ref(&cmd, None, std::ffi::OsStr::new("1m")).unwrap();
        assert_eq!(tf, sn50::Timeframe::High1m);
        assert!(p.parse_ref(&cmd, None, std::ffi::OsStr::new("2m")).is_err());
        use sn50::Competition::{High, Low};
        assert_eq!(competitions("both").unwrap(), &[Low, High]);
        assert_eq!(competitions("HIGH").unwrap(), &[High]);
        assert_eq!(competitions("low").unwrap(), &[Low]);
        use sn50::Timeframe::{High1m, Low5m};
        assert_eq!(timeframes("both").unwrap(), &[Low5m, High1m]);
        assert_eq!(timeframes("5m").unwrap(), &[Low5m]);
        assert!(timeframes("5min")
            .unwrap_err()
            .ends_with("valid: 5m, 1m, both"));
        let e = competitions("mid").unwrap_err();
        assert!(e.ends_with("valid: low, high, both"), "{e}");
    }

    #[test]
    fn minutes_are_bounded() {
        assert_eq!(minutes("1.5").unwrap(), Duration::from_secs(90));
        assert_eq!(minutes("10080").unwrap(), MAX_DURATION);
        for bad in ["0", "-1", "1e300", "inf", "NaN", "10081", "x"] {
            assert!(minutes(bad).is_err(), "{bad}");
        }
    }
}
