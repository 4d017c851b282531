//! JSON helpers tolerant of what LLMs and Python producers emit: `NaN` / `Infinity` tokens,
//! code fences around an object, and prose around a single JSON value.

use serde::de::DeserializeOwned;

/// Parses `text` as JSON; on failure retries with non-finite tokens replaced by `null`, then
/// with code fences stripped, then on the outermost `{...}` / `[...]` span.
pub fn parse_lenient<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    let first = serde_json::from_str::<T>(text);
    let Err(err) = first else { return first };
    let cleaned = replace_non_finite(text);
    if let Ok(v) = serde_json::from_str::<T>(&cleaned) {
        return Ok(v);
    }
    let unfenced = strip_fences(&cleaned);
    if let Ok(v) = serde_json::from_str::<T>(unfenced) {
        return Ok(v);
    }
    if let Some(span) = outer_span(unfenced) {
        if let Ok(v) = serde_json::from_str::<T>(span) {
            return Ok(v);
        }
    }
    Err(err)
}

fn replace_non_finite(s: &str) -> String {
    // Only outside strings: walk the text and track whether we are inside a string literal.
    let mut out = String::with_capacity(s.len());
    let mut in_str = false;
    let mut escaped = false;
    let mut i = 0;
    let b = s.as_bytes();
    while i < s.len() {
        let c = b[i] as char;
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        let rest = &s[i..];
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        if let Some(t) = token {
            out.push_str("null");
            i += t.len();
            continue;
        }
        let ch = rest.chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn strip_fences(s: &str) -> &str {
    let t = s.trim();
    if let Some(body) = t.strip_prefix("```") {
        let body = body.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
        return body.trim_end().trim_end_matches("```").trim();
    }
    t
}

fn outer_span(s: &str) -> Option<&str> {
    let start = s.find(['{', '['])?;
    let close = if s.as_bytes()[start] == b'{' {
        '}'
    } else {
        ']'
    };
    let end = s.rfind(close)?;
    (end > start).then(|| &s[start..=end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn tolerates_python_json_and_fences() {
        let v: Value = parse_lenient(r#"{"crps": Infinity, "x": NaN, "s": "NaN stays"}"#).unwrap();
        assert_eq!(v, json!({"crps": null, "x": null, "s": "NaN stays"}));
        let v: Value = parse_lenient("```json\n{\"a\": 1}\n```").unwrap();
        assert_eq!(v, json!({"a": 1}));
        let v: Value = parse_lenient("Here it is: {\"a\": [1,2]} done").unwrap();
        assert_eq!(v, json!({"a": [1, 2]}));
        assert!(parse_lenient::<Value>("no json here").is_err());
    }
}
