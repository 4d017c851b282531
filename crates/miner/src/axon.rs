//! The HTTP axon: `POST /Simulation` with bittensor's middleware order (headers → blacklist
//! 403 → verify 401 → forward), plus `GET /metrics`. Every `/Simulation` response, answer or
//! refusal, carries bittensor's axon headers ([`crate::axon_headers`]).

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, ExtensionRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Semaphore;

use crate::answer::{parse_prompt, AnswerError, Answerer};
use crate::autosync::AutoSync;
use crate::axon_headers::{AxonIdentity, ResponseFacts};
use crate::headers::DendriteHeaders;
use crate::metagraph::{BlacklistPolicy, Metagraph};
use crate::metrics::{Metrics, UNKNOWN_VALIDATOR};
use crate::nonce::{NonceCheck, NonceStore};
use crate::prices::PriceFeed;

/// Largest request body accepted (a real one is about 1 KB).
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Settings of the axon.
#[derive(Debug, Clone)]
pub struct AxonConfig {
    /// This miner's hotkey (SS58): the third field of the signed message.
    pub hotkey: String,
    /// Who may call.
    pub policy: BlacklistPolicy,
    /// Answers computed at once (CPU-bound); more requests wait their turn.
    pub max_concurrent_answers: usize,
    /// Mixed into every answer's seed, so two miners don't send identical paths.
    pub seed_salt: u64,
    /// Validate each sent answer with the sn50 validator (off the response path).
    pub self_check: bool,
}

/// Shared state of the axon.
pub struct AxonState {
    config: AxonConfig,
    metagraph: RwLock<Arc<Metagraph>>,
    nonces: NonceStore,
    answerer: Arc<Answerer>,
    prices: PriceFeed,
    metrics: Arc<Metrics>,
    slots: Semaphore,
    identity: AxonIdentity,
    autosync: RwLock<Option<Arc<AutoSync>>>,
    extra_metrics: RwLock<Vec<Arc<MetricsSource>>>,
}

/// More Prometheus text appended to `GET /metrics` (e.g. a service running the axon).
pub type MetricsSource = dyn Fn() -> String + Send + Sync;

impl AxonState {
    /// New state.
    pub fn new(
        config: AxonConfig,
        metagraph: Metagraph,
        answerer: Answerer,
        prices: PriceFeed,
    ) -> Self {
        let slots = Semaphore::new(config.max_concurrent_answers.max(1));
        let identity = AxonIdentity::new(config.hotkey.clone());
        Self {
            config,
            metagraph: RwLock::new(Arc::new(metagraph)),
            nonces: NonceStore::new(),
            answerer: Arc::new(answerer),
            prices,
            metrics: Arc::new(Metrics::new()),
            slots,
            identity,
            autosync: RwLock::new(None),
            extra_metrics: RwLock::new(Vec::new()),
        }
    }

    /// Keeps the history fresh with `sync`: each request makes its cheap check
    /// ([`AutoSync::check`]) after it is answered, and `/metrics` shows its counters.
    pub fn set_autosync(&self, sync: Arc<AutoSync>) {
        *self.autosync.write().unwrap_or_else(|p| p.into_inner()) = Some(sync);
    }

