//! The W&B client: GraphQL (`viewer`, `upsertBucket`, `createRunFiles`) and `file_stream`.

use base64::Engine;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{check_name, RunLog, WandbConfig, DEFAULT_BASE_URL, SERVICE};
use crate::http::{Auth, HttpSettings};
use crate::{HttpClient, Retry, Secret, ServiceError, ServiceResult};

const UPSERT_BUCKET: &str = "mutation UpsertBucket($id:String,$name:String,$project:String,$entity:String,$groupName:String,$displayName:String,$notes:String,$jobType:String,$state:String,$tags:[String!],$config:JSONString,$summaryMetrics:JSONString){ upsertBucket(input:{id:$id,name:$name,modelName:$project,entityName:$entity,groupName:$groupName,displayName:$displayName,notes:$notes,jobType:$jobType,state:$state,tags:$tags,config:$config,summaryMetrics:$summaryMetrics}){ bucket{ id name displayName historyLineCount project{ name entity{ name } } } inserted } }";

const CREATE_RUN_FILES: &str = "mutation CreateRunFiles($entity:String!,$project:String!,$run:String!,$files:[String!]!){ createRunFiles(input:{entityName:$entity,projectName:$project,runName:$run,files:$files}){ runID uploadHeaders files{ name uploadUrl } } }";

const VIEWER: &str = "query Viewer { viewer { id entity } }";

/// Where a run was logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRun {
    /// Entity.
    pub entity: String,
    /// Project.
    pub project: String,
    /// Run id.
    pub name: String,
    /// Web address of the run.
    pub url: String,
    /// Files uploaded.
    pub files: usize,
}

