//! What counts as a secret in an OpenClaw config and workspace, and how it is kept off the
//! remote: secret-named keys and secret-looking values are removed from the config before a
//! push (and put back from the local config on restore); any workspace file that contains one
//! of those values, or the value of a secret-named environment variable, is not uploaded.

use serde_json::{Map, Value};

/// Shortest value searched for in workspace files (shorter ones would match by chance).
pub const MIN_SECRET_LEN: usize = 8;

/// Prefixes of the vendors' key formats (OpenAI/Anthropic `sk-`, Hippius `hip_`, Moltbook,
/// Basilica, Chutes `cpk_`, Hugging Face `hf_`, ClawHub `clh_`, the bridge's `sck_`, GitHub,
/// Slack, AWS).
pub const SECRET_PREFIXES: &[&str] = &[
    "sk-",
    "sk_",
    "hip_",
    "moltbook_",
    "basilica_",
    "cpk_",
    "hf_",
    "clh_",
    "sck_",
    "ghp_",
    "github_pat_",
    "xoxb-",
    "xoxp-",
    "AKIA",
    "Bearer ",
];

/// Name endings (lower case, `-`/`_` removed) of keys and variables that hold credentials.
const SECRET_NAME_ENDINGS: &[&str] = &[
    "key",
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "credential",
    "credentials",
    "cookie",
    "authorization",
    "mnemonic",
    "seed",
];

/// Whether a config key or environment variable name says it holds a credential (`apiKey`,
/// `gateway.auth.token`, `HIPPIUS_SECRET_KEY`, `botToken`, `password`, …).
pub fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_NAME_ENDINGS.iter().any(|e| n.ends_with(e))
}

/// Whether a string value looks like a credential whatever its key (a known key prefix, or a
/// JSON web token).
pub fn is_secret_value(s: &str) -> bool {
    let s = s.trim();
    SECRET_PREFIXES
        .iter()
        .any(|p| s.len() > p.len() + 4 && s.starts_with(p))
        || (s.starts_with("eyJ") && s.matches('.').count() == 2 && s.len() > 40)
}

/// Removes every secret from `config` (secret-named keys, whatever their value; string values
/// that look like credentials). Returns the JSON pointers removed and the string values
/// removed (for [`contains_any`]); nothing else of the config changes.
pub fn strip(config: &mut Value) -> (Vec<String>, Vec<String>) {
    let mut pointers = Vec::new();
    let mut values = Vec::new();
    strip_at(config, String::new(), &mut pointers, &mut values);
    (pointers, values)
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

fn strip_at(v: &mut Value, at: String, pointers: &mut Vec<String>, values: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            for k in keys {
                let path = format!("{at}/{}", escape(&k));
                let secret = is_secret_name(&k)
                    || o.get(&k)
                        .and_then(Value::as_str)
                        .is_some_and(is_secret_value);
                if secret {
                    if let Some(old) = o.remove(&k) {
                        collect_strings(&old, values);
                    }
                    pointers.push(path);
                } else if let Some(child) = o.get_mut(&k) {
                    strip_at(child, path, pointers, values);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                if x.as_str().is_some_and(is_secret_value) {
                    if let Some(s) = x.as_str() {
                        values.push(s.to_string());
                    }
                    *x = Value::String(String::new());
                    pointers.push(format!("{at}/{i}"));
                } else {
                    strip_at(x, format!("{at}/{i}"), pointers, values);
                }
            }
        }
        _ => {}
    }
}

/// Puts the secrets of `local` (the config on this machine) back into `restored` (a config
/// restored from a snapshot, which has none): every secret-named key of `local` missing from
/// `restored` is copied, creating the objects on its way.
pub fn merge_back(restored: &mut Value, local: &Value) {
    let (Value::Object(r), Value::Object(l)) = (restored, local) else {
        return;
    };
    merge_objects(r, l);
}