    /// The history auto-sync, when set.
    pub fn autosync(&self) -> Option<Arc<AutoSync>> {
        self.autosync
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Appends `source`'s text to every `GET /metrics` answer.
    pub fn add_metrics(&self, source: Arc<MetricsSource>) {
        self.extra_metrics
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(source);
    }

    /// Replaces the metagraph (e.g. after a refresh).
    pub fn set_metagraph(&self, m: Metagraph) {
        *self.metagraph.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(m);
    }

    /// The metagraph the blacklist uses now.
    pub fn metagraph(&self) -> Arc<Metagraph> {
        self.metagraph
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The answerer (e.g. to warm its model cache).
    pub fn answerer(&self) -> &Arc<Answerer> {
        &self.answerer
    }
}

/// The axon's routes.
pub fn router(state: Arc<AxonState>) -> Router {
    Router::new()
        .route("/Simulation", post(simulation).get(simulation))
        .route("/metrics", get(metrics))
        .fallback(unknown_synapse)
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state)
}

/// The `bt_header_axon_status_message` of a refusal, carried from [`refuse`] to the headers.
#[derive(Debug, Clone)]
struct StatusMessage(String);

/// An error response as the Python axon sends it: `{"message": …}` with the status.
fn refuse(status: StatusCode, message: String) -> Response {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut resp = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    resp.extensions_mut().insert(StatusMessage(message));
    resp
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Whether the client accepts gzip.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| {
            let mut parts = e.split(';');
            let name = parts.next().unwrap_or("").trim();
            let q_zero = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case("gzip") && !q_zero
        })
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 3),
        flate2::Compression::fast(),
    );
    enc.write_all(body)?;
    enc.finish()
}

/// A well-spread seed from the request's facts (SplitMix64 steps, [`models::rng`]).
fn seed(salt: u64, asset: &str, start_unix: i64, nonce: u64) -> u64 {
    use models::rng::splitmix64 as mix;
    let mut h = mix(salt ^ start_unix as u64);
    for b in asset.bytes() {
        h = mix(h ^ u64::from(b));
    }
    mix(h ^ nonce)
}

async fn metrics(State(st): State<Arc<AxonState>>) -> Response {
    let ct = HeaderValue::from_static("text/plain; version=0.0.4");
    let history = st.answerer.history();
    let mut text = st.metrics.render();
    text.push_str(&crate::metrics::render_history(
        &history.ages(),
        history.max_age(),
    ));
    if let Some(sync) = st.autosync() {
        text.push_str(&sync.render_metrics());
    }
    let extra = st
        .extra_metrics
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    for source in extra {
        text.push_str(&source());
    }
    ([(header::CONTENT_TYPE, ct)], text).into_response()
}

/// The body of a successful answer, for its headers: the length sent and the body's `timeout`.
#[derive(Debug, Clone, Copy)]
struct AnswerFacts {
    body_timeout: Option<f64>,
}

async fn simulation(
    State(st): State<Arc<AxonState>>,
    peer: Result<ConnectInfo<SocketAddr>, ExtensionRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let t0 = Instant::now();
    let axon_nonce = now_ns();
    let parsed = DendriteHeaders::parse(&headers);
    let (validator, resp) = match body {
        Ok(body) => handle(&st, parsed.as_ref(), &headers, body, t0).await,
        Err(e) => (UNKNOWN_VALIDATOR.into(), refuse(e.status(), e.body_text())),
    };
    let peer = peer.ok().map(|ConnectInfo(a)| a);
    let resp = with_axon_headers(&st, resp, t0, axon_nonce, parsed.as_ref().ok(), peer);
    st.metrics
        .request(&validator, resp.status().as_u16(), t0.elapsed());
    // The history's age, checked on each request (cheap; a sync runs in the background).
    if let Some(sync) = st.autosync() {
        sync.check();
    }
    resp
}

/// Any other path: bittensor's 404 for a synapse this axon does not serve, with its headers.
async fn unknown_synapse(
    State(st): State<Arc<AxonState>>,
    peer: Result<ConnectInfo<SocketAddr>, ExtensionRejection>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let t0 = Instant::now();
    let axon_nonce = now_ns();
    let name = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    let message = format!(
        "Synapse name '{name}' not found. Available synapses ['{}']",
        crate::axon_headers::SYNAPSE_NAME
    );
    let parsed = DendriteHeaders::parse(&headers);
    let peer = peer.ok().map(|ConnectInfo(a)| a);
    let resp = refuse(StatusCode::NOT_FOUND, message);
    with_axon_headers(&st, resp, t0, axon_nonce, parsed.as_ref().ok(), peer)
}

