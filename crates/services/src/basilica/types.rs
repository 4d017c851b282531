//! Basilica's wire types (camelCase for deployments, snake_case for offers), tolerant of added
//! fields and of decimals sent as strings.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// A number that may arrive as a JSON number or a decimal string (`"0.44"`).
fn num_or_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum N {
        F(f64),
        S(String),
        Null(()),
    }
    Ok(match Option::<N>::deserialize(d)? {
        Some(N::F(f)) => Some(f),
        Some(N::S(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A secure-cloud GPU offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuOffering {
    /// Offer id.
    pub id: String,
    /// Provider (datacrunch, hyperstack, …).
    #[serde(default)]
    pub provider: String,
    /// GPU type (`H100`, `RTX-A6000`, …).
    #[serde(default)]
    pub gpu_type: String,
    /// GPUs in the offer.
    #[serde(default = "one")]
    pub gpu_count: u32,
    /// Memory per GPU.
    #[serde(default)]
    pub gpu_memory_gb_per_gpu: Option<u32>,
    /// USD per GPU-hour.
    #[serde(default, deserialize_with = "num_or_str")]
    pub hourly_rate_per_gpu: Option<f64>,
    /// Region.
    #[serde(default)]
    pub region: Option<String>,
    /// Spot (may be pre-empted).
    #[serde(default)]
    pub is_spot: bool,
}

fn one() -> u32 {
    1
}

impl GpuOffering {
    /// USD per hour for the whole offer (rate × GPUs), when priced.
    pub fn hourly_rate(&self) -> Option<f64> {
        self.hourly_rate_per_gpu
            .filter(|r| r.is_finite() && *r >= 0.0)
            .map(|r| r * f64::from(self.gpu_count.max(1)))
    }
}

/// Which offers may be rented.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfferFilter {
    /// Highest USD per hour (all GPUs); `None`: no cap.
    pub max_hourly_rate: Option<f64>,
    /// Allowed GPU types, case-insensitive substrings; empty: any.
    pub allowed_gpu_types: Vec<String>,
}

impl OfferFilter {
    /// From `BASILICA_MAX_HOURLY_RATE` and `BASILICA_ALLOWED_GPU_TYPES` (a bad rate is an
    /// error naming the variable).
    pub fn from_env() -> Result<Self, crate::ServiceError> {
        let max_hourly_rate = match std::env::var(super::MAX_RATE_ENV) {
            Ok(v) if !v.trim().is_empty() => Some(
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .ok_or_else(|| {
                        crate::ServiceError::Invalid(format!(
                            "{}: {v:?} is not a positive USD amount",
                            super::MAX_RATE_ENV
                        ))
                    })?,
            ),
            _ => None,
        };
        let allowed_gpu_types = std::env::var(super::GPU_TYPES_ENV)
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_ascii_uppercase())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Self {
            max_hourly_rate,
            allowed_gpu_types,
        })
    }

    /// True when `o` is priced, within the cap and of an allowed type.
    pub fn allows(&self, o: &GpuOffering) -> bool {
        let Some(rate) = o.hourly_rate() else {
            return false;
        };
        let typ = o.gpu_type.to_ascii_uppercase();
        self.max_hourly_rate.is_none_or(|m| rate <= m)
            && (self.allowed_gpu_types.is_empty()
                || self
                    .allowed_gpu_types
                    .iter()
                    .any(|a| typ.contains(a.as_str())))
    }
}

/// GPUs a deployment asks for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuRequest {
    /// How many.
    pub count: u32,
    /// Acceptable models.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model: Vec<String>,
    /// Memory floor per GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_gpu_memory_gb: Option<u32>,
}

/// Resources of a deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    /// CPU (`"4"`, `"2000m"`).
    pub cpu: String,
    /// Memory (`"16Gi"`).
    pub memory: String,
    /// GPUs (none for a CPU deployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpus: Option<GpuRequest>,
}

/// `POST /deployments`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRequest {
    /// Unique instance name.
    pub instance_name: String,
    /// Container image.
    pub image: String,
    /// Replicas (1).
    pub replicas: u32,
    /// Container port exposed.
    pub port: u16,
    /// Entry command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Its arguments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment (secrets in it never print: see the `Debug` of [`super::Basilica`] calls).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Resources.
    pub resources: Resources,
    /// Server-side lease timeout: Basilica ends the deployment after this many seconds.
    pub ttl_seconds: u64,
    /// Reachable from outside (the worker checks its token on every call).
    pub public: bool,
    /// Labels (owner host, process, run).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub public_metadata: BTreeMap<String, String>,
}

/// Desired and ready replicas.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Replicas {
    /// Desired.
    #[serde(default)]
    pub desired: u32,
    /// Ready.
    #[serde(default)]
    pub ready: u32,
}

/// A deployment as Basilica reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Instance name.
    pub instance_name: String,
    /// `Active`, `Running`, `Failed`, `Terminating`, …
    #[serde(default)]
    pub state: String,
    /// `pending` … `ready`, `failed`, `terminating`.
    #[serde(default)]
    pub phase: Option<String>,
    /// Public URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Replicas.
    #[serde(default)]
    pub replicas: Replicas,
    /// Status message.
    #[serde(default)]
    pub message: Option<String>,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Labels as sent.
    #[serde(default)]
    pub public_metadata: BTreeMap<String, String>,
}

impl Deployment {
    /// Ready: state Active/Running and every desired replica ready (the SDK's rule).
    pub fn is_ready(&self) -> bool {
        let s = self.state.to_ascii_lowercase();
        (s == "active" || s == "running") && self.replicas.ready >= self.replicas.desired.max(1)
    }

    /// Failed for good (failed state or phase, or a pod error that will not clear).
    pub fn is_failed(&self) -> bool {
        let s = self.state.to_ascii_lowercase();
        let p = self.phase.as_deref().unwrap_or("").to_ascii_lowercase();
        let m = self.message.as_deref().unwrap_or("").to_ascii_lowercase();
        s == "failed"
            || p == "failed"
            || [
                "imagepullbackoff",
                "errimagepull",
                "crashloopbackoff",
                "oomkilled",
                "createcontainererror",
            ]
            .iter()
            .any(|e| m.contains(e))
    }

    /// The value of label `key`.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.public_metadata.get(key).map(String::as_str)
    }
}
