//! The event bus: every step of a pipeline emits a structured [`Event`] on a tokio broadcast
//! channel that the CLI, logs and the bridge subscribe to. Sending never blocks; slow
//! subscribers lose the oldest events (broadcast `Lagged`), never stall the pipeline.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A pipeline run starts.
    PipelineStart {
        /// Stage names in order.
        stages: Vec<String>,
        /// `llm:<model>` or `builtin`.
        brain: String,
    },
    /// A stage starts.
    StageStart {
        /// Stage name.
        stage: String,
        /// 1-based index.
        index: usize,
        /// Number of stages.
        total: usize,
    },
    /// A retry of a stage starts.
    RetryAttempt {
        /// Stage name.
        stage: String,
        /// 1-based attempt.
        attempt: u32,
        /// Attempts allowed.
        max_attempts: u32,
        /// Sampling temperature of this attempt.
        temperature: f64,
    },
    /// The same config (or the same failure) came back twice.
    StallDetected {
        /// Stage name.
        stage: String,
        /// Attempt at which it was seen.
        attempt: u32,
        /// What repeated (a config fingerprint or an error digest).
        signature: String,
    },
    /// Retries stop because the environment cannot succeed.
    NonRecoverable {
        /// Stage name.
        stage: String,
        /// Why.
        error: String,
    },
    /// A stage ends.
    StageEnd {
        /// Stage name.
        stage: String,
        /// Whether it succeeded.
        success: bool,
        /// Attempts used.
        attempts: u32,
    },
    /// An agent starts.
    AgentStart {
        /// Agent name.
        agent: String,
        /// Model id.
        model: String,
        /// Tools offered.
        tools: Vec<String>,
        /// Turn cap.
        max_turns: u32,
    },
    /// An agent turn begins.
    AgentTurn {
        /// Agent name.
        agent: String,
        /// 1-based turn.
        turn: u32,
    },
    /// A tool is called.
    ToolCall {
        /// Agent name.
        agent: String,
        /// Tool name.
        tool: String,
    },
    /// A tool returned.
    ToolResult {
        /// Agent name.
        agent: String,
        /// Tool name.
        tool: String,
        /// Size of the JSON result in bytes.
        size: usize,
        /// The error message, when it failed.
        error: Option<String>,
    },
    /// An agent ends.
    AgentFinish {
        /// Agent name.
        agent: String,
        /// Its verdict.
        success: bool,
        /// Turns used.
        turns: u32,
        /// `explicit`, `implicit`, `max_turns` or `llm_error`.
        how: String,
    },
    /// An experiment starts training.
    ExperimentStart {
        /// Experiment name.
        name: String,
        /// Config fingerprint.
        fingerprint: String,
        /// Epochs planned.
        epochs: u32,
    },
    /// Training progress.
    EpochProgress {
        /// Experiment name.
        name: String,
        /// 1-based epoch.
        epoch: u32,
        /// Epochs planned.
        epochs: u32,
        /// Validation loss (CRPS) after this epoch, when known.
        val_crps: Option<f64>,
    },
    /// An experiment finished.
    ExperimentResult {
        /// Experiment name.
        name: String,
        /// Held-out CRPS (lower is better); None when it failed.
        crps: Option<f64>,
        /// `ok` or `error`.
        status: String,
        /// Registry run id.
        run_id: Option<String>,
    },
    /// A new champion was registered.
    Champion {
        /// Registry run id.
        run_id: String,
        /// Its CRPS.
        crps: f64,
    },
    /// Free-form diagnostic.
    Log {
        /// `info`, `warn` or `error`.
        level: String,
        /// Message.
        message: String,
    },
    /// The pipeline run ended.
    PipelineComplete {
        /// Overall verdict.
        success: bool,
        /// Best CRPS of this run.
        best_crps: Option<f64>,
        /// Summary object (stages, usage, champion).
        summary: Value,
    },
}

/// An event with its run id, sequence number and timestamp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Pipeline run id.
    pub run_id: String,
    /// Monotonic sequence number within the bus.
    pub seq: u64,
    /// UTC time, RFC 3339.
    pub at: String,
    /// The event.
    #[serde(flatten)]
    pub event: Event,
}

/// A cheap-to-clone handle on a broadcast channel of [`Envelope`]s for one run.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Envelope>,
    run_id: Arc<str>,
    seq: Arc<AtomicU64>,
}

impl EventBus {
    /// A bus for run `run_id` keeping up to `capacity` events per lagging subscriber.
    pub fn new(run_id: impl Into<String>, capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Self {
            tx,
            run_id: Arc::from(run_id.into()),
            seq: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// A new subscriber that sees every event emitted from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Envelope> {
        self.tx.subscribe()
    }

    /// Emits `event` (also to the `tracing` log at debug level). Never blocks.
    pub fn emit(&self, event: Event) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(target: "synth_city::events", seq, ?event);
        let env = Envelope {
            run_id: self.run_id.to_string(),
            seq,
            at: chrono::Utc::now().to_rfc3339(),
            event,
        };
        let _ = self.tx.send(env);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_events_in_order_with_flat_json() {
        let bus = EventBus::new("r1", 64);
        let mut rx = bus.subscribe();
        bus.emit(Event::StageStart {
            stage: "planner".into(),
            index: 1,
            total: 4,
        });
        bus.emit(Event::Champion {
            run_id: "x".into(),
            crps: 1.5,
        });
        let a = rx.recv().await.unwrap();
        let b = rx.recv().await.unwrap();
        assert_eq!((a.seq, b.seq), (0, 1));
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["type"], "stage_start");
        assert_eq!(v["stage"], "planner");
        assert_eq!(v["run_id"], "r1");
    }
}
