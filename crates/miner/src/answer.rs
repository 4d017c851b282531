//! Turning a validator's `simulation_input` into the response body: champion (or fallback)
//! forecast from the live start price, written by [`crate::wire`] with `sn50`'s rounding so
//! that it always validates.

use std::sync::Arc;

use market::{Candles, Provenance};
use models::forecaster::ForecastContext;
use models::{ForecastRequest, Forecaster};
use serde::Deserialize;
use sn50::SimulationInput;

use crate::champion::{ModelCache, ReferenceGbm};
use crate::history::HistorySource;
use sn50::Competition;

/// Most values (paths × points) one answer may hold; bounds the work a caller can ask for.
pub const MAX_VALUES: usize = 5_000_000;

/// Most paths one answer may hold.
pub const MAX_SIMULATIONS: usize = 10_000;

/// The part of the request body the miner reads (identity and timing come from headers).
#[derive(Debug, Deserialize)]
pub struct RequestBody {
    /// The prompt; required.
    pub simulation_input: Option<SimulationInput>,
    /// The synapse's `timeout`, echoed in the answer's `timeout` header as bittensor's axon does
    /// (any JSON: only a number is used).
    #[serde(default)]
    pub timeout: Option<serde_json::Value>,
}

/// A request the miner cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// The body is not a `Simulation` synapse with a valid `simulation_input`.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// No start price for the asset.
    #[error(transparent)]
    Price(#[from] crate::prices::PriceError),
    /// Neither the champion nor the fallback produced a valid answer.
    #[error("could not produce an answer: {0}")]
    Failed(String),
}

/// A validated prompt, ready to forecast.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// The input as received (echoed back).
    pub input: SimulationInput,
    /// Start time, unix seconds.
    pub start_unix: i64,
    /// Points per path.
    pub n_points: usize,
    /// LOW or HIGH; `None` for any other horizon (the fallback answers).
    pub competition: Option<Competition>,
    /// The body's `timeout` when it is a finite non-negative number.
    pub body_timeout: Option<f64>,
}

impl Prompt {
    /// `low` / `high`, or `other` for any other horizon (logs and metrics).
    pub fn competition_label(&self) -> &'static str {
        self.competition.map_or("other", Competition::label)
    }
}

/// Parses and checks a request body.
pub fn parse_prompt(body: &[u8]) -> Result<Prompt, AnswerError> {
    let inv = |m: String| AnswerError::Invalid(m);
    let b: RequestBody = serde_json::from_slice(body)
        .map_err(|e| inv(format!("body is not a Simulation synapse: {e}")))?;
    let body_timeout = b
        .timeout
        .as_ref()
        .and_then(serde_json::Value::as_f64)
        .filter(|t| t.is_finite() && *t >= 0.0);
    let input = b
        .simulation_input
        .ok_or_else(|| inv("missing simulation_input".into()))?;
    let start_unix = input.start_unix().map_err(|e| inv(e.to_string()))?;
    // Bounds first: `time_length / time_increment + 1` and the `u32` fields of the forecast
    // request must not overflow (a panic under overflow checks).
    if input.time_increment > i64::from(u32::MAX) || input.time_length > i64::from(u32::MAX) {
        return Err(inv(format!(
            "time_increment {} / time_length {} too large (at most {})",
            input.time_increment,
            input.time_length,
            u32::MAX
        )));
    }
    let n_points = input.points().ok_or_else(|| {
        inv(format!(
            "time_increment {} / time_length {} must be positive",
            input.time_increment, input.time_length
        ))
    })?;
    let n = input.num_simulations;
    if n == 0 || n > MAX_SIMULATIONS || n.saturating_mul(n_points) > MAX_VALUES {
        return Err(inv(format!("{n} paths of {n_points} points is outside the served range (1..={MAX_SIMULATIONS} paths, {MAX_VALUES} values)")));
    }
    let competition = Competition::of(input.time_length, input.time_increment);
    Ok(Prompt {
        input,
        start_unix,
        n_points,
        competition,
        body_timeout,
    })
}

/// Resolution of the finer history a LOW request carries (`ForecastContext::fine`).
const FINE_SECS: u32 = 60;
/// Resolution of LOW's history (the market factor's inputs).
const LOW_SECS: u32 = 300;

/// A finished answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The JSON response body.
    pub body: Vec<u8>,
    /// Name of the model that answered.
    pub model: String,
    /// True when the champion failed (or there was none) and the fallback answered.
    pub fallback: bool,
}

