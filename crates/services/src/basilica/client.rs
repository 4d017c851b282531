//! The Basilica client on the one HTTP core.

use reqwest::Method;
use serde::Deserialize;

use super::types::{Deployment, DeploymentRequest, GpuOffering, OfferFilter};
use super::{DEFAULT_URL, SERVICE, TOKEN_ENV, TOKEN_ENV_ALIAS, URL_ENV};
use crate::http::{Auth, HttpSettings};
use crate::{HttpClient, Retry, Secret, ServiceError, ServiceResult};

/// Cap on a logs answer.
const MAX_LOGS: usize = 4 << 20;

/// A Basilica client: offers and deployments.
#[derive(Debug, Clone)]
pub struct Basilica {
    http: HttpClient,
}

#[derive(Deserialize)]
struct Offers {
    #[serde(default)]
    nodes: Vec<GpuOffering>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum DeploymentList {
    Wrapped {
        #[serde(default)]
        deployments: Vec<Deployment>,
    },
    Bare(Vec<Deployment>),
}

impl Basilica {
    /// A client at `base_url` with `token`.
    pub fn new(base_url: &str, token: Secret, settings: HttpSettings) -> ServiceResult<Self> {
        Ok(Self {
            http: HttpClient::new(SERVICE, base_url, Auth::Bearer(token), settings)?,
        })
    }

    /// From `BASILICA_API_TOKEN` (or `BASILICA_API_KEY`) and `BASILICA_API_URL`; without a
    /// token, [`ServiceError::NotConfigured`] naming the variable.
    pub fn from_env() -> ServiceResult<Self> {
        let token = crate::env::secret_any(SERVICE, &[TOKEN_ENV, TOKEN_ENV_ALIAS])?;
        Self::new(
            &crate::env::base_url(URL_ENV, DEFAULT_URL),
            token,
            HttpSettings::default(),
        )
    }

    /// Available offers that `filter` allows, cheapest first.
    pub async fn offers(&self, filter: &OfferFilter) -> ServiceResult<Vec<GpuOffering>> {
        let o: Offers = self
            .http
            .get_json("/secure-cloud/gpu-prices", &[("available_only", "true")])
            .await?;
        let mut v: Vec<GpuOffering> = o.nodes.into_iter().filter(|o| filter.allows(o)).collect();
        v.sort_by(|a, b| {
            a.hourly_rate()
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.hourly_rate().unwrap_or(f64::INFINITY))
        });
        Ok(v)
    }

    /// Creates a deployment (sent once: never repeated after a timeout, so a lost answer is
    /// found by its labels instead of renting twice).
    pub async fn create(&self, req: &DeploymentRequest) -> ServiceResult<Deployment> {
        if req.ttl_seconds == 0 {
            return Err(ServiceError::Invalid(
                "a deployment needs a lease timeout (ttlSeconds > 0)".into(),
            ));
        }
        self.http
            .json(Method::POST, "/deployments", req, Retry::Once)
            .await
    }

    /// One deployment's status.
    pub async fn get(&self, name: &str) -> ServiceResult<Deployment> {
        self.http
            .get_json(&format!("/deployments/{}", path_seg(name)?), &[])
            .await
    }

    /// Every deployment of the account.
    pub async fn list(&self) -> ServiceResult<Vec<Deployment>> {
        let l: DeploymentList = self.http.get_json("/deployments", &[]).await?;
        Ok(match l {
            DeploymentList::Wrapped { deployments } => deployments,
            DeploymentList::Bare(v) => v,
        })
    }

    /// Deployments whose label `key` is `value`.
    pub async fn list_labelled(&self, key: &str, value: &str) -> ServiceResult<Vec<Deployment>> {
        Ok(self
            .list()
            .await?
            .into_iter()
            .filter(|d| d.label(key) == Some(value))
            .collect())
    }

    /// The last `tail` lines of the deployment's logs.
    pub async fn logs(&self, name: &str, tail: u32) -> ServiceResult<String> {
        let path = format!("/deployments/{}/logs", path_seg(name)?);
        let url = self
            .http
            .url_with_query(&path, &[("tail", &tail.to_string())])?;
        let r = self
            .http
            .send_capped(Method::GET, &url, Retry::Idempotent, MAX_LOGS, |rb| rb)
            .await?;
        Ok(String::from_utf8_lossy(&r.body).into_owned())
    }

    /// Deletes a deployment; `Ok(false)` when it was already gone.
    pub async fn delete(&self, name: &str) -> ServiceResult<bool> {
        match self
            .http
            .send(
                Method::DELETE,
                &format!("/deployments/{}", path_seg(name)?),
                Retry::Idempotent,
                |rb| rb,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(ServiceError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// An instance name as a path segment (`[a-z0-9-]`, as Kubernetes names are).
fn path_seg(name: &str) -> ServiceResult<&str> {
    if !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(name)
    } else {
        Err(ServiceError::Invalid(format!(
            "{SERVICE}: {name:?} is not a deployment name"
        )))
    }
}
