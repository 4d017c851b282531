//! The validator's response check (`response_validation_v2.validate_responses`): the same rules,
//! in the same order, with the same error strings.

use serde_json::Value;

use crate::pyrepr::{digit_count, py_float_str, MAX_PRICE_DIGITS};
use crate::simulation::expected_points;

/// What the validator stores for an accepted response.
pub const CORRECT: &str = "CORRECT";

/// What the response is checked against (from the prompt's `simulation_input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expected {
    /// `int(fromisoformat(start_time).timestamp())`.
    pub start_unix: i64,
    /// Seconds between points.
    pub time_increment: i64,
    /// Horizon in seconds.
    pub time_length: i64,
    /// Paths asked for.
    pub num_simulations: usize,
}

/// A rejected response; `Display` is the validator's exact message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

/// Python's `str(type(v))` for a value parsed from JSON.
fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

/// Python `isinstance(v, int)` (a `bool` is an `int` in Python).
fn is_py_int(v: &Value) -> bool {
    matches!(v, Value::Bool(_)) || matches!(v, Value::Number(n) if !n.is_f64())
}

/// Python `str(v)` of an int-like value.
fn py_int_str(v: &Value) -> String {
    match v {
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

/// Whether an int-like JSON value equals `want` (Python `==` between ints; `True == 1`).
fn py_int_eq(v: &Value, want: i64) -> bool {
    match v {
        Value::Bool(b) => i64::from(*b) == want,
        Value::Number(n) => n.as_i64() == Some(want),
        _ => false,
    }
}

/// Python `str()` of a price, or `None` if it is not an `int`/`float`.
fn py_price_str(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) if n.is_f64() => n.as_f64().map(py_float_str),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(_) => Some(py_int_str(v)),
        _ => None,
    }
}

/// Validates a `simulation_output` as the validator does. `response` is `None` (or JSON `null`)
/// when the miner sent none; `process_time` is `None` when the call timed out or failed.
/// `Ok(())` stands for [`CORRECT`].
pub fn validate_response(
    response: Option<&Value>,
    expected: &Expected,
    process_time: Option<f64>,
) -> Result<(), ValidationError> {
    let err = |s: String| Err(ValidationError(s));
    if process_time.is_none() {
        return err("time out or internal server error (process time is None)".into());
    }
    let items = match response {
        None | Some(Value::Null) => return err("Response is empty".into()),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return err(format!(
                "Response format is incorrect: expected tuple or list, got {}",
                py_type(other)
            ))
        }
    };
    if items.is_empty() {
        return err("Response is empty".into());
    }
    if !is_py_int(&items[0]) {
        return err(format!(
            "Start time format is incorrect: expected int, got {}",
            py_type(&items[0])
        ));
    }
    // `response[1]` on a one-element list raises IndexError inside the validator.
    let Some(inc) = items.get(1) else {
        return err("error during validation".into());
    };
    if !is_py_int(inc) {
        return err(format!(
            "Time increment format is incorrect: expected int, got {}",
            py_type(inc)
        ));
    }
    if !py_int_eq(&items[0], expected.start_unix) {
        return err(format!(
            "Start time timestamp is incorrect: expected {}, got {}",
            expected.start_unix,
            py_int_str(&items[0])
        ));
    }
    if !py_int_eq(inc, expected.time_increment) {
        return err(format!(
            "Time increment is incorrect: expected {}, got {}",
            expected.time_increment,
            py_int_str(inc)
        ));
    }
    let paths = &items[2..];
    if paths.len() != expected.num_simulations {
        return err(format!(
            "Number of paths is incorrect: expected {}, got {}",
            expected.num_simulations,
            paths.len()
        ));
    }
    // A zero increment raises ZeroDivisionError in the validator.
    let Some(points) = expected_points(expected.time_length, expected.time_increment) else {
        return err("error during validation".into());
    };
    for path in paths {
        let Value::Array(prices) = path else {
            return err(format!(
                "Path format is incorrect: expected list, got {}",
                py_type(path)
            ));
        };
        if prices.len() != points {
            return err(format!(
                "Number of time points is incorrect: expected {points}, got {}",
                prices.len()
            ));
        }
        for p in prices {
            let Some(s) = py_price_str(p) else {
                return err(format!(
                    "Price format is incorrect: expected int or float, got {}",
                    py_type(p)
                ));
            };
            if digit_count(&s) > MAX_PRICE_DIGITS {
                return err(format!("Price format is incorrect: too many digits {s}"));
            }
        }
    }
    Ok(())
}

