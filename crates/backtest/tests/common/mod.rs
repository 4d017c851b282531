//! Shared by the backtest integration tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use models::{ForecastRequest, Forecaster, ModelError};
use sn50::PathSet;

/// Fails loudly when handed any candle that was not closed at the request time.
pub struct Peeker {
    /// Set when a request showed data from after its request time.
    pub peeked: Arc<AtomicBool>,
    /// The model that answers.
    pub inner: Box<dyn Forecaster>,
}

impl Forecaster for Peeker {
    fn name(&self) -> String {
        "peeker".into()
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        let res = i64::from(req.history.resolution_secs);
        let request_time = req.start_time - backtest::LEAD_SECS;
        if req
            .history
            .ts
            .iter()
            .any(|&t| t + res > request_time || t >= req.start_time)
        {
            self.peeked.store(true, Ordering::SeqCst);
            panic!("look-ahead: history reaches past the request time");
        }
        if req.history.close.last() != Some(&req.start_price) {
            self.peeked.store(true, Ordering::SeqCst);
            return Err(ModelError::Data(
                "start price is not the last known close".into(),
            ));
        }
        self.inner.forecast(req)
    }
}

/// Whether the shared data folder (its full history, which the embedded set does not cover for
/// these ranges) is there. Where it is absent the test fails when `SYNTH_CITY_REQUIRE_SHARED` is
/// set (CI sets it), and otherwise prints a `SKIP:` line and the caller returns.
pub fn shared_data_or_skip(test: &str) -> bool {
    if market::home::shared_dir().is_some_and(|d| d.join("data").is_dir()) {
        return true;
    }
    assert!(
        std::env::var_os("SYNTH_CITY_REQUIRE_SHARED").is_none(),
        "{test}: the shared data folder (SYNTH_CITY_SHARED or ../shared/data) is required here"
    );
    eprintln!("SKIP: {test}: no shared data folder (SYNTH_CITY_SHARED or ../shared/data)");
    false
}
