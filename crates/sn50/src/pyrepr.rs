//! Python's `str()` of numbers, as the validator's digit rule sees them.

/// Python's `repr`/`str` of a float: shortest round-trip digits, fixed notation when
/// `1e-4 <= |x| < 1e16` (always with `.0` when integral), scientific otherwise (`1e-05`, `1.5e+16`).
pub fn py_float_str(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Rust's `{:e}` prints the shortest round-trip digits as `d.ddde<exp>`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let n = digits.len() as i32;
    let body = if x == 0.0 {
        "0.0".to_string()
    } else if (-4..16).contains(&exp) {
        if exp >= 0 {
            if n <= exp + 1 {
                format!("{digits}{}.0", "0".repeat((exp + 1 - n) as usize))
            } else {
                let (int, frac) = digits.split_at((exp + 1) as usize);
                format!("{int}.{frac}")
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{first}{dot}e{esign}{:02}", exp.abs())
    };
    format!("{sign}{body}")
}

/// The validator's digit rule on a string: `len(s.replace(".", "")) <= 8`.
pub fn digit_count(s: &str) -> usize {
    s.chars().filter(|c| *c != '.').count()
}

/// Maximum number of characters a price may have once its `"."` is removed.
pub const MAX_PRICE_DIGITS: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        let cases: &[(f64, &str)] = &[
            (104856.23, "104856.23"),
            (104856.0, "104856.0"),
            (12345678.0, "12345678.0"),
            (0.51234567, "0.51234567"),
            (2.1234567, "2.1234567"),
            (123.456789, "123.456789"),
            (-123.45, "-123.45"),
            (99999.995, "99999.995"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.00012345679, "0.00012345679"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (f64::NAN, "nan"),
            (f64::NEG_INFINITY, "-inf"),
            (1.3031968695231796e90, "1.3031968695231796e+90"),
            (104856.2265625, "104856.2265625"),
            (5e-324, "5e-324"),
        ];
        for &(x, want) in cases {
            assert_eq!(py_float_str(x), want, "{x:e}");
        }
    }

    #[test]
    fn digit_rule_counts() {
        assert_eq!(digit_count("104856.23"), 8);
        assert_eq!(digit_count("12345678.0"), 9);
        assert_eq!(digit_count("1e-05"), 5);
        assert_eq!(digit_count("0.00012345679"), 12);
        assert_eq!(digit_count("-123.45"), 6);
    }
}
