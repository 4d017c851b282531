//! Errors of a backtest: bad input (the caller's fault) or a failure of the environment.

/// Why a backtest could not run.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// Bad input: an unknown competitor, an empty range, no data for the assets asked for.
    #[error("{0}")]
    Invalid(String),
    /// The registry, the disk or a plot failed.
    #[error("{0}")]
    Env(String),
}

impl From<std::io::Error> for BacktestError {
    fn from(e: std::io::Error) -> Self {
        Self::Env(format!("i/o: {e}"))
    }
}

impl From<research::ResearchError> for BacktestError {
    fn from(e: research::ResearchError) -> Self {
        Self::Env(e.to_string())
    }
}
