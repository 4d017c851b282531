//! Per-bot sessions: pipeline state, this session's experiment results and a workspace
//! directory. Every change is saved to `<workspace>/.session.json` before it is visible, so
//! reaping an idle session from memory loses nothing: the next request loads it back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::workspace::write_atomic;

const STATE_FILE: &str = ".session.json";

/// Where a bot's pipeline stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineStatus {
    /// Never run in this session.
    Idle,
    /// Admitted, waiting for a compute slot.
    Queued,
    /// Running.
    Running,
    /// Finished with a result.
    Completed,
    /// Finished with an error.
    Failed,
    /// Stopped on request.
    Stopped,
}

/// The pipeline part of a session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelineState {
    /// Status.
    pub status: PipelineStatus,
    /// Last stage reported by the pipeline.
    pub stage: Option<String>,
    /// The request that started it.
    pub request: Option<Value>,
    /// RFC 3339 times.
    pub queued_at: Option<String>,
    /// When it got a slot.
    pub started_at: Option<String>,
    /// When it ended.
    pub finished_at: Option<String>,
    /// The pipeline's result, once completed.
    pub result: Option<Value>,
    /// The error, once failed.
    pub error: Option<String>,
}

impl Default for PipelineState {
    fn default() -> Self {
        Self {
            status: PipelineStatus::Idle,
            stage: None,
            request: None,
            queued_at: None,
            started_at: None,
            finished_at: None,
            result: None,
            error: None,
        }
    }
}

impl PipelineState {
    /// True while queued or running (such a session is never reaped).
    pub fn active(&self) -> bool {
        matches!(
            self.status,
            PipelineStatus::Queued | PipelineStatus::Running
        )
    }
}

/// What a session saves to disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionData {
    /// Owner.
    pub bot_id: String,
    /// RFC 3339.
    pub created_at: String,
    /// Pipeline state.
    pub pipeline: PipelineState,
    /// Experiment results of this session (since the last clear), in run order.
    pub experiments: Vec<Value>,
}

/// A live session.
pub struct Session {
    data: Mutex<SessionData>,
    workspace: PathBuf,
    last_active: Mutex<Instant>,
    in_flight: AtomicUsize,
    /// Stop flag of the current pipeline.
    pub cancel: Mutex<Arc<AtomicBool>>,
    /// Stage the running pipeline last reported.
    pub live_stage: Arc<Mutex<Option<String>>>,
}

/// A locked view of a session's data; [`SessionLock::save`] persists changes.
pub struct SessionLock<'a> {
    guard: MutexGuard<'a, SessionData>,
    path: PathBuf,
}

impl std::ops::Deref for SessionLock<'_> {
    type Target = SessionData;
    fn deref(&self) -> &SessionData {
        &self.guard
    }
}
impl std::ops::DerefMut for SessionLock<'_> {
    fn deref_mut(&mut self) -> &mut SessionData {
        &mut self.guard
    }
}

