//! Credentials and endpoints from the environment, under the vendors' conventional names
//! (`HF_TOKEN`, `WANDB_API_KEY`, `BASILICA_API_TOKEN`, `DESEARCH_API_KEY`, …).

use crate::{Secret, ServiceError};

/// The credential in `var` for `service`, or [`ServiceError::NotConfigured`] naming the
/// variable to set. An empty or blank value counts as unset.
pub fn secret(service: &'static str, var: &'static str) -> Result<Secret, ServiceError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
        _ => Err(ServiceError::NotConfigured { service, var }),
    }
}

/// The first of `vars` that holds a credential (for services with more than one conventional
/// name, e.g. `MC_API` / `MACROCOSMOS_API_KEY`); the error names the first.
pub fn secret_any(service: &'static str, vars: &[&'static str]) -> Result<Secret, ServiceError> {
    for var in vars {
        if let Ok(s) = secret(service, var) {
            return Ok(s);
        }
    }
    Err(ServiceError::NotConfigured {
        service,
        var: vars.first().copied().unwrap_or("?"),
    })
}

/// `var` if set and not blank (trailing `/` removed), else `default`: a service's base URL,
/// overridable for self-hosted servers and for tests.
pub fn base_url(var: &str, default: &str) -> String {
    let v = std::env::var(var)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_string());
    v.trim().trim_end_matches('/').to_string()
}
