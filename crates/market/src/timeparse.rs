//! Parsing of timestamps as found in exchange exports: unix seconds, milliseconds, microseconds
//! or nanoseconds (told apart by magnitude), or ISO 8601 / RFC 3339 text (naive times are UTC).

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// Parses one timestamp to unix seconds (UTC). Fractions of a second are floored.
///
/// Numbers: below 1e11 are seconds, below 1e14 milliseconds, below 1e17 microseconds
/// (Binance spot dumps since 2025), else nanoseconds.
pub fn parse_timestamp(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty timestamp".into());
    }
    if let Ok(n) = s.parse::<i64>() {
        return Ok(from_number(n));
    }
    if s.bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'e' || b == b'E')
    {
        if let Ok(x) = s.parse::<f64>() {
            if x.is_finite() && x.abs() < 9.0e18 {
                return Ok(from_number(x.floor() as i64));
            }
        }
    }
    parse_iso(s).ok_or_else(|| format!("unrecognised timestamp {s:?}"))
}

fn from_number(n: i64) -> i64 {
    let a = n.unsigned_abs();
    if a < 100_000_000_000 {
        n
    } else if a < 100_000_000_000_000 {
        n.div_euclid(1_000)
    } else if a < 100_000_000_000_000_000 {
        n.div_euclid(1_000_000)
    } else {
        n.div_euclid(1_000_000_000)
    }
}

/// ISO 8601 / RFC 3339 text to unix seconds; times without an offset are taken as UTC.
pub fn parse_iso(s: &str) -> Option<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.timestamp());
        }
    }
    let naive = s.strip_suffix('Z').unwrap_or(s);
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y.%m.%d %H:%M:%S",
        "%Y.%m.%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(naive, f) {
            return Some(t.and_utc().timestamp());
        }
    }
    NaiveDate::parse_from_str(naive, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
}

/// Unix seconds as `YYYY-MM-DD HH:MM` UTC (seconds shown only when not zero).
pub fn format_utc(ts: i64) -> String {
    match DateTime::from_timestamp(ts, 0) {
        Some(t) if ts % 60 == 0 => t.format("%Y-%m-%d %H:%M").to_string(),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => ts.to_string(),
    }
}

/// A resolution such as `1m`, `5m`, `1h`, `300s` or `300` (seconds) to seconds.
pub fn parse_resolution(s: &str) -> Result<u32, String> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = match s.as_bytes().last() {
        Some(b'm') => (&s[..s.len() - 1], 60),
        Some(b'h') => (&s[..s.len() - 1], 3600),
        Some(b's') => (&s[..s.len() - 1], 1),
        _ => (s.as_str(), 1),
    };
    match num.parse::<u32>().ok().and_then(|n| n.checked_mul(mult)) {
        Some(v) if v > 0 => Ok(v),
        _ => Err(format!("bad resolution {s:?} (use e.g. 1m, 5m, 1h)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_told_apart_by_magnitude() {
        assert_eq!(parse_timestamp("1704067200"), Ok(1_704_067_200));
        assert_eq!(parse_timestamp("1704067200000"), Ok(1_704_067_200));
        assert_eq!(parse_timestamp("1704067200000000"), Ok(1_704_067_200));
        assert_eq!(parse_timestamp("1704067200000000000"), Ok(1_704_067_200));
        assert_eq!(parse_timestamp("1704067200.0"), Ok(1_704_067_200));
        assert_eq!(parse_timestamp("1704067259999"), Ok(1_704_067_259));
    }

    #[test]
    fn iso_forms_parse_as_utc() {
        for s in [
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00+00:00",
            "2024-01-01 00:00:00",
            "2024-01-01 00:00:00+00:00",
            "2024-01-01T01:00:00+01:00",
            "2024-01-01 00:00",
            "2024-01-01T00:00:00.000Z",
            "2024.01.01 00:00",
            "2024-01-01",
        ] {
            assert_eq!(parse_timestamp(s), Ok(1_704_067_200), "{s}");
        }
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("").is_err());
        assert_eq!(format_utc(1_704_067_200), "2024-01-01 00:00");
        assert_eq!(format_utc(1_704_067_201), "2024-01-01 00:00:01");
    }

    #[test]
    fn resolutions() {
        assert_eq!(parse_resolution("1m"), Ok(60));
        assert_eq!(parse_resolution("5M"), Ok(300));
        assert_eq!(parse_resolution("1h"), Ok(3600));
        assert_eq!(parse_resolution("300"), Ok(300));
        assert!(parse_resolution("0m").is_err());
        assert!(parse_resolution("fast").is_err());
    }
}
