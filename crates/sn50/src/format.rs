//! Turns model output into a `simulation_output` every validator accepts.

use crate::paths::PathSet;
use crate::simulation::{Price, SimulationOutput};

/// A price that cannot be sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatError {
    /// NaN or infinite: JSON cannot carry it and the validator cannot score it.
    #[error("path {path}, point {point}: price {value} is not finite")]
    NonFinite {
        path: usize,
        point: usize,
        value: f64,
    },
    /// Zero (or it rounds to zero): any zero price scores the whole submission -1.
    #[error("path {path}, point {point}: price {value} is zero (would score -1)")]
    Zero {
        path: usize,
        point: usize,
        value: f64,
    },
    /// |x| >= 1e8 cannot be written in 8 characters.
    #[error("path {path}, point {point}: price {value} cannot be written in 8 digits")]
    TooLarge {
        path: usize,
        point: usize,
        value: f64,
    },
}

/// Rounds `x` to `digits` significant digits (correctly rounded decimal, then parsed back).
fn round_sig(x: f64, digits: usize) -> f64 {
    format!("{:.*e}", digits - 1, x).parse().unwrap_or(x)
}

/// The closest value to `x` that passes the digit rule: 8 significant digits where that fits
/// (fewer for |x| < 1, where the leading `0` counts), integral values as JSON integers.
/// `None` if `x` is not finite or |x| >= 1e8.
pub fn round_price(x: f64) -> Option<Price> {
    if !x.is_finite() {
        return None;
    }
    (1..=8).rev().find_map(|d| {
        let v = round_sig(x, d);
        let p = if v.fract() == 0.0 && v.abs() < 1e15 {
            Price::Int(v as i64)
        } else {
            Price::Float(v)
        };
        p.passes_digit_rule().then_some(p)
    })
}

/// Formats a [`PathSet`] as the `simulation_output` for a prompt starting at `start_unix`.
pub fn format_paths(
    paths: &PathSet,
    start_unix: i64,
    time_increment: i64,
) -> Result<SimulationOutput, FormatError> {
    let mut out = Vec::with_capacity(paths.n_paths());
    for (i, path) in paths.paths().enumerate() {
        let mut row = Vec::with_capacity(path.len());
        for (t, &x) in path.iter().enumerate() {
            let (path, point, value) = (i, t, x);
            if !x.is_finite() {
                return Err(FormatError::NonFinite { path, point, value });
            }
            let p = round_price(x).ok_or(FormatError::TooLarge { path, point, value })?;
            if p.value() == 0.0 {
                return Err(FormatError::Zero { path, point, value });
            }
            row.push(p);
        }
        out.push(row);
    }
    Ok(SimulationOutput {
        start_unix,
        time_increment,
        paths: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_to_passing_prices() {
        assert_eq!(round_price(123456.789), Some(Price::Float(123456.79)));
        assert_eq!(round_price(123.0), Some(Price::Int(123)));
        assert_eq!(round_price(12345678.4), Some(Price::Int(12345678)));
        assert_eq!(round_price(0.51234567), Some(Price::Float(0.5123457)));
        assert_eq!(round_price(0.000123456789), Some(Price::Float(0.0001235)));
        assert_eq!(round_price(1e-5), Some(Price::Float(1e-5)));
        assert_eq!(round_price(104856.0), Some(Price::Int(104856)));
        assert_eq!(round_price(99999999.7), None);
        assert_eq!(round_price(f64::NAN), None);
    }

    #[test]
    fn formats_a_pathset() {
        let ps = PathSet::from_rows(&[vec![100000.123456, 2.123456789], vec![0.5, 7.0]]).unwrap();
        let out = format_paths(&ps, 1672531200, 300).unwrap();
        let json = serde_json::to_string(&out).unwrap();
        assert_eq!(json, "[1672531200,300,[100000.12,2.1234568],[0.5,7]]");
        let bad = PathSet::from_rows(&[vec![1.0, 0.0]]).unwrap();
        assert!(matches!(
            format_paths(&bad, 0, 1),
            Err(FormatError::Zero { point: 1, .. })
        ));
    }
}
