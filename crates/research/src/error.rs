//! Errors of the research layer: values with a kind that tools and agents can branch on.

use serde::{Deserialize, Serialize};

/// What went wrong, in terms a caller (agent, bot, CLI) can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The experiment spec or an argument is invalid; fix the input and retry.
    InvalidConfig,
    /// The data needed is missing or unusable.
    DataMissing,
    /// Training produced NaN/inf or otherwise diverged.
    TrainingDiverged,
    /// The environment is broken (disk, database, remote store); retrying may help.
    Environment,
    /// The thing asked for (run, experiment, preset) does not exist.
    NotFound,
}

impl ErrorKind {
    /// Stable snake_case name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidConfig => "invalid_config",
            ErrorKind::DataMissing => "data_missing",
            ErrorKind::TrainingDiverged => "training_diverged",
            ErrorKind::Environment => "environment",
            ErrorKind::NotFound => "not_found",
        }
    }

    /// Parses the name written by [`ErrorKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "invalid_config" => ErrorKind::InvalidConfig,
            "data_missing" => ErrorKind::DataMissing,
            "training_diverged" => ErrorKind::TrainingDiverged,
            "environment" => ErrorKind::Environment,
            "not_found" => ErrorKind::NotFound,
            _ => return None,
        })
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of the research layer: a kind and a human-readable message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ResearchError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// What happened, for people (never contains secrets).
    pub message: String,
}

impl ResearchError {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    /// An invalid-config error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidConfig, message)
    }
    /// An environment error (I/O, database, remote store).
    pub fn env(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Environment, message)
    }
    /// A not-found error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
}

impl From<rusqlite::Error> for ResearchError {
    fn from(e: rusqlite::Error) -> Self {
        Self::env(format!("registry database: {e}"))
    }
}

impl From<std::io::Error> for ResearchError {
    fn from(e: std::io::Error) -> Self {
        Self::env(format!("i/o: {e}"))
    }
}

impl From<serde_json::Error> for ResearchError {
    fn from(e: serde_json::Error) -> Self {
        Self::invalid(format!("json: {e}"))
    }
}

impl From<models::ModelError> for ResearchError {
    fn from(e: models::ModelError) -> Self {
        use models::ModelError as M;
        let kind = match &e {
            M::InvalidConfig(_) => ErrorKind::InvalidConfig,
            M::Data(_) => ErrorKind::DataMissing,
            M::Diverged(_) => ErrorKind::TrainingDiverged,
            _ => ErrorKind::Environment,
        };
        Self::new(kind, e.to_string())
    }
}

/// Result alias of the research layer.
pub type Result<T, E = ResearchError> = std::result::Result<T, E>;
