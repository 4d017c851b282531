//! Argument coercion, a deliberate compatibility layer: models often send numbers, booleans and JSON as strings, or structured JSON where a
//! JSON-encoded string was declared.

use serde_json::{Map, Value};

/// Coerces each argument whose key the schema's `properties` declares:
/// - `array` from a string: `""` → `[]`, else parsed JSON, else `[value]`;
/// - `boolean` from a string: `true`/`1`/`yes` (any case) → true, anything else → false;
/// - `integer` / `number` from a string: parsed, left unchanged when that fails;
///   an integral float such as `3.0` becomes the integer 3;
/// - `string` from a list or object: JSON-encoded;
/// - `object` (or undeclared type) from a string starting with `{` or `[`: parsed when possible.
///
/// Keys not in the schema pass through unchanged.
pub fn coerce_args(args: Map<String, Value>, schema: &Value) -> Map<String, Value> {
    let props = schema.get("properties").and_then(Value::as_object);
    args.into_iter()
        .map(|(k, v)| {
            let ty = props
                .and_then(|p| p.get(&k))
                .and_then(|p| p.get("type"))
                .and_then(Value::as_str);
            let v = coerce_value(v, ty);
            (k, v)
        })
        .collect()
}

fn coerce_value(v: Value, ty: Option<&str>) -> Value {
    match (ty, v) {
        (Some("array"), Value::String(s)) => {
            let t = s.trim();
            if t.is_empty() {
                Value::Array(Vec::new())
            } else {
                match crate::json::parse_lenient::<Value>(t) {
                    Ok(a @ Value::Array(_)) => a,
                    _ => Value::Array(vec![Value::String(s)]),
                }
            }
        }
        (Some("boolean"), Value::String(s)) => Value::Bool(matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes"
        )),
        (Some("integer"), Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(i) => Value::from(i),
            Err(_) => match s.trim().parse::<f64>() {
                Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
                _ => Value::String(s),
            },
        },
        (Some("integer"), Value::Number(n)) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Value::from(f as i64)
            }
            _ => Value::Number(n),
        },
        (Some("number"), Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Value::from(f),
            _ => Value::String(s),
        },
        (Some("string"), v @ (Value::Array(_) | Value::Object(_))) => Value::String(v.to_string()),
        (Some("string"), v) => v,
        (_, Value::String(s)) if s.trim_start().starts_with(['{', '[']) => {
            crate::json::parse_lenient::<Value>(&s).unwrap_or(Value::String(s))
        }
        (_, v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn coerce(args: Value, schema: Value) -> Value {
        Value::Object(coerce_args(args.as_object().unwrap().clone(), &schema))
    }

    #[test]
    fn follows_the_python_rules() {
        let schema = json!({"type":"object","properties":{
            "blocks":{"type":"array"}, "empty":{"type":"array"}, "bare":{"type":"array"},
            "flag":{"type":"boolean"}, "no":{"type":"boolean"},
            "n":{"type":"integer"}, "bad_n":{"type":"integer"}, "nf":{"type":"integer"},
            "lr":{"type":"number"}, "enc":{"type":"string"}, "obj":{"type":"object"}}});
        let out = coerce(
            json!({"blocks":"[\"LSTM\",\"GRU\"]","empty":"","bare":"LSTM","flag":"YES","no":"nope",
                   "n":"32","bad_n":"many","nf":"64.0","lr":"1e-3","enc":{"a":1},"obj":"{\"b\":2}",
                   "extra":"[1]","plain":"text"}),
            schema,
        );
        assert_eq!(out["blocks"], json!(["LSTM", "GRU"]));
        assert_eq!(out["empty"], json!([]));
        assert_eq!(out["bare"], json!(["LSTM"]));
        assert_eq!(out["flag"], json!(true));
        assert_eq!(out["no"], json!(false));
        assert_eq!(out["n"], json!(32));
        assert_eq!(out["bad_n"], json!("many"));
        assert_eq!(out["nf"], json!(64));
        assert_eq!(out["lr"], json!(0.001));
        assert_eq!(out["enc"], json!("{\"a\":1}"));
        assert_eq!(out["obj"], json!({"b": 2}));
        // Keys outside the schema: JSON-looking strings are parsed, others untouched.
        assert_eq!(out["extra"], json!([1]));
        assert_eq!(out["plain"], json!("text"));
    }
}
