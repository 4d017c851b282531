//! Where tensors live: `--device cpu | cuda[:N] | auto`.
//!
//! The fused CPU ops (`nn::softmax`, `nn::lstm_scan`, `nn::sdpa`, …) run on the CPU only; on
//! any other device every layer takes its composed candle graph twin (the reference the fused
//! op is tested against), so every block and head trains and samples wherever candle runs.

use std::fmt;
use std::str::FromStr;

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// A device choice, as given on the command line or in a worker's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The CPU.
    Cpu,
    /// CUDA GPU number N (needs the `cuda` feature and the GPU).
    Cuda(usize),
    /// CUDA GPU 0 when the `cuda` feature is built and a GPU is present, else the CPU.
    #[default]
    Auto,
}

impl DeviceChoice {
    /// The candle device. `cuda` on a build without the `cuda` feature, or without the GPU,
    /// is an error that says so; `auto` never fails.
    pub fn resolve(self) -> Result<Device, ModelError> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda(n) => cuda(n),
            DeviceChoice::Auto => Ok(cuda(0).unwrap_or(Device::Cpu)),
        }
    }

    /// The device this choice resolves to, named (`cpu`, `cuda:0`), for records and health
    /// answers.
    pub fn resolved_name(self) -> String {
        match self.resolve() {
            Ok(d) => name(&d),
            Err(_) => self.to_string(),
        }
    }
}

/// `cpu` or `cuda:N` for a candle device.
pub fn name(d: &Device) -> String {
    match d.location() {
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

/// True when this build has the `cuda` feature and GPU 0 answers.
pub fn cuda_available() -> bool {
    cuda(0).is_ok()
}

#[cfg(feature = "cuda")]
fn cuda(n: usize) -> Result<Device, ModelError> {
    Device::new_cuda(n).map_err(|e| {
        ModelError::InvalidConfig(format!("--device cuda:{n}: no usable CUDA GPU {n}: {e}"))
    })
}

#[cfg(not(feature = "cuda"))]
fn cuda(n: usize) -> Result<Device, ModelError> {
    Err(ModelError::InvalidConfig(format!(
        "--device cuda:{n}: this synth-city was built without CUDA; rebuild with \
         `cargo build --release --features cuda` (needs the CUDA toolkit), or use --device cpu"
    )))
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
            DeviceChoice::Auto => f.write_str("auto"),
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "cpu" => Ok(DeviceChoice::Cpu),
            "auto" => Ok(DeviceChoice::Auto),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) if n < 64 => Ok(DeviceChoice::Cuda(n)),
                _ => Err(format!("{s:?}: expected cpu, cuda, cuda:N or auto")),
            },
        }
    }
}

impl Serialize for DeviceChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for (s, d) in [
            ("cpu", DeviceChoice::Cpu),
            ("CUDA", DeviceChoice::Cuda(0)),
            ("cuda:3", DeviceChoice::Cuda(3)),
            ("auto", DeviceChoice::Auto),
        ] {
            assert_eq!(s.parse::<DeviceChoice>().unwrap(), d);
        }
        assert_eq!(DeviceChoice::Cuda(2).to_string(), "cuda:2");
        for bad in ["", "tpu", "cuda:x", "cuda:-1", "cuda:999"] {
            assert!(bad.parse::<DeviceChoice>().is_err(), "{bad}");
        }
        let j = serde_json::to_string(&DeviceChoice::Cuda(1)).unwrap();
        assert_eq!(j, "\"cuda:1\"");
        assert_eq!(
            serde_json::from_str::<DeviceChoice>(&j).unwrap(),
            DeviceChoice::Cuda(1)
        );
    }

    #[test]
    fn cpu_and_auto_always_resolve() {
        assert!(DeviceChoice::Cpu.resolve().unwrap().is_cpu());
        let auto = DeviceChoice::Auto.resolve().unwrap();
        assert_eq!(auto.is_cpu(), !cuda_available());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_get_it() {
        let e = DeviceChoice::Cuda(0).resolve().unwrap_err().to_string();
        assert!(e.contains("--features cuda"), "{e}");
        assert_eq!(DeviceChoice::Auto.resolved_name(), "cpu");
    }
}