/// Sets bittensor's axon headers on `resp` ([`crate::axon_headers`]).
fn with_axon_headers(
    st: &AxonState,
    mut resp: Response,
    t0: Instant,
    axon_nonce: u128,
    request: Option<&DendriteHeaders>,
    peer: Option<SocketAddr>,
) -> Response {
    let status = resp.status();
    let message = match resp.extensions_mut().remove::<StatusMessage>() {
        Some(StatusMessage(m)) => m,
        None if status == StatusCode::OK => "Success".into(),
        None => status.canonical_reason().unwrap_or("Error").into(),
    };
    let body_timeout = resp
        .extensions_mut()
        .remove::<AnswerFacts>()
        .and_then(|a| a.body_timeout);
    let body_len = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or_else(|| {
            use axum::body::HttpBody;
            resp.body().size_hint().exact().unwrap_or(0) as usize
        });
    let facts = ResponseFacts {
        status,
        message: &message,
        process_time: t0.elapsed(),
        axon_nonce,
        request,
        peer,
        body_timeout,
        body_len,
    };
    crate::axon_headers::apply(resp.headers_mut(), &st.identity, &facts);
    resp
}

/// The middleware chain; returns the validator label for metrics and the response.
async fn handle(
    st: &Arc<AxonState>,
    parsed: Result<&DendriteHeaders, &crate::headers::HeaderError>,
    headers: &HeaderMap,
    body: Bytes,
    t0: Instant,
) -> (String, Response) {
    // 1. Headers (400 when one does not parse).
    let d = match parsed {
        Ok(d) => d,
        Err(e) => {
            return (
                UNKNOWN_VALIDATOR.into(),
                refuse(StatusCode::BAD_REQUEST, e.to_string()),
            )
        }
    };
    // 2. Blacklist (403).
    let metagraph = st
        .metagraph
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let priority = match st.config.policy.check(&metagraph, d.hotkey.as_deref()) {
        Ok(p) => p,
        Err(reason) => {
            let who = if metagraph.get(d.hotkey.as_deref().unwrap_or("")).is_some() {
                d.hotkey.clone().unwrap_or_default()
            } else {
                UNKNOWN_VALIDATOR.into()
            };
            tracing::info!(hotkey = ?d.hotkey, reason, "blacklisted");
            return (
                who,
                refuse(
                    StatusCode::FORBIDDEN,
                    format!("Forbidden. Key is blacklisted: {reason}."),
                ),
            );
        }
    };
    let validator = d.hotkey.clone().unwrap_or_else(|| UNKNOWN_VALIDATOR.into());
    // 3. Verify (401): nonce, signature, then record the nonce.
    if let Err(e) = verify(st, d) {
        tracing::info!(hotkey = %validator, error = %e, "not verified");
        return (
            validator,
            refuse(
                StatusCode::UNAUTHORIZED,
                format!("Not Verified with error: {e}"),
            ),
        );
    }
    tracing::debug!(hotkey = %validator, priority, "verified");
    // 4. Forward.
    let prompt = match parse_prompt(&body) {
        Ok(p) => p,
        Err(e) => return (validator, refuse(StatusCode::BAD_REQUEST, e.to_string())),
    };
    let price = match st.prices.price(&prompt.input.asset).await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(asset = %prompt.input.asset, error = %e, "no start price");
            return (
                validator,
                refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            );
        }
    };
    let budget =
        Duration::from_secs_f64(d.timeout_s.clamp(0.5, 600.0)).saturating_sub(t0.elapsed());
    let want_gzip = accepts_gzip(headers);
    let seed = seed(
        st.config.seed_salt,
        &prompt.input.asset,
        prompt.start_unix,
        d.nonce.unwrap_or(0),
    );
    let work = async {
        let _permit = st
            .slots
            .acquire()
            .await
            .map_err(|e| AnswerError::Failed(e.to_string()))?;
        let answerer = st.answerer.clone();
        let p = prompt.clone();
        tokio::task::spawn_blocking(move || {
            let ans = answerer.answer(&p, price, seed)?;
            let wire = if want_gzip {
                Some(gzip(&ans.body).map_err(|e| AnswerError::Failed(e.to_string()))?)
            } else {
                None
            };
            Ok::<_, AnswerError>((ans, wire))
        })
        .await
        .map_err(|e| AnswerError::Failed(format!("answer task failed: {e}")))?
    };
    let (ans, wire) = match tokio::time::timeout(budget, work).await {
        Err(_) => {
            return (
                validator,
                refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    "Timeout: no answer before the request's deadline".into(),
                ),
            )
        }
        Ok(Err(e)) => {
            tracing::error!(asset = %prompt.input.asset, error = %e, "answer failed");
            return (
                validator,
                refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            );
        }
        Ok(Ok(a)) => a,
    };
    st.metrics.answer(
        &prompt.input.asset,
        prompt.competition_label(),
        &ans.model,
        ans.fallback,
    );
    tracing::info!(hotkey = %validator, asset = %prompt.input.asset, timeframe = prompt.competition_label(), model = %ans.model, ms = t0.elapsed().as_millis() as u64, "answered");
    let body_timeout = prompt.body_timeout;
    let gzipped = wire.is_some();
    let payload = wire.unwrap_or_else(|| ans.body.clone());
    if st.config.self_check {
        let (metrics, v, p) = (st.metrics.clone(), validator.clone(), prompt);
        tokio::task::spawn_blocking(move || {
            let ok = self_check(&ans.body, &p);
            if let Err(e) = &ok {
                tracing::error!(asset = %p.input.asset, error = %e, "sent answer fails sn50 validation");
            }
            metrics.self_check(&v, ok.is_ok());
        });
    }
    let mut resp = Response::new(Body::from(payload));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if gzipped {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    resp.extensions_mut().insert(AnswerFacts { body_timeout });
    (validator, resp)
}