/// Produces answers from the champion cache.
pub struct Answerer {
    models: ModelCache,
    history: Arc<dyn HistorySource>,
    fallback: Arc<dyn Forecaster>,
}

impl Answerer {
    /// An answerer over a model cache, with the reference GBM as fallback.
    pub fn new(models: ModelCache, history: Arc<dyn HistorySource>) -> Self {
        Self {
            models,
            history,
            fallback: Arc::new(ReferenceGbm),
        }
    }

    /// The model cache.
    pub fn models(&self) -> &ModelCache {
        &self.models
    }

    /// The history the champions condition on (its freshness is in `/metrics`).
    pub fn history(&self) -> &Arc<dyn HistorySource> {
        &self.history
    }

    /// Loads the champions of `assets` and the history they condition on, ahead of the
    /// first prompt.
    pub fn warm(&self, assets: &[&str]) {
        for a in assets {
            for c in Competition::ALL {
                if self.models.get(a, c).is_some() {
                    self.history.warm(a, c.time_increment() as u32);
                    if c == Competition::Low {
                        self.history.warm(a, FINE_SECS);
                        for m in sn50::Asset::ALL_NAMES {
                            self.history.warm(m, LOW_SECS);
                        }
                    }
                }
            }
        }
    }

    fn try_model(
        &self,
        model: &dyn Forecaster,
        p: &Prompt,
        start_price: f64,
        seed: u64,
        history: &Candles,
        context: ForecastContext<'_>,
    ) -> Result<Vec<u8>, String> {
        let req = ForecastRequest {
            asset: &p.input.asset,
            history,
            start_price,
            start_time: p.start_unix,
            time_increment: p.input.time_increment as u32,
            time_length: p.input.time_length as u32,
            num_simulations: p.input.num_simulations,
            seed,
            context,
        };
        let paths = model.forecast(&req).map_err(|e| e.to_string())?;
        if paths.n_paths() != p.input.num_simulations || paths.n_points() != p.n_points {
            return Err(format!(
                "{} x {} paths, expected {} x {}",
                paths.n_paths(),
                paths.n_points(),
                p.input.num_simulations,
                p.n_points
            ));
        }
        crate::wire::response_body(&p.input, &paths, p.start_unix, p.input.time_increment)
    }

    /// The market-wide volatility factor at `start` from every SN50 asset's 5-minute history
    /// (`models::baselines::market_vol_ratio`; `None` with fewer than three assets loaded).
    fn market_vol(&self, start: i64) -> Option<f64> {
        let h: Vec<Arc<Candles>> = sn50::Asset::ALL_NAMES
            .iter()
            .map(|a| self.history.history(a, LOW_SECS, start))
            .collect();
        models::baselines::market_vol_ratio(h.iter().map(|c| c.as_ref()), start)
    }

