//! The response body written straight from a [`PathSet`]: each price rounded exactly as
//! [`sn50::round_price`] does (8 significant digits where the validator's digit rule allows,
//! fewer below 1, integral values as JSON integers), without going through `sn50`'s
//! `SimulationOutput` and string round trips.
//!
//! The fast path covers prices in `[1e-4, 1e8)` with integer arithmetic; anything else, and
//! the rare value within 1e-6 of a rounding tie, takes `sn50::round_price` itself, so the bytes
//! are the same as `serde_json` writing `sn50::format_paths`' output (checked by tests over
//! millions of random prices).

use sn50::{round_price, FormatError, PathSet, Price, SimulationInput};

const POW10: [f64; 8] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7];
const POW10_U: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];

/// Appends the decimal digits of `v`.
fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends a signed integer.
fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Why a price could not be written (mapped to [`FormatError`] with its position).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    NonFinite,
    Zero,
    TooLarge,
}

/// The slow path: `sn50::round_price`, written as `serde_json` writes a [`Price`].
fn push_slow(out: &mut Vec<u8>, x: f64) -> Result<(), Fault> {
    if !x.is_finite() {
        return Err(Fault::NonFinite);
    }
    let p = round_price(x).ok_or(Fault::TooLarge)?;
    if p.value() == 0.0 {
        return Err(Fault::Zero);
    }
    match p {
        Price::Int(i) => push_i64(out, i),
        Price::Float(f) => out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes()),
    }
    Ok(())
}

