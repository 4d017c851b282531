//! The worker's HTTP service: typed state ([`WorkerState`]) and thin handlers over it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use models::device::DeviceChoice;
use models::experiment::PreparedData;
use models::spec::Timeframe;
use research::{ExperimentRunner, ModelsRunner, ResearchError};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::protocol::{
    sha256_hex, valid_id, ErrorBody, FileRef, Health, JobResult, JobSpec, JobState, JobStatus,
    ProgressEvent, PROTOCOL,
};

/// How a worker runs.
#[derive(Clone)]
pub struct WorkerOptions {
    /// The bearer token every call but health must carry; `None` only on loopback.
    pub token: Option<String>,
    /// Experiments run at once (others queue).
    pub slots: usize,
    /// Training device.
    pub device: DeviceChoice,
    /// Largest data upload, bytes.
    pub max_upload: usize,
    /// Cap on the uploaded data kept (oldest dropped first), bytes.
    pub max_data_bytes: usize,
    /// Finished jobs kept for the coordinator to collect (oldest dropped first).
    pub max_jobs_kept: usize,
}

impl std::fmt::Debug for WorkerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerOptions")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("slots", &self.slots)
            .field("device", &self.device)
            .finish()
    }
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            token: None,
            slots: 1,
            device: DeviceChoice::Auto,
            max_upload: 1 << 30,
            max_data_bytes: 4 << 30,
            max_jobs_kept: 256,
        }
    }
}

/// One job and what it produced.
struct Job {
    digest: String,
    cancelled: AtomicBool,
    inner: Mutex<JobInner>,
}

struct JobInner {
    state: JobState,
    events: Vec<ProgressEvent>,
    result: Option<JobResult>,
    files: Vec<Arc<Vec<u8>>>,
    error: Option<ResearchError>,
}

impl Job {
    fn lock(&self) -> MutexGuard<'_, JobInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn status(&self, id: &str, since: usize) -> JobStatus {
        let j = self.lock();
        let first = since.min(j.events.len());
        JobStatus {
            id: id.to_string(),
            state: j.state,
            events: j.events[first..].to_vec(),
            first_event: first,
            result: j.result.clone(),
            error: j.error.clone(),
        }
    }
}

/// Uploaded data by hash, bounded in bytes.
#[derive(Default)]
struct DataCache {
    blobs: HashMap<String, Arc<Vec<u8>>>,
    order: VecDeque<String>,
    bytes: usize,
}

/// Jobs by id, and their ids oldest first.
type JobTable = (HashMap<String, Arc<Job>>, VecDeque<String>);

/// The worker's state: jobs, uploaded data, the slot semaphore.
pub struct WorkerState {
    opts: WorkerOptions,
    device_name: String,
    jobs: Mutex<JobTable>,
    data: Mutex<DataCache>,
    slots: Arc<tokio::sync::Semaphore>,
}

impl WorkerState {
    /// A worker with `opts` (the device is resolved now: a bad `--device` fails here).
    pub fn new(opts: WorkerOptions) -> Result<Arc<Self>, String> {
        let device_name = opts
            .device
            .resolve()
            .map(|d| models::device::name(&d))
            .map_err(|e| e.to_string())?;
        let slots = opts.slots.max(1);
        Ok(Arc::new(Self {
            device_name,
            slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            opts: WorkerOptions { slots, ..opts },
            jobs: Mutex::default(),
            data: Mutex::default(),
        }))
    }

    fn jobs(&self) -> MutexGuard<'_, JobTable> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn data(&self) -> MutexGuard<'_, DataCache> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn job(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs().0.get(id).cloned()
    }

    /// Health answer.
    pub fn health(&self) -> Health {
        let busy = self
            .jobs()
            .0
            .values()
            .filter(|j| !j.lock().state.is_final())
            .count();
        Health {
            ok: true,
            protocol: PROTOCOL,
            version: env!("CARGO_PKG_VERSION").to_string(),
            slots: self.opts.slots,
            busy,
            device: self.device_name.clone(),
        }
    }

    fn has_data(&self, sha: &str) -> bool {
        self.data().blobs.contains_key(sha)
    }