/// A W&B client for one project.
#[derive(Debug, Clone)]
pub struct WandbClient {
    api: HttpClient,
    storage: HttpClient,
    project: String,
    entity: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GqlAnswer<T> {
    data: Option<T>,
    #[serde(default)]
    errors: Vec<GqlError>,
}

#[derive(Debug, Deserialize)]
struct GqlError {
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct ViewerData {
    viewer: Option<Viewer>,
}

#[derive(Debug, Deserialize)]
struct Viewer {
    #[serde(default)]
    entity: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpsertData {
    upsert_bucket: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateFilesData {
    create_run_files: Option<CreatedFiles>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatedFiles {
    #[serde(default)]
    upload_headers: Vec<String>,
    #[serde(default)]
    files: Vec<CreatedFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatedFile {
    name: String,
    upload_url: Option<String>,
}

impl WandbClient {
    /// A client for `cfg`.
    pub fn new(cfg: &WandbConfig) -> ServiceResult<Self> {
        Self::with_settings(cfg, HttpSettings::default())
    }

    /// [`WandbClient::new`] with explicit timeouts and retries (tests).
    pub fn with_settings(cfg: &WandbConfig, settings: HttpSettings) -> ServiceResult<Self> {
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("api:{}", cfg.api_key.expose()));
        let auth = Auth::Header("Authorization", Secret::new(format!("Basic {basic}")));
        let api = HttpClient::new(SERVICE, cfg.base_url.clone(), auth, settings.clone())?;
        let storage = HttpClient::new(SERVICE, cfg.base_url.clone(), Auth::None, settings)?;
        Ok(Self {
            api,
            storage,
            project: cfg.project.clone(),
            entity: cfg.entity.clone(),
        })
    }

    /// The project runs go to.
    pub fn project(&self) -> &str {
        &self.project
    }

    async fn graphql<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> ServiceResult<T> {
        let body = json!({"query": query, "variables": variables});
        let answer: GqlAnswer<T> = self
            .api
            .json(Method::POST, "/graphql", &body, Retry::Idempotent)
            .await?;
        if !answer.errors.is_empty() {
            let msg: Vec<&str> = answer.errors.iter().map(|e| e.message.as_str()).collect();
            return Err(ServiceError::Http {
                service: SERVICE,
                status: 200,
                body: format!("GraphQL error: {}", msg.join("; ")),
            });
        }
        answer.data.ok_or_else(|| ServiceError::Parse {
            service: SERVICE,
            detail: "GraphQL answer without data".into(),
        })
    }

    /// The entity runs go to: `WANDB_ENTITY`, else the key's own (`viewer { entity }`).
    pub async fn entity(&self) -> ServiceResult<String> {
        if let Some(e) = &self.entity {
            return Ok(e.clone());
        }
        let d: ViewerData = self.graphql(VIEWER, json!({})).await?;
        let e = d
            .viewer
            .and_then(|v| v.entity)
            .ok_or_else(|| ServiceError::Parse {
                service: SERVICE,
                detail: "the key has no default entity; set WANDB_ENTITY".into(),
            })?;
        check_name(&e, "entity")?;
        Ok(e)
    }

    async fn file_stream(&self, entity: &str, run: &str, body: Value) -> ServiceResult<()> {
        let path = format!("/files/{entity}/{}/{run}/file_stream", self.project);
        self.api
            .send(Method::POST, &path, Retry::Idempotent, |rb| {
                rb.header("content-type", "application/json")
                    .body(body.to_string())
            })
            .await?;
        Ok(())
    }

    /// Logs `run`: creates or updates it (config, summary), writes its history from line 0
    /// (so sending the same run again rewrites the same lines), uploads its files and marks it
    /// finished. Every step is idempotent: a retry after a failure completes the run.
    pub async fn log(&self, run: &RunLog) -> ServiceResult<LoggedRun> {
        check_name(&run.name, "run name")?;
        let entity = self.entity().await?;
        let config = run.wandb_config().to_string();
        let summary = Value::Object(run.summary.clone()).to_string();
        let d: UpsertData = self
            .graphql(
                UPSERT_BUCKET,
                json!({
                    "name": run.name,
                    "project": self.project,
                    "entity": entity,
                    "groupName": run.group,
                    "displayName": run.display_name,
                    "notes": run.notes,
                    "jobType": run.job_type,
                    "tags": run.tags,
                    "config": config,
                    "summaryMetrics": summary,
                }),
            )
            .await?;
        if d.upsert_bucket.is_none() {
            return Err(ServiceError::Parse {
                service: SERVICE,
                detail: "upsertBucket returned nothing".into(),
            });
        }
        let history = run.history_lines();
        self.file_stream(
            &entity,
            &run.name,
            json!({
                "files": {
                    "wandb-history.jsonl": {"offset": 0, "content": history},
                    "wandb-summary.json": {"offset": 0, "content": [summary]},
                },
                "dropped": 0,
            }),
        )
        .await?;
        let mut uploaded = Vec::new();
        if !run.files.is_empty() {
            let names: Vec<&str> = run.files.iter().map(|f| f.name.as_str()).collect();
            let d: CreateFilesData = self
                .graphql(
                    CREATE_RUN_FILES,
                    json!({"entity": entity, "project": self.project, "run": run.name, "files": names}),
                )
                .await?;
            let created = d.create_run_files.ok_or_else(|| ServiceError::Parse {
                service: SERVICE,
                detail: "createRunFiles returned nothing".into(),
            })?;
            let headers: Vec<(String, String)> = created
                .upload_headers
                .iter()
                .filter_map(|h| h.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect();
            for f in &run.files {
                let url = created
                    .files
                    .iter()
                    .find(|c| c.name == f.name)
                    .and_then(|c| c.upload_url.clone())
                    .ok_or_else(|| ServiceError::Parse {
                        service: SERVICE,
                        detail: format!("no upload URL for {}", f.name),
                    })?;
                let bytes = f.bytes.clone();
                // Pre-signed storage URL: sent without the API key.
                self.storage
                    .send(Method::PUT, &url, Retry::Idempotent, |mut rb| {
                        for (k, v) in &headers {
                            rb = rb.header(k.as_str(), v.as_str());
                        }
                        rb.body(bytes.clone())
                    })
                    .await?;
                uploaded.push(f.name.clone());
            }
        }
        self.file_stream(
            &entity,
            &run.name,
            json!({"complete": true, "exitcode": 0, "dropped": 0, "uploaded": uploaded}),
        )
        .await?;
        Ok(LoggedRun {
            url: format!(
                "{}/{entity}/{}/runs/{}",
                app_url(self.api.base_url()),
                self.project,
                run.name
            ),
            entity,
            project: self.project.clone(),
            name: run.name.clone(),
            files: uploaded.len(),
        })
    }
}

/// The web app's address for an API base URL (`api.wandb.ai` → `wandb.ai`; a self-hosted
/// server serves both).
fn app_url(base: &str) -> String {
    if base == DEFAULT_BASE_URL {
        "https://wandb.ai".into()
    } else {
        base.to_string()
    }
}