impl SessionLock<'_> {
    /// Writes the data to disk atomically while still holding the lock.
    pub fn save(&self) -> ApiResult<()> {
        let bytes = serde_json::to_vec_pretty(&*self.guard)
            .map_err(|e| ApiError::failed(format!("cannot encode session: {e}")))?;
        write_atomic(&self.path, &bytes)
            .map_err(|e| ApiError::failed(format!("cannot save session: {e}")))
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Session {
    /// The bot's workspace directory.
    pub fn workspace(&self) -> &Path {
        &self.workspace
    }

    /// Locks the data.
    pub fn lock(&self) -> SessionLock<'_> {
        SessionLock {
            guard: self.data.lock().unwrap_or_else(|p| p.into_inner()),
            path: self.workspace.join(STATE_FILE),
        }
    }

    fn touch(&self) {
        *self.last_active.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    /// Seconds since the last request finished or started.
    pub fn idle_secs(&self) -> f64 {
        self.last_active
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
            .as_secs_f64()
    }

    /// A JSON view for clients: no server paths.
    pub fn view(&self) -> Value {
        let d = self.lock();
        let mut pipeline = d.pipeline.clone();
        if pipeline.status == PipelineStatus::Running {
            pipeline.stage = self
                .live_stage
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
        }
        json!({
            "bot_id": d.bot_id,
            "created_at": d.created_at,
            "idle_seconds": (self.idle_secs() * 10.0).round() / 10.0,
            "in_flight": self.in_flight.load(Ordering::Relaxed),
            "num_experiments": d.experiments.len(),
            "pipeline": pipeline,
        })
    }
}

/// Keeps a session marked busy while a request uses it.
pub struct InFlight {
    session: Arc<Session>,
}

impl InFlight {
    /// The session.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.session.touch();
        self.session.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// All sessions in memory, keyed by bot id.
pub struct Sessions {
    root: PathBuf,
    map: Mutex<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    /// Sessions whose workspaces live under `root/<bot_id>`.
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Enters the session of `bot_id` (loading it from disk or creating it); the session is
    /// not reaped until the returned guard drops. `bot_id` must already be validated.
    pub fn enter(&self, bot_id: &str) -> ApiResult<InFlight> {
        let mut map = self.map();
        let session = match map.get(bot_id) {
            Some(s) => Arc::clone(s),
            None => {
                let s = Arc::new(self.load(bot_id)?);
                map.insert(bot_id.to_string(), Arc::clone(&s));
                s
            }
        };
        session.in_flight.fetch_add(1, Ordering::AcqRel);
        session.touch();
        Ok(InFlight { session })
    }

    fn load(&self, bot_id: &str) -> ApiResult<Session> {
        let workspace = self.root.join(bot_id);
        std::fs::create_dir_all(&workspace)
            .map_err(|e| ApiError::failed(format!("cannot create workspace of {bot_id}: {e}")))?;
        let data = match std::fs::read(workspace.join(STATE_FILE)) {
            Ok(bytes) => serde_json::from_slice::<SessionData>(&bytes).map_err(|e| {
                ApiError::failed(format!("session file of {bot_id} is corrupt: {e}"))
            })?,
            Err(_) => SessionData {
                bot_id: bot_id.to_string(),
                created_at: now(),
                pipeline: PipelineState::default(),
                experiments: Vec::new(),
            },
        };
        let mut data = data;
        // A pipeline cannot outlive the process: one that was active when it died failed.
        if data.pipeline.active() {
            data.pipeline.status = PipelineStatus::Failed;
            data.pipeline.error = Some("the bridge stopped while this pipeline was active".into());
            data.pipeline.finished_at = Some(now());
        }
        Ok(Session {
            data: Mutex::new(data),
            workspace,
            last_active: Mutex::new(Instant::now()),
            in_flight: AtomicUsize::new(0),
            cancel: Mutex::new(Arc::new(AtomicBool::new(false))),
            live_stage: Arc::new(Mutex::new(None)),
        })
    }

    /// The in-memory session of `bot_id`, if loaded.
    pub fn get(&self, bot_id: &str) -> Option<Arc<Session>> {
        self.map().get(bot_id).cloned()
    }

    /// All sessions in memory, by bot id.
    pub fn all(&self) -> Vec<Arc<Session>> {
        let mut v: Vec<(String, Arc<Session>)> = self
            .map()
            .iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.into_iter().map(|(_, s)| s).collect()
    }

    /// Number of sessions in memory.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// True when no session is in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops `bot_id`'s session from memory (its saved state stays on disk). Refused (409)
    /// while its pipeline is active or a request is using it.
    pub fn unload(&self, bot_id: &str) -> ApiResult<()> {
        let mut map = self.map();
        let Some(s) = map.get(bot_id) else {
            return Err(ApiError::not_found(format!(
                "no session in memory for bot {bot_id:?}"
            )));
        };
        if s.lock().pipeline.active() {
            return Err(ApiError::conflict(format!(
                "bot {bot_id:?} has a pipeline running"
            )));
        }
        if s.in_flight.load(Ordering::Acquire) > 0 {
            return Err(ApiError::conflict(format!(
                "bot {bot_id:?} has requests in flight"
            )));
        }
        map.remove(bot_id);
        Ok(())
    }

    /// Drops from memory every session idle longer than `ttl` with no active pipeline and no
    /// request in flight. Returns the bot ids dropped.
    pub fn reap(&self, ttl: Duration) -> Vec<String> {
        let mut map = self.map();
        let idle: Vec<String> = map
            .iter()
            .filter(|(_, s)| {
                s.in_flight.load(Ordering::Acquire) == 0
                    && s.idle_secs() >= ttl.as_secs_f64()
                    && !s.lock().pipeline.active()
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in &idle {
            map.remove(k);
        }
        idle
    }
}

/// The current time in RFC 3339, for session fields.
pub fn timestamp() -> String {
    now()
}