    fn put_data(&self, sha: &str, body: Vec<u8>) -> Result<(), ApiError> {
        if sha256_hex(&body) != sha {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the body does not hash to the path's sha256".into(),
            ));
        }
        let mut d = self.data();
        if d.blobs.contains_key(sha) {
            return Ok(());
        }
        d.bytes += body.len();
        d.blobs.insert(sha.to_string(), Arc::new(body));
        d.order.push_back(sha.to_string());
        while d.bytes > self.opts.max_data_bytes && d.order.len() > 1 {
            if let Some(old) = d.order.pop_front() {
                if let Some(b) = d.blobs.remove(&old) {
                    d.bytes -= b.len();
                }
            }
        }
        Ok(())
    }

    /// Accepts a job (idempotent: the same id with the same content answers its status; with
    /// other content, a conflict) and starts it when a slot is free.
    fn submit(self: &Arc<Self>, id: &str, spec: JobSpec) -> Result<JobStatus, ApiError> {
        if spec.protocol != PROTOCOL {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "protocol {} is not this worker's ({PROTOCOL}); run the same synth-city version",
                    spec.protocol
                ),
            ));
        }
        let digest = spec.digest();
        let mut inputs = Vec::new();
        for r in &spec.inputs {
            let Some(tf) = Timeframe::parse(&r.timeframe) else {
                return Err(ApiError::bad(format!("timeframe {:?}", r.timeframe)));
            };
            let Some(blob) = self.data().blobs.get(&r.sha256).cloned() else {
                return Err(ApiError(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!(
                        "data {} is not uploaded (PUT /v1/data/{{sha256}} first)",
                        r.sha256
                    ),
                ));
            };
            inputs.push((r.asset.clone(), tf, blob));
        }
        let job = {
            let mut jobs = self.jobs();
            if let Some(j) = jobs.0.get(id) {
                if j.digest != digest {
                    return Err(ApiError(
                        StatusCode::CONFLICT,
                        format!("job {id} exists with other content"),
                    ));
                }
                return Ok(j.status(id, 0));
            }
            let job = Arc::new(Job {
                digest,
                cancelled: AtomicBool::new(false),
                inner: Mutex::new(JobInner {
                    state: JobState::Queued,
                    events: Vec::new(),
                    result: None,
                    files: Vec::new(),
                    error: None,
                }),
            });
            jobs.0.insert(id.to_string(), job.clone());
            jobs.1.push_back(id.to_string());
            self.evict(&mut jobs);
            job
        };
        let status = job.status(id, 0);
        let (state, id) = (self.clone(), id.to_string());
        tokio::spawn(async move {
            let Ok(permit) = state.slots.clone().acquire_owned().await else {
                return;
            };
            if job.cancelled.load(Ordering::SeqCst) {
                return;
            }
            job.lock().state = JobState::Running;
            let device = state.opts.device;
            let device_name = state.device_name.clone();
            let j = job.clone();
            let done =
                tokio::task::spawn_blocking(move || run_job(&j, spec, inputs, device, device_name))
                    .await;
            drop(permit);
            if let Err(e) = done {
                let mut g = job.lock();
                g.state = JobState::Failed;
                g.error = Some(ResearchError::env(format!("the job's thread stopped: {e}")));
            }
            tracing::info!(job = %id, "job finished");
        });
        Ok(status)
    }

    /// Drops the oldest finished jobs beyond the cap.
    fn evict(&self, jobs: &mut JobTable) {
        let mut scan = jobs.1.len();
        while jobs.1.len() > self.opts.max_jobs_kept && scan > 0 {
            scan -= 1;
            let Some(id) = jobs.1.pop_front() else { break };
            let done = jobs.0.get(&id).is_none_or(|j| j.lock().state.is_final());
            if done {
                jobs.0.remove(&id);
            } else {
                jobs.1.push_back(id);
            }
        }
    }

    fn cancel(&self, id: &str) -> Option<JobStatus> {
        let job = self.job(id)?;
        job.cancelled.store(true, Ordering::SeqCst);
        {
            let mut g = job.lock();
            if !g.state.is_final() {
                g.state = JobState::Cancelled;
            }
        }
        Some(job.status(id, 0))
    }
}

/// Runs one job on this thread (a blocking-pool thread).
fn run_job(
    job: &Arc<Job>,
    spec: JobSpec,
    inputs: Vec<(String, Timeframe, Arc<Vec<u8>>)>,
    device: DeviceChoice,
    device_name: String,
) {
    let j = job.clone();
    let progress = move |asset: &str, fold: usize, e: &models::train::EpochReport| {
        j.lock().events.push(ProgressEvent {
            asset: asset.to_string(),
            fold,
            epoch: e.epoch,
            train_loss: e.train_loss,
            val_loss: e.val_loss,
            lr: e.lr,
            grad_norm: e.grad_norm,
        });
    };
    let mut runner = ModelsRunner::new()
        .with_device(device)
        .with_progress(Arc::new(progress));
    let mut outcome = Ok(());
    for (asset, tf, blob) in inputs {
        match serde_json::from_slice::<PreparedData>(&blob) {
            Ok(d) => runner = runner.with_data(&asset, tf, d),
            Err(e) => outcome = Err(ResearchError::invalid(format!("data of {asset}: {e}"))),
        }
    }
    let result = outcome.and_then(|()| runner.run(&spec.spec, &spec.data, spec.seed));
    let mut g = job.lock();
    if job.cancelled.load(Ordering::SeqCst) {
        g.state = JobState::Cancelled;
        return;
    }
    match result {
        Ok(out) => {
            let mut blobs: Vec<(String, Vec<u8>)> = Vec::new();
            let weights = out.weights.map(|w| {
                blobs.push((research::model_store::WEIGHTS_ARTIFACT.to_string(), w));
                0
            });
            blobs.extend(out.files);
            g.files = blobs.iter().map(|(_, b)| Arc::new(b.clone())).collect();
            g.result = Some(JobResult {
                scores: out.scores,
                extra: out.extra,
                timings: out.timings,
                weights,
                files: blobs
                    .iter()
                    .map(|(name, b)| FileRef {
                        name: name.clone(),
                        size: b.len() as u64,
                        sha256: sha256_hex(b),
                    })
                    .collect(),
                fan: out.fan,
                device: device_name,
            });
            g.state = JobState::Done;
        }
        Err(e) => {
            g.error = Some(e);
            g.state = JobState::Failed;
        }
    }
}