/// Appends one price in the validator's accepted form.
fn push_price(out: &mut Vec<u8>, x: f64) -> Result<(), Fault> {
    if !(1e-4..1e8).contains(&x) {
        return push_slow(out, x);
    }
    // Digits after the point: 8 significant digits for x >= 1 (`d.ddddddd` … `dddddddd`),
    // 7 decimals below 1 (the leading `0` counts as a digit).
    let decimals = if x < 1.0 {
        7
    } else {
        // x in [1, 1e8): integer digits 1..=8.
        let int_digits = POW10.iter().take_while(|p| x >= **p).count();
        8 - int_digits
    };
    let scaled = x * POW10[decimals];
    let frac = scaled - scaled.floor();
    // Near a tie the float product may round the wrong way: let the exact decimal path decide.
    if (frac - 0.5).abs() < 1e-6 {
        return push_slow(out, x);
    }
    let m = scaled.round() as u64;
    if m == 0 {
        return Err(Fault::Zero);
    }
    let unit = POW10_U[decimals];
    let (int, mut rest) = (m / unit, m % unit);
    if int >= 100_000_000 {
        return Err(Fault::TooLarge);
    }
    push_u64(out, int);
    if rest != 0 {
        // Drop trailing zeros, then write the remaining fraction zero-padded.
        let mut width = decimals;
        while rest % 10 == 0 {
            rest /= 10;
            width -= 1;
        }
        out.push(b'.');
        let mut buf = [b'0'; 8];
        let mut i = width;
        while rest > 0 {
            i -= 1;
            buf[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        out.extend_from_slice(&buf[..width]);
    }
    Ok(())
}

/// Appends `x` as the validator's accepted JSON number (public for tests and benches).
pub fn write_price(out: &mut Vec<u8>, x: f64) -> Result<(), FormatError> {
    push_price(out, x).map_err(|f| fault(f, 0, 0, x))
}

fn fault(f: Fault, path: usize, point: usize, value: f64) -> FormatError {
    match f {
        Fault::NonFinite => FormatError::NonFinite { path, point, value },
        Fault::Zero => FormatError::Zero { path, point, value },
        Fault::TooLarge => FormatError::TooLarge { path, point, value },
    }
}

/// Appends `[start_unix, time_increment, [path 1], …]`.
pub fn write_output(
    out: &mut Vec<u8>,
    paths: &PathSet,
    start_unix: i64,
    time_increment: i64,
) -> Result<(), FormatError> {
    out.reserve(paths.n_paths() * paths.n_points() * 11 + 32);
    out.push(b'[');
    push_i64(out, start_unix);
    out.push(b',');
    push_i64(out, time_increment);
    for (i, path) in paths.paths().enumerate() {
        out.extend_from_slice(b",[");
        for (t, &x) in path.iter().enumerate() {
            if t > 0 {
                out.push(b',');
            }
            push_price(out, x).map_err(|f| fault(f, i, t, x))?;
        }
        out.push(b']');
    }
    out.push(b']');
    Ok(())
}

/// The whole response body: `{"simulation_input":…,"simulation_output":[…]}`, byte for byte
/// what `serde_json` writes for `sn50::SimulationResponse` over `sn50::format_paths`.
pub fn response_body(
    input: &SimulationInput,
    paths: &PathSet,
    start_unix: i64,
    time_increment: i64,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(paths.n_paths() * paths.n_points() * 11 + 256);
    out.extend_from_slice(b"{\"simulation_input\":");
    serde_json::to_writer(&mut out, input).map_err(|e| e.to_string())?;
    out.extend_from_slice(b",\"simulation_output\":");
    write_output(&mut out, paths, start_unix, time_increment).map_err(|e| e.to_string())?;
    out.push(b'}');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    fn fast(x: f64) -> Result<String, Fault> {
        let mut out = Vec::new();
        push_price(&mut out, x)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn reference(x: f64) -> Option<String> {
        let p = round_price(x)?;
        (p.value() != 0.0).then(|| serde_json::to_string(&p).unwrap())
    }

    #[test]
    fn known_values() {
        assert_eq!(fast(104856.23).unwrap(), "104856.23");
        assert_eq!(fast(104856.0).unwrap(), "104856");
        assert_eq!(fast(123456.789).unwrap(), "123456.79");
        assert_eq!(fast(12345678.4).unwrap(), "12345678");
        assert_eq!(fast(0.51234567).unwrap(), "0.5123457");
        assert_eq!(fast(0.000123456789).unwrap(), "0.0001235");
        assert_eq!(fast(9.99999999).unwrap(), "10");
        assert_eq!(fast(0.99999999).unwrap(), "1");
        assert_eq!(fast(1e-5).unwrap(), "0.00001");
        assert_eq!(fast(99999999.7), Err(Fault::TooLarge));
        assert_eq!(fast(f64::NAN), Err(Fault::NonFinite));
        assert_eq!(fast(0.0), Err(Fault::Zero));
        // Tiny prices keep their digits, as `sn50::round_price` does (written by ryu).
        assert_eq!(fast(1e-12).unwrap(), "1e-12");
    }

    /// Byte-identical to `serde_json` over `sn50::round_price` for random prices of every
    /// magnitude an SN50 asset can have (and some it cannot), and for values at exact ties.
    #[test]
    fn same_bytes_as_sn50_over_random_prices() {
        let mut rng = StdRng::seed_from_u64(50);
        for k in 0..400_000 {
            let x = match k % 4 {
                // Log-uniform over 1e-6 .. 1e8.
                0 | 1 => 10f64.powf(rng.random_range(-6.0..8.0)),
                // Realistic asset prices with 2..10 decimals.
                2 => {
                    let base = [0.51, 2.1, 25.0, 190.0, 3_456.7, 104_856.0][k % 6];
                    base * rng.random_range(0.5..1.5)
                }
                // Decimal ties and near-ties (x.5 at the 9th digit).
                _ => {
                    let d = rng.random_range(0..8);
                    let m: u64 = rng.random_range(10_000_000..100_000_000);
                    (m as f64 + 0.5) / POW10[d] / 10.0
                }
            };
            assert_eq!(fast(x).ok(), reference(x), "x = {x:e}");
        }
    }

    #[test]
    fn body_matches_serde_over_sn50_format_and_validates() {
        let input: SimulationInput = serde_json::from_str(
            r#"{"asset":"BTC","start_time":"2026-05-14T14:06:00+00:00","time_increment":300,"time_length":600,"num_simulations":2}"#,
        )
        .unwrap();
        let ps = PathSet::from_rows(&[
            vec![104_856.23, 104_900.123456, 104_000.0],
            vec![104_856.23, 0.5123456789, 3_456_789.123],
        ])
        .unwrap();
        let start = input.start_unix().unwrap();
        let fast = response_body(&input, &ps, start, 300).unwrap();
        let out = sn50::format_paths(&ps, start, 300).unwrap();
        let slow = serde_json::to_vec(&sn50::SimulationResponse {
            simulation_input: &input,
            simulation_output: &out,
        })
        .unwrap();
        assert_eq!(
            String::from_utf8(fast).unwrap(),
            String::from_utf8(slow).unwrap()
        );
        let bad = PathSet::from_rows(&[vec![1.0, 0.0]]).unwrap();
        let err = response_body(&input, &bad, start, 300).unwrap_err();
        assert!(err.contains("path 0, point 1"), "{err}");
    }
}