/// Like [`validate_response`] but returns the string the validator stores (`"CORRECT"` or the error).
pub fn validation_message(
    response: Option<&Value>,
    expected: &Expected,
    process_time: Option<f64>,
) -> String {
    match validate_response(response, expected, process_time) {
        Ok(()) => CORRECT.to_string(),
        Err(e) => e.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const START: i64 = 1672531200;

    fn rep(v: Value, n: usize) -> Value {
        Value::Array(vec![v; n])
    }

    fn exp(n: usize, len: i64) -> Expected {
        Expected {
            start_unix: START,
            time_increment: 1,
            time_length: len,
            num_simulations: n,
        }
    }

    fn check(v: Value, e: Expected) -> String {
        validation_message(Some(&v), &e, Some(1.0))
    }

    #[test]
    fn repository_vectors() {
        let e = exp(1, 10);
        assert_eq!(
            validation_message(Some(&json!([])), &e, None),
            "time out or internal server error (process time is None)"
        );
        assert_eq!(check(json!([]), e), "Response is empty");
        assert_eq!(validation_message(None, &e, Some(1.0)), "Response is empty");
        assert_eq!(
            check(
                json!({"time": START, "increment": 1, "paths": [rep(json!(123.45), 11)]}),
                e
            ),
            "Response format is incorrect: expected tuple or list, got <class 'dict'>"
        );
        assert_eq!(
            check(json!([START, 1]), exp(2, 10)),
            "Number of paths is incorrect: expected 2, got 0"
        );
        assert_eq!(
            check(json!([START, 1, [123.45]]), exp(2, 10)),
            "Number of paths is incorrect: expected 2, got 1"
        );
        assert_eq!(
            check(
                json!([START, 1, {"price": 123.45}, {"price": 123.45}]),
                exp(2, 1)
            ),
            "Path format is incorrect: expected list, got <class 'dict'>"
        );
        assert_eq!(
            check(json!([START, 1, [123.45]]), e),
            "Number of time points is incorrect: expected 11, got 1"
        );
        assert_eq!(
            check(
                json!(["2023-01-01T00:00:00+00:00", 1, rep(json!(123.45), 11)]),
                e
            ),
            "Start time format is incorrect: expected int, got <class 'str'>"
        );
        assert_eq!(
            check(json!([1672531200.0, 1, rep(json!(123.45), 11)]), e),
            "Start time format is incorrect: expected int, got <class 'float'>"
        );
        assert_eq!(
            check(json!([START + 1, 1, rep(json!(123.45), 11)]), e),
            "Start time timestamp is incorrect: expected 1672531200, got 1672531201"
        );
        assert_eq!(
            check(json!([START, "", rep(json!(123.45), 11)]), e),
            "Time increment format is incorrect: expected int, got <class 'str'>"
        );
        assert_eq!(
            check(json!([START, 2, rep(json!(123.45), 11)]), e),
            "Time increment is incorrect: expected 1, got 2"
        );
        assert_eq!(
            check(json!([START, 1, rep(json!("123.45"), 11)]), e),
            "Price format is incorrect: expected int or float, got <class 'str'>"
        );
        assert_eq!(
            check(json!([START, 1, rep(json!(123.456789), 11)]), e),
            "Price format is incorrect: too many digits 123.456789"
        );
        assert_eq!(
            check(json!([START, 1, rep(json!(123.45678), 4)]), exp(1, 3)),
            "CORRECT"
        );
    }

    #[test]
    fn digit_rule_on_ints_and_floats() {
        let e = exp(1, 0);
        let one = |v: Value| check(json!([START, 1, [v]]), e);
        assert_eq!(one(serde_json::from_str("12345678").unwrap()), "CORRECT");
        assert_eq!(
            one(serde_json::from_str("12345678.0").unwrap()),
            "Price format is incorrect: too many digits 12345678.0"
        );
        assert_eq!(
            one(json!(0.51234567)),
            "Price format is incorrect: too many digits 0.51234567"
        );
        assert_eq!(one(json!(2.1234567)), "CORRECT");
        assert_eq!(one(serde_json::from_str("1e-5").unwrap()), "CORRECT");
        assert_eq!(
            one(json!(0.00012345679)),
            "Price format is incorrect: too many digits 0.00012345679"
        );
        assert_eq!(
            one(json!(null)),
            "Price format is incorrect: expected int or float, got <class 'NoneType'>"
        );
    }

    #[test]
    fn one_element_list_is_an_internal_error() {
        assert_eq!(check(json!([START]), exp(1, 10)), "error during validation");
        assert_eq!(
            check(
                json!([START, 1, [1.5]]),
                Expected {
                    time_increment: 0,
                    ..exp(1, 10)
                }
            ),
            "Time increment is incorrect: expected 0, got 1"
        );
    }
}