/// An error answer with its status.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn bad(msg: String) -> Self {
        Self(StatusCode::BAD_REQUEST, msg)
    }
    fn not_found(what: &str) -> Self {
        Self(StatusCode::NOT_FOUND, format!("{what} not found"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if valid_id(id) {
        Ok(())
    } else {
        Err(ApiError::bad("ids are 1-128 of [A-Za-z0-9_-]".into()))
    }
}

async fn health(State(s): State<Arc<WorkerState>>) -> Json<Health> {
    Json(s.health())
}

async fn head_data(
    State(s): State<Arc<WorkerState>>,
    Path(sha): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_id(&sha)?;
    if s.has_data(&sha) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("data"))
    }
}

async fn put_data(
    State(s): State<Arc<WorkerState>>,
    Path(sha): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    check_id(&sha)?;
    s.put_data(&sha, body.to_vec())?;
    Ok(StatusCode::CREATED)
}

async fn put_job(
    State(s): State<Arc<WorkerState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<JobStatus>), ApiError> {
    check_id(&id)?;
    let spec: JobSpec =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad(format!("job: {e}")))?;
    Ok((StatusCode::ACCEPTED, Json(s.submit(&id, spec)?)))
}

#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: usize,
}

async fn get_job(
    State(s): State<Arc<WorkerState>>,
    Path(id): Path<String>,
    Query(q): Query<Since>,
) -> Result<Json<JobStatus>, ApiError> {
    check_id(&id)?;
    let job = s.job(&id).ok_or_else(|| ApiError::not_found("job"))?;
    Ok(Json(job.status(&id, q.since)))
}

async fn get_file(
    State(s): State<Arc<WorkerState>>,
    Path((id, index)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    check_id(&id)?;
    let job = s.job(&id).ok_or_else(|| ApiError::not_found("job"))?;
    let file = job
        .lock()
        .files
        .get(index)
        .cloned()
        .ok_or_else(|| ApiError::not_found("file"))?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        file.as_ref().clone(),
    )
        .into_response())
}

async fn delete_job(
    State(s): State<Arc<WorkerState>>,
    Path(id): Path<String>,
) -> Result<Json<JobStatus>, ApiError> {
    check_id(&id)?;
    s.cancel(&id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found("job"))
}

/// Bearer-token check (constant time) for every route but health.
async fn auth(State(s): State<Arc<WorkerState>>, req: Request, next: Next) -> Response {
    if let Some(want) = &s.opts.token {
        let got = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(got.as_bytes().ct_eq(want.as_bytes())) {
            return ApiError(
                StatusCode::UNAUTHORIZED,
                "missing or wrong worker token (Authorization: Bearer …)".into(),
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// The worker's routes on `state`.
pub fn router(state: Arc<WorkerState>) -> Router {
    let upload = state.opts.max_upload;
    let private = Router::new()
        .route(
            "/v1/data/{sha}",
            put(put_data)
                .head(head_data)
                .layer(DefaultBodyLimit::max(upload)),
        )
        .route(
            "/v1/jobs/{id}",
            put(put_job).get(get_job).delete(delete_job),
        )
        .route("/v1/jobs/{id}/files/{index}", get(get_file))
        .layer(DefaultBodyLimit::max(16 << 20))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .route("/v1/health", get(health))
        .merge(private)
        .with_state(state)
}

/// Refuses to serve without a token on anything but loopback.
pub fn check_bind(addr: &SocketAddr, opts: &WorkerOptions) -> Result<(), String> {
    if opts.token.as_deref().is_none_or(str::is_empty) && !addr.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {addr} without a token: set {} (or bind to 127.0.0.1)",
            crate::WORKER_TOKEN_ENV
        ));
    }
    Ok(())
}

/// Serves the worker on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    opts: WorkerOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    check_bind(&addr, &opts)?;
    let state = WorkerState::new(opts)?;
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| format!("worker on {addr}: {e}"))
}