    /// Answers a prompt (CPU-bound: call from a blocking thread). The champion answers when
    /// there is one and its output formats; otherwise the fallback does.
    pub fn answer(&self, p: &Prompt, start_price: f64, seed: u64) -> Result<Answer, AnswerError> {
        let champion = p
            .competition
            .and_then(|c| Some((c, self.models.get(&p.input.asset, c)?)));
        if let Some((competition, model)) = champion {
            let res = competition.time_increment() as u32;
            let history = self.history.history(&p.input.asset, res, p.start_unix);
            // LOW's optional context: the 1-minute candles cut at the same time, and the
            // market-wide volatility factor over every SN50 asset's 5-minute history.
            let low = competition == Competition::Low;
            let fine = low.then(|| {
                self.history
                    .history(&p.input.asset, FINE_SECS, p.start_unix)
            });
            let market_vol = if low {
                self.market_vol(p.start_unix)
            } else {
                None
            };
            let context = ForecastContext {
                fine: fine.as_deref(),
                market_vol,
            };
            match self.try_model(model.as_ref(), p, start_price, seed, &history, context) {
                Ok(body) => {
                    return Ok(Answer {
                        body,
                        model: model.name(),
                        fallback: false,
                    })
                }
                Err(e) => {
                    tracing::warn!(asset = %p.input.asset, model = %model.name(), error = %e, "champion answer failed; using the fallback")
                }
            }
        }
        let empty = Candles::empty(p.input.asset.as_str(), 60, Provenance::Real);
        let body = self
            .try_model(
                self.fallback.as_ref(),
                p,
                start_price,
                seed,
                &empty,
                ForecastContext::default(),
            )
            .map_err(AnswerError::Failed)?;
        Ok(Answer {
            body,
            model: self.fallback.name(),
            fallback: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::champion::{ChampionSource, NoChampions};
    use crate::history::NoHistory;
    use models::ModelError;
    use sn50::PathSet;
    use std::time::Duration;

    const BODY: &str = r#"{"name":"Simulation","timeout":12.0,"total_size":3106,"header_size":0,"dendrite":{"status_code":null},"axon":{"status_code":null},"computed_body_hash":"","simulation_input":{"asset":"BTC","start_time":"2026-05-14T14:06:00+00:00","time_increment":300,"time_length":86400,"num_simulations":1000},"simulation_output":null}"#;

    fn validate(body: &[u8], p: &Prompt) -> Result<(), sn50::ValidationError> {
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert!(v.get("simulation_input").is_some());
        let exp = sn50::Expected {
            start_unix: p.start_unix,
            time_increment: p.input.time_increment,
            time_length: p.input.time_length,
            num_simulations: p.input.num_simulations,
        };
        sn50::validate_response(v.get("simulation_output"), &exp, Some(0.1))
    }

    #[test]
    fn parses_the_captured_body() {
        let p = parse_prompt(BODY.as_bytes()).unwrap();
        assert_eq!(p.start_unix, 1_778_767_560);
        assert_eq!(p.n_points, 289);
        assert_eq!(p.competition, Some(Competition::Low));
        assert_eq!(p.input.num_simulations, 1000);
    }

    #[test]
    fn malformed_bodies_are_clear_errors() {
        let msg = |b: &str| parse_prompt(b.as_bytes()).unwrap_err().to_string();
        assert!(msg("not json").contains("not a Simulation synapse"));
        assert!(msg(r#"{"name":"Simulation"}"#).contains("missing simulation_input"));
        assert!(msg(r#"{"simulation_input":{"asset":"BTC","start_time":"soon","time_increment":300,"time_length":86400,"num_simulations":1}}"#).contains("invalid ISO-8601"));
        assert!(msg(r#"{"simulation_input":{"asset":"BTC","start_time":"2026-05-14T14:06:00+00:00","time_increment":0,"time_length":86400,"num_simulations":1}}"#).contains("must be positive"));
        assert!(msg(r#"{"simulation_input":{"asset":"BTC","start_time":"2026-05-14T14:06:00+00:00","time_increment":1,"time_length":86400,"num_simulations":1000}}"#).contains("outside the served range"));
    }

    #[test]
    fn huge_horizons_are_refused_without_overflow() {
        let body = |inc: i64, len: i64, n: usize| {
            format!(
                r#"{{"simulation_input":{{"asset":"BTC","start_time":"2026-05-14T14:06:00+00:00","time_increment":{inc},"time_length":{len},"num_simulations":{n}}}}}"#
            )
        };
        let msg = |b: String| parse_prompt(b.as_bytes()).unwrap_err().to_string();
        for (inc, len) in [
            (1, i64::MAX),
            (i64::MAX, i64::MAX),
            (i64::MAX, 1),
            (1, i64::from(u32::MAX) + 1),
        ] {
            assert!(msg(body(inc, len, 1)).contains("too large"), "{inc} {len}");
        }
        for (inc, len) in [(i64::MIN, 86_400), (300, i64::MIN), (-1, -1)] {
            assert!(
                msg(body(inc, len, 1)).contains("must be positive"),
                "{inc} {len}"
            );
        }
        // In range but too many values.
        assert!(msg(body(1, i64::from(u32::MAX), 1)).contains("outside the served range"));
        assert!(msg(body(300, 86_400, usize::MAX)).contains("outside the served range"));
    }

    #[test]
    fn fallback_answer_validates() {
        let a = Answerer::new(
            ModelCache::new(Arc::new(NoChampions), Duration::from_secs(60)),
            Arc::new(NoHistory),
        );
        let p = parse_prompt(BODY.as_bytes()).unwrap();
        let ans = a.answer(&p, 104_856.23, 1).unwrap();
        assert!(ans.fallback);
        assert_eq!(ans.model, "reference_gbm");
        assert_eq!(validate(&ans.body, &p), Ok(()));
        // Small prices (leading zero) and large ones validate too.
        for price in [0.5123456789, 2.1234567, 3_456_789.123] {
            let ans = a.answer(&p, price, 2).unwrap();
            assert_eq!(validate(&ans.body, &p), Ok(()), "price {price}");
        }
    }

    struct Broken;
    impl Forecaster for Broken {
        fn name(&self) -> String {
            "broken".into()
        }
        fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
            // Right shape, but a zero price: must not be sent.
            Ok(PathSet::from_flat(
                req.num_simulations,
                req.n_points(),
                vec![0.0; req.num_simulations * req.n_points()],
            )
            .unwrap())
        }
    }
    struct BrokenChampion;
    impl ChampionSource for BrokenChampion {
        fn champion(
            &self,
            _: &str,
            _: Competition,
        ) -> Result<Option<Arc<dyn Forecaster>>, ModelError> {
            Ok(Some(Arc::new(Broken)))
        }
    }

    #[test]
    fn a_broken_champion_falls_back() {
        let a = Answerer::new(
            ModelCache::new(Arc::new(BrokenChampion), Duration::from_secs(60)),
            Arc::new(NoHistory),
        );
        let p = parse_prompt(BODY.as_bytes()).unwrap();
        let ans = a.answer(&p, 100.0, 3).unwrap();
        assert!(ans.fallback);
        assert_eq!(validate(&ans.body, &p), Ok(()));
    }

    /// A series' resolution and newest candle time.
    type Seen = (u32, Option<i64>);
    /// Records the history's resolution, the fine series' [`Seen`] and whether a market
    /// factor came, per request.
    #[derive(Default)]
    struct Recorder(std::sync::Mutex<Vec<(u32, Option<Seen>, bool)>>);
    impl Forecaster for Recorder {
        fn name(&self) -> String {
            "recorder".into()
        }
        fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
            let fine = req
                .context
                .fine
                .map(|f| (f.resolution_secs, f.ts.last().copied()));
            let market = req.context.market_vol.is_some();
            self.0
                .lock()
                .unwrap()
                .push((req.history.resolution_secs, fine, market));
            ReferenceGbm.forecast(req)
        }
    }
    struct RecorderChampion(Arc<Recorder>);
    impl ChampionSource for RecorderChampion {
        fn champion(
            &self,
            _: &str,
            _: Competition,
        ) -> Result<Option<Arc<dyn Forecaster>>, ModelError> {
            Ok(Some(self.0.clone()))
        }
    }
    /// Five days of candles at every resolution asked, up to `before`, prices wiggling on a
    /// fixed pattern (a market factor of about 1).
    struct Grid;
    impl HistorySource for Grid {
        fn history(&self, asset: &str, res: u32, before: i64) -> Arc<Candles> {
            let mut c = Candles::empty(asset, res, Provenance::Real);
            let step = i64::from(res);
            let first = (before - 5 * 86_400).div_euclid(step) * step;
            let mut t = first;
            while t + step <= before {
                c.ts.push(t);
                let p = 100.0 + ((t / step) * 7919 % 13) as f64 * 0.01;
                for v in [&mut c.open, &mut c.high, &mut c.low, &mut c.close] {
                    v.push(p);
                }
                t += step;
            }
            Arc::new(c)
        }
    }

    #[test]
    fn a_low_champion_gets_the_one_minute_series_and_the_market_factor_and_high_none() {
        let rec = Arc::new(Recorder::default());
        let a = Answerer::new(
            ModelCache::new(
                Arc::new(RecorderChampion(rec.clone())),
                Duration::from_secs(60),
            ),
            Arc::new(Grid),
        );
        let low = parse_prompt(BODY.as_bytes()).unwrap();
        assert!(!a.answer(&low, 100.0, 1).unwrap().fallback);
        let high = parse_prompt(
            BODY.replace(
                r#""time_increment":300,"time_length":86400"#,
                r#""time_increment":60,"time_length":3600"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert!(!a.answer(&high, 100.0, 1).unwrap().fallback);
        let seen = rec.0.lock().unwrap().clone();
        // LOW: 5-minute history plus the 1-minute candles closed by the start time.
        let start = low.start_unix;
        let last_min = (start - 60).div_euclid(60) * 60;
        // And the market factor from every SN50 asset's 5-minute history.
        assert_eq!(seen[0], (300, Some((60, Some(last_min))), true));
        // HIGH: its history is the 1-minute series; no finer context, no market factor.
        assert_eq!(seen[1], (60, None, false));
    }
}
