//! The market crate's error type. Every variant names what failed (file and line, URL, asset).

use std::path::PathBuf;

/// Errors of the market crate: bad input files, bad payloads, network and disk failures.
#[derive(Debug, thiserror::Error)]
pub enum MarketError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder at fault.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A line of an input file is malformed.
    #[error("{}:{line}: {problem}", path.display())]
    Parse {
        /// The file at fault.
        path: PathBuf,
        /// 1-based line number (the header is line 1).
        line: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// An input is unusable as a whole (empty file, unknown layout, bad argument).
    #[error("{0}")]
    Invalid(String),
    /// The price source answered, but with no data for the range asked.
    #[error("no data for {symbol} from {from} to {to} ({url})")]
    NoData {
        /// The source symbol, e.g. `Crypto.BTC/USD`.
        symbol: String,
        /// Range start, unix seconds.
        from: i64,
        /// Range end, unix seconds.
        to: i64,
        /// The endpoint asked (no query string).
        url: String,
    },
    /// The price source answered with something that is not a valid history payload.
    #[error("bad payload from {url}: {problem}")]
    Payload {
        /// The endpoint asked (no query string).
        url: String,
        /// What is wrong with the payload.
        problem: String,
    },
    /// The request failed (connection, timeout, HTTP status after retries).
    #[error("request to {url} failed: {problem}")]
    Http {
        /// The endpoint asked (no query string).
        url: String,
        /// What went wrong.
        problem: String,
    },
    /// The local cache file is unreadable or corrupt.
    #[error("cache {}: {problem}", path.display())]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
}

impl MarketError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
