//! `GET /models`: the models Chutes serves, read tolerantly (numbers may come as strings,
//! fields come and go).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{DEFAULT_URL, KEY_ENV, SERVICE, URL_ENV};
use crate::http::{Auth, HttpSettings};
use crate::{env, HttpClient, ServiceError, ServiceResult};

/// Price of a model, USD per 1M tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    /// Input (prompt) tokens.
    #[serde(default, deserialize_with = "number")]
    pub prompt: Option<f64>,
    /// Output (completion) tokens.
    #[serde(default, deserialize_with = "number")]
    pub completion: Option<f64>,
}

/// One model Chutes serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChutesModel {
    /// The id to put in `model` (and in `LLM_MODEL`).
    pub id: String,
    /// Display name, when given.
    #[serde(default)]
    pub name: Option<String>,
    /// Context window in tokens.
    #[serde(default, deserialize_with = "integer")]
    pub context_length: Option<u64>,
    /// Longest answer in tokens.
    #[serde(default, deserialize_with = "integer")]
    pub max_output_length: Option<u64>,
    /// Features such as `reasoning`, `tools`, `json_mode`.
    #[serde(default, deserialize_with = "strings")]
    pub supported_features: Vec<String>,
    /// Input kinds such as `text`, `image`.
    #[serde(default, deserialize_with = "strings")]
    pub input_modalities: Vec<String>,
    /// Price, when published.
    #[serde(default)]
    pub pricing: Option<Pricing>,
}

impl ChutesModel {
    /// Whether the model lists `feature` (case-insensitive).
    pub fn has(&self, feature: &str) -> bool {
        self.supported_features
            .iter()
            .any(|f| f.eq_ignore_ascii_case(feature))
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite() && *x >= 0.0)
}

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(as_f64(&Value::deserialize(d)?))
}

fn integer<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(as_f64(&Value::deserialize(d)?)
        .filter(|x| *x <= u64::MAX as f64)
        .map(|x| x as u64))
}

fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    })
}

#[derive(Deserialize)]
struct ModelList {
    #[serde(default)]
    data: Vec<Value>,
}

/// A Chutes client (model discovery; chat completions go through the agents' LLM client).
#[derive(Debug, Clone)]
pub struct Chutes {
    http: HttpClient,
    anonymous: Option<HttpClient>,
}

impl Chutes {
    /// The client configured by the environment: `CHUTES_BASE_URL` (default the service's)
    /// and `CHUTES_API_KEY` when set (listing models needs no key).
    pub fn from_env() -> ServiceResult<Self> {
        let key = env::secret(SERVICE, KEY_ENV).ok();
        Self::new(
            env::base_url(URL_ENV, DEFAULT_URL),
            key,
            HttpSettings::default(),
        )
    }

    /// A client for `base_url` (the `/v1` base), with `key` sent as a Bearer token when given.
    pub fn new(
        base_url: impl Into<String>,
        key: Option<crate::Secret>,
        settings: HttpSettings,
    ) -> ServiceResult<Self> {
        let base_url = base_url.into();
        let anonymous = HttpClient::new(SERVICE, &base_url, Auth::None, settings.clone())?;
        Ok(match key {
            Some(k) => Self {
                http: HttpClient::new(SERVICE, base_url, Auth::Bearer(k), settings)?,
                anonymous: Some(anonymous),
            },
            None => Self {
                http: anonymous,
                anonymous: None,
            },
        })
    }

    /// The models served, sorted by id. A key the listing refuses (401/403) is retried once
    /// without it, since the listing is public; entries without an id are skipped.
    pub async fn models(&self) -> ServiceResult<Vec<ChutesModel>> {
        let list: ModelList = match self.http.get_json("/models", &[]).await {
            Err(ServiceError::Auth { .. }) if self.anonymous.is_some() => {
                let anon = self.anonymous.as_ref().unwrap_or(&self.http);
                anon.get_json("/models", &[]).await?
            }
            r => r?,
        };
        let mut out: Vec<ChutesModel> = list
            .data
            .into_iter()
            .filter_map(|v| serde_json::from_value::<ChutesModel>(v).ok())
            .filter(|m| !m.id.trim().is_empty())
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out.dedup_by(|a, b| a.id == b.id);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tolerant_fields() {
        let m: ChutesModel = serde_json::from_value(json!({
            "id": "a/b-TEE", "context_length": "131072", "max_output_length": 8192.0,
            "supported_features": ["Tools", 3, "reasoning"], "input_modalities": "text",
            "pricing": {"prompt": "0.3", "completion": -1, "input_cache_read": 0.1},
            "extra": {"x": 1}
        }))
        .unwrap();
        assert_eq!(m.context_length, Some(131_072));
        assert_eq!(m.max_output_length, Some(8192));
        assert!(m.has("tools") && m.has("reasoning") && !m.has("json_mode"));
        assert!(m.input_modalities.is_empty());
        assert_eq!(m.pricing.unwrap().prompt, Some(0.3));
        assert_eq!(m.pricing.unwrap().completion, None);
    }
}
