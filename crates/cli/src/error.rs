//! The CLI's error type: a one-line message and an exit code (2 for bad input by default).

use std::fmt;

/// A user-facing error: printed as `error: <message>` on stderr, then the process exits with `code`.
#[derive(Debug)]
pub struct CliError {
    /// Process exit code.
    pub code: u8,
    /// One-line message; names the file or argument at fault.
    pub message: String,
}

/// Result of a command: an exit code on success (0, or 1 for "checked and found wrong").
pub type CliResult = Result<std::process::ExitCode, CliError>;

impl CliError {
    /// Bad input (missing file, malformed JSON, bad argument): exit code 2.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }
    /// A failure of the environment or a run (network, disk, training): exit code 3.
    pub fn runtime(message: impl Into<String>) -> Self {
        Self {
            code: 3,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        // `{:#}` keeps the whole context chain on one line.
        Self::input(format!("{e:#}"))
    }
}
