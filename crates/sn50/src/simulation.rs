//! The request (`simulation_input`) and response (`simulation_output`) of an SN50 prompt.

use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};

/// What a validator asks for (`synth/simulation_input.py`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulationInput {
    /// Asset symbol, e.g. `"BTC"`.
    pub asset: String,
    /// ISO-8601 start time, e.g. `"2026-05-14T14:07:00+00:00"`.
    pub start_time: String,
    /// Seconds between path points.
    pub time_increment: i64,
    /// Horizon in seconds.
    pub time_length: i64,
    /// Number of paths asked for.
    pub num_simulations: usize,
}

impl SimulationInput {
    /// `int(datetime.fromisoformat(start_time).timestamp())`, a naive time taken as UTC.
    pub fn start_unix(&self) -> Result<i64, TimeError> {
        parse_iso_unix(&self.start_time)
    }

    /// Points per path: `time_length // time_increment + 1`; `None` for a non-positive increment.
    pub fn points(&self) -> Option<usize> {
        expected_points(self.time_length, self.time_increment)
    }
}

/// `time_length // time_increment + 1` (Python floor division); `None` unless both are sane.
pub fn expected_points(time_length: i64, time_increment: i64) -> Option<usize> {
    if time_increment <= 0 || time_length < 0 {
        return None;
    }
    usize::try_from((time_length / time_increment).checked_add(1)?).ok()
}

/// An ISO-8601 time that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ISO-8601 time {0:?} (expected e.g. 2026-05-14T14:07:00+00:00)")]
pub struct TimeError(pub String);

/// Unix seconds of an ISO-8601 time like Python's `fromisoformat(...).timestamp()`: an offset
/// (`+00:00`, `Z`) is honoured, a naive time is UTC, fractional seconds are truncated.
pub fn parse_iso_unix(s: &str) -> Result<i64, TimeError> {
    let t = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%:z"] {
        if let Ok(dt) = chrono::DateTime::parse_from_str(t, fmt) {
            return Ok(dt.timestamp());
        }
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(dt.and_utc().timestamp());
        }
    }
    Err(TimeError(s.to_string()))
}

/// One submitted price: a JSON integer or a JSON float (the validator's digit rule tells them
/// apart: `12345678` passes, `12345678.0` does not).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Price {
    /// Sent as a JSON integer.
    Int(i64),
    /// Sent as a JSON number with a fraction or exponent.
    Float(f64),
}

impl Price {
    /// The value as f64 (what `np.array(...).astype(float)` makes of it).
    pub fn value(self) -> f64 {
        match self {
            Price::Int(i) => i as f64,
            Price::Float(f) => f,
        }
    }

    /// Python's `str()` of the value as the validator parses it.
    pub fn py_str(self) -> String {
        match self {
            Price::Int(i) => i.to_string(),
            Price::Float(f) => crate::pyrepr::py_float_str(f),
        }
    }

    /// Whether the validator's digit rule accepts it.
    pub fn passes_digit_rule(self) -> bool {
        crate::pyrepr::digit_count(&self.py_str()) <= crate::pyrepr::MAX_PRICE_DIGITS
    }
}

impl Serialize for Price {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Price::Int(i) => s.serialize_i64(i),
            Price::Float(f) => s.serialize_f64(f),
        }
    }
}

/// A miner's answer: `[start_unix, time_increment, path_1, …, path_N]` on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationOutput {
    /// Unix seconds of the first point.
    pub start_unix: i64,
    /// Seconds between points.
    pub time_increment: i64,
    /// The paths, start price first.
    pub paths: Vec<Vec<Price>>,
}

impl Serialize for SimulationOutput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.paths.len() + 2))?;
        seq.serialize_element(&self.start_unix)?;
        seq.serialize_element(&self.time_increment)?;
        for p in &self.paths {
            seq.serialize_element(p)?;
        }
        seq.end()
    }
}

/// The JSON body a miner returns: `{"simulation_input": …, "simulation_output": […]}`.
#[derive(Debug, Clone, Serialize)]
pub struct SimulationResponse<'a> {
    /// Echo of the request (the validator requires the key; `{}` would do).
    pub simulation_input: &'a SimulationInput,
    /// The paths.
    pub simulation_output: &'a SimulationOutput,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_like_python() {
        assert_eq!(parse_iso_unix("2024-11-25T16:20:00").unwrap(), 1732551600);
        assert_eq!(
            parse_iso_unix("2025-08-05T14:56:00+00:00").unwrap(),
            1754405760
        );
        assert_eq!(
            parse_iso_unix("2023-01-01T00:00:00+00:00").unwrap(),
            1672531200
        );
        assert_eq!(parse_iso_unix("2023-01-01T00:00:00Z").unwrap(), 1672531200);
        assert_eq!(
            parse_iso_unix("2023-01-01T02:00:00+02:00").unwrap(),
            1672531200
        );
        assert_eq!(parse_iso_unix("2024-11-19T23:00:00").unwrap(), 1732057200);
        assert!(parse_iso_unix("yesterday").is_err());
    }

    #[test]
    fn output_serialises_as_flat_array() {
        let out = SimulationOutput {
            start_unix: 1672531200,
            time_increment: 300,
            paths: vec![vec![
                Price::Int(12345678),
                Price::Float(104856.23),
                Price::Float(1e-5),
            ]],
        };
        let s = serde_json::to_string(&out).unwrap();
        // serde_json writes 1e-5 as 0.00001: Python reads the same float back.
        assert_eq!(s, "[1672531200,300,[12345678,104856.23,0.00001]]");
    }

    #[test]
    fn points() {
        assert_eq!(expected_points(86_400, 300), Some(289));
        assert_eq!(expected_points(3600, 60), Some(61));
        assert_eq!(expected_points(10, 1), Some(11));
        assert_eq!(expected_points(10, 0), None);
        // No overflow (a panic under overflow checks): `i64::MAX / 1 + 1` is no point count.
        assert_eq!(expected_points(i64::MAX, 1), None);
        assert_eq!(expected_points(i64::MAX, i64::MAX), Some(2));
        let input = SimulationInput {
            asset: "BTC".into(),
            start_time: "2023-01-01T00:00:00+00:00".into(),
            time_increment: 300,
            time_length: 86_400,
            num_simulations: 1000,
        };
        assert_eq!(input.points(), Some(289));
        assert_eq!(input.start_unix().unwrap(), 1672531200);
    }
}