fn merge_objects(r: &mut Map<String, Value>, l: &Map<String, Value>) {
    for (k, lv) in l {
        if is_secret_name(k) || lv.as_str().is_some_and(is_secret_value) {
            r.entry(k.clone()).or_insert_with(|| lv.clone());
        } else if let Value::Object(lo) = lv {
            if has_secret(lv) {
                let rv = r
                    .entry(k.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(ro) = rv {
                    merge_objects(ro, lo);
                }
            }
        }
    }
}

fn has_secret(v: &Value) -> bool {
    match v {
        Value::Object(o) => o.iter().any(|(k, x)| {
            is_secret_name(k) || x.as_str().is_some_and(is_secret_value) || has_secret(x)
        }),
        Value::Array(a) => a.iter().any(has_secret),
        Value::String(s) => is_secret_value(s),
        _ => false,
    }
}

/// Values of the environment's secret-named variables (at least [`MIN_SECRET_LEN`] long).
pub fn env_secrets() -> Vec<String> {
    std::env::vars()
        .filter(|(k, v)| is_secret_name(k) && v.trim().len() >= MIN_SECRET_LEN)
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

/// Credential values in a config that could not be parsed (JSON5, comments): every word that
/// follows a secret-named key (`token: 'abc…'`, `"apiKey" = "…"`), at least [`MIN_SECRET_LEN`]
/// long. A heuristic for scanning only: such a config is never uploaded.
pub fn values_in_text(text: &str) -> Vec<String> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || "\"'=:,;`()[]{}<>".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| is_secret_name(w[0]) && w[1].len() >= MIN_SECRET_LEN)
        .map(|w| w[1].to_string())
        .collect()
}

/// Whether `bytes` contains any of `secrets` (those shorter than [`MIN_SECRET_LEN`] ignored), or
/// a line that assigns a credential-looking value.
pub fn contains_any(bytes: &[u8], secrets: &[String]) -> bool {
    let hit = secrets
        .iter()
        .filter(|s| s.len() >= MIN_SECRET_LEN)
        .any(|s| find(bytes, s.as_bytes()));
    hit || String::from_utf8_lossy(bytes)
        .split(|c: char| c.is_whitespace() || "\"'=:,;`()[]{}<>".contains(c))
        .any(is_secret_value)
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_values() {
        for n in [
            "apiKey",
            "api_key",
            "token",
            "botToken",
            "HIPPIUS_SECRET_KEY",
            "password",
            "SYNTH_BRIDGE_KEY",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in ["model", "workspace", "enabled", "url", "env", "primaryEnv"] {
            assert!(!is_secret_name(n), "{n}");
        }
        assert!(is_secret_value("moltbook_sk_abcdef123"));
        assert!(is_secret_value("sk-ant-abcdef123456"));
        assert!(!is_secret_value("sk-"));
        assert!(!is_secret_value("hello world"));
    }

    #[test]
    fn strip_removes_secrets_and_merge_puts_them_back() {
        let local = json!({
            "agents": {"defaults": {"workspace": "~/ws", "model": "chutes/kimi"}},
            "gateway": {"auth": {"token": "gw-token-123456"}, "port": 18789},
            "skills": {"entries": {"synth-city": {"apiKey": "sck_abcdefgh1234", "env": {"SYNTH_BRIDGE_URL": "http://x", "OTHER": "hip_abcdefgh1234"}}}},
            "channels": [{"name": "tg", "botToken": "123:abc"}, "sk-proj-abcdefgh"]
        });
        let mut c = local.clone();
        let (pointers, values) = strip(&mut c);
        let text = c.to_string();
        for s in [
            "gw-token-123456",
            "sck_abcdefgh1234",
            "hip_abcdefgh1234",
            "123:abc",
            "sk-proj-abcdefgh",
        ] {
            assert!(!text.contains(s), "{s} left in {text}");
            assert!(values.iter().any(|v| v == s), "{s} not reported");
        }
        assert!(pointers.contains(&"/gateway/auth/token".to_string()));
        assert_eq!(c["agents"]["defaults"]["model"], "chutes/kimi");
        assert_eq!(
            c["skills"]["entries"]["synth-city"]["env"]["SYNTH_BRIDGE_URL"],
            "http://x"
        );
        let mut restored = c.clone();
        merge_back(&mut restored, &local);
        assert_eq!(restored["gateway"]["auth"]["token"], "gw-token-123456");
        assert_eq!(
            restored["skills"]["entries"]["synth-city"]["apiKey"],
            "sck_abcdefgh1234"
        );
        assert_eq!(
            restored["skills"]["entries"]["synth-city"]["env"]["OTHER"],
            "hip_abcdefgh1234"
        );
    }

    #[test]
    fn file_scan_finds_known_values_and_key_shapes() {
        let secrets = vec!["s3cr3t-value-xyz".to_string(), "short".to_string()];
        assert!(contains_any(b"note: s3cr3t-value-xyz here", &secrets));
        assert!(!contains_any(b"a short note", &secrets));
        assert!(contains_any(b"export KEY=\"moltbook_abcdefgh\"", &[]));
        assert!(!contains_any(b"plain memory about BTC volatility", &[]));
        let v = values_in_text(
            "{ // json5\n gateway: { auth: { token: 'gw-123456789' } }, port: 18789 }",
        );
        assert_eq!(v, ["gw-123456789"]);
    }
}