fn verify(st: &AxonState, d: &DendriteHeaders) -> Result<(), String> {
    let hotkey = d.hotkey.as_deref().ok_or("Missing dendrite hotkey")?;
    let endpoint_key = format!("{hotkey}:{}", d.uuid.as_deref().unwrap_or("None"));
    let check = NonceCheck {
        endpoint_key: &endpoint_key,
        nonce: d.nonce,
        version: d.version,
        timeout_s: d.timeout_s,
        now_ns: now_ns(),
    };
    st.nonces.check(&check).map_err(|e| e.to_string())?;
    // The Python axon skips verification without a signature; validators always sign.
    let sig = d.signature.as_deref().ok_or("Missing signature")?;
    let message = d.signed_message(&st.config.hotkey);
    crate::crypto::verify(hotkey, message.as_bytes(), sig)
        .map_err(|e| format!("Signature mismatch with {message} and {sig} ({e})"))?;
    st.nonces.commit(&check).map_err(|e| e.to_string())
}

/// Runs the sn50 validator on a response body for `p`.
pub fn self_check(body: &[u8], p: &crate::answer::Prompt) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("response is not JSON: {e}"))?;
    if v.get("simulation_input").is_none() {
        return Err("missing simulation_input".into());
    }
    let exp = sn50::Expected {
        start_unix: p.start_unix,
        time_increment: p.input.time_increment,
        time_length: p.input.time_length,
        num_simulations: p.input.num_simulations,
    };
    sn50::validate_response(v.get("simulation_output"), &exp, Some(0.0)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_negotiation() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("deflate, gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br"));
        assert!(!accepts_gzip(&h));
    }

    #[test]
    fn seeds_differ_by_prompt_and_salt() {
        let a = seed(1, "BTC", 100, 5);
        assert_eq!(a, seed(1, "BTC", 100, 5));
        assert_ne!(a, seed(2, "BTC", 100, 5));
        assert_ne!(a, seed(1, "ETH", 100, 5));
        assert_ne!(a, seed(1, "BTC", 160, 5));
        assert_ne!(a, seed(1, "BTC", 100, 6));
    }
}
