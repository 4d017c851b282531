//! Errors of the models layer.

/// Errors from building, training or sampling a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A spec or hyperparameter is invalid; the message names the field and why.
    #[error("invalid config: {0}")]
    InvalidConfig(String),
    /// Not enough (or unusable) data for the request.
    #[error("data: {0}")]
    Data(String),
    /// Training produced NaN/inf or otherwise diverged.
    #[error("training diverged: {0}")]
    Diverged(String),
    /// A tensor-library error.
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
    /// I/O (checkpoints).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}
